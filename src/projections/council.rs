//! The council's information flow: items between forums with their answer times, and the
//! council's reviews of each area's timeline. (The area × strategy activity matrix comes
//! from the strategy projection.)

use time::OffsetDateTime;
use uuid::Uuid;

use std::collections::BTreeMap;

use super::{Applied, Names, Projection, Table};
use crate::domain::catalogue::{DomainEvent, EventType, Family};
use crate::domain::item::{ItemEvent, NewItem};
use crate::domain::review::ReviewEvent;

const TABLES: &[Table] = &[
    Table {
        name: "flow_items",
        columns: "
            item_id          uuid        PRIMARY KEY,
            from_forum       text,
            to_forum         text,
            kind             text,
            title            text,
            area             text,
            strategy         text,
            case_id          uuid,
            raised_at        timestamptz,
            raised_by        text,
            text             jsonb,
            acknowledged_at  timestamptz,
            acknowledged_by  text,
            answered_at      timestamptz,
            answered_by      text,
            answer           jsonb,
            closed_at        timestamptz,
            closed_by        text",
        indexes: &[
            "(raised_at)",
            "(strategy) WHERE closed_at IS NULL",
            "(to_forum) WHERE closed_at IS NULL",
        ],
        indexes_serve_apply: false,
    },
    Table {
        name: "timeline_reviews",
        columns: "
            review_id     uuid        PRIMARY KEY,
            area          text        NOT NULL,
            period_start  date        NOT NULL,
            period_end    date        NOT NULL,
            reviewed_at   timestamptz NOT NULL,
            reviewer      text,
            feedback      jsonb       NOT NULL",
        indexes: &["(area, reviewed_at DESC)"],
        indexes_serve_apply: false,
    },
];

pub const PROJECTION: Projection = Projection {
    name: "council_flow",
    version: 3,
    tables: TABLES,
    reads: |event_type: &EventType| {
        event_type.family == Family::Item || event_type.name == "TimelineReviewed"
    },
    apply: |connection, names, events| Box::pin(apply(connection, names, events)),
    chunks_at_once: 1,
};

/// What a batch says of one item: who raised it and what it says (when it was raised in
/// the batch), and the first acknowledgement, answer and closing.
#[derive(Default)]
struct ItemDelta {
    raised: Option<(NewItem, serde_json::Value)>,
    raised_at: Option<OffsetDateTime>,
    raised_by: Option<String>,
    acknowledged: Option<(OffsetDateTime, Option<String>)>,
    answered: Option<(OffsetDateTime, Option<String>, serde_json::Value)>,
    closed: Option<(OffsetDateTime, Option<String>)>,
}

const UPSERT_ITEMS: &str = "
    INSERT INTO {flow_items} AS f (item_id, from_forum, to_forum, kind, title, area, strategy, case_id,
                                   raised_at, raised_by, text, acknowledged_at, acknowledged_by,
                                   answered_at, answered_by, answer, closed_at, closed_by)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::uuid[], $9::timestamptz[], $10::text[], $11::jsonb[],
                         $12::timestamptz[], $13::text[], $14::timestamptz[], $15::text[],
                         $16::jsonb[], $17::timestamptz[], $18::text[])
    ON CONFLICT (item_id) DO UPDATE SET
        acknowledged_at = coalesce(f.acknowledged_at, excluded.acknowledged_at),
        acknowledged_by = coalesce(f.acknowledged_by, excluded.acknowledged_by),
        answered_at = coalesce(f.answered_at, excluded.answered_at),
        answered_by = coalesce(f.answered_by, excluded.answered_by),
        answer = coalesce(f.answer, excluded.answer),
        closed_at = coalesce(f.closed_at, excluded.closed_at),
        closed_by = coalesce(f.closed_by, excluded.closed_by)";

const INSERT_REVIEWS: &str = "
    INSERT INTO {timeline_reviews} (review_id, area, period_start, period_end, reviewed_at, reviewer, feedback)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::date[], $4::date[], $5::timestamptz[],
                         $6::text[], $7::jsonb[])
    ON CONFLICT (review_id) DO NOTHING";

async fn apply(
    connection: &mut sqlx::PgConnection,
    names: &Names,
    events: &[Applied],
) -> sqlx::Result<()> {
    let mut items: BTreeMap<Uuid, ItemDelta> = BTreeMap::new();
    let mut reviews = Vec::new();
    for applied in events {
        let at = applied.recorded_at;
        let by = applied.meta.actor_name.clone();
        match &applied.event {
            DomainEvent::Item(event) => {
                let delta = items.entry(item_id(event)).or_default();
                match event {
                    ItemEvent::ItemRaised { item, .. } => {
                        delta.raised = Some((item.clone(), applied.text("text")));
                        delta.raised_at = Some(at);
                        delta.raised_by = by;
                    }
                    ItemEvent::ItemAcknowledged { .. } => {
                        delta.acknowledged.get_or_insert((at, by));
                    }
                    ItemEvent::ItemAnswered { .. } => {
                        delta
                            .answered
                            .get_or_insert((at, by, applied.text("answer")));
                    }
                    ItemEvent::ItemClosed { .. } => {
                        delta.closed.get_or_insert((at, by));
                    }
                }
            }
            DomainEvent::Review(ReviewEvent::TimelineReviewed {
                review_id,
                area,
                period,
                ..
            }) => reviews.push((
                *review_id,
                area.to_string(),
                period.start,
                period.end,
                at,
                by,
                applied.text("feedback"),
            )),
            _ => {}
        }
    }
    if !items.is_empty() {
        let ids: Vec<Uuid> = items.keys().copied().collect();
        let items: Vec<ItemDelta> = items.into_values().collect();
        let raised = |get: fn(&NewItem) -> Option<String>| {
            items
                .iter()
                .map(|d| d.raised.as_ref().and_then(|(item, _)| get(item)))
                .collect::<Vec<_>>()
        };
        let json = |value: Option<&serde_json::Value>| value.cloned().map(sqlx::types::Json);
        sqlx::query(sqlx::AssertSqlSafe(names.resolve(UPSERT_ITEMS, TABLES)))
            .bind(&ids)
            .bind(raised(|item| Some(item.from.to_string())))
            .bind(raised(|item| Some(item.to.to_string())))
            .bind(raised(|item| {
                serde_json::to_value(item.kind)
                    .ok()
                    .and_then(|kind| kind.as_str().map(str::to_owned))
            }))
            .bind(raised(|item| Some(item.title.as_str().to_owned())))
            .bind(raised(|item| item.area.as_ref().map(|a| a.to_string())))
            .bind(raised(|item| item.strategy.as_ref().map(|s| s.to_string())))
            .bind(
                items
                    .iter()
                    .map(|d| d.raised.as_ref().and_then(|(item, _)| item.case_id))
                    .collect::<Vec<_>>(),
            )
            .bind(items.iter().map(|d| d.raised_at).collect::<Vec<_>>())
            .bind(
                items
                    .iter()
                    .map(|d| d.raised_by.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|d| json(d.raised.as_ref().map(|(_, text)| text)))
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|d| d.acknowledged.as_ref().map(|a| a.0))
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|d| d.acknowledged.as_ref().and_then(|a| a.1.clone()))
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|d| d.answered.as_ref().map(|a| a.0))
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|d| d.answered.as_ref().and_then(|a| a.1.clone()))
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|d| json(d.answered.as_ref().map(|a| &a.2)))
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|d| d.closed.as_ref().map(|c| c.0))
                    .collect::<Vec<_>>(),
            )
            .bind(
                items
                    .iter()
                    .map(|d| d.closed.as_ref().and_then(|c| c.1.clone()))
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *connection)
            .await?;
    }
    if !reviews.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(names.resolve(INSERT_REVIEWS, TABLES)))
            .bind(reviews.iter().map(|r| r.0).collect::<Vec<_>>())
            .bind(reviews.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
            .bind(reviews.iter().map(|r| r.2).collect::<Vec<_>>())
            .bind(reviews.iter().map(|r| r.3).collect::<Vec<_>>())
            .bind(reviews.iter().map(|r| r.4).collect::<Vec<_>>())
            .bind(reviews.iter().map(|r| r.5.clone()).collect::<Vec<_>>())
            .bind(
                reviews
                    .iter()
                    .map(|r| sqlx::types::Json(r.6.clone()))
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

fn item_id(event: &ItemEvent) -> Uuid {
    match event {
        ItemEvent::ItemRaised { item_id, .. }
        | ItemEvent::ItemAcknowledged { item_id }
        | ItemEvent::ItemAnswered { item_id, .. }
        | ItemEvent::ItemClosed { item_id } => *item_id,
    }
}
