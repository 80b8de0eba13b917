//! The auditor's history of each strategy, as the replay folds it: one row per event of the
//! strategy's history (and per owner assignment of a process), in commit order, holding
//! what the fold reads of it (`domain::replay::Input`). Replaying a strategy as of a moment
//! then reads these narrow rows, side by side on disk, instead of picking the strategy's
//! events out of the whole log; a test holds the two replays equal.

use super::{Applied, Names, Projection, Table};
use crate::domain::catalogue::{DomainEvent, EventType, Family};
use crate::domain::plan::{NodeKind, PlanEvent};
use crate::domain::process::ProcessEvent;
use crate::domain::replay::Input;

const TABLES: &[Table] = &[Table {
    name: "strategy_history",
    columns: "
        strategy        text        NOT NULL,
        transaction_id  bigint      NOT NULL,
        position        bigint      NOT NULL,
        recorded_at     timestamptz NOT NULL,
        area            text,
        kind            text        NOT NULL,
        process         text,
        input           jsonb       NOT NULL,
        PRIMARY KEY (strategy, transaction_id, position)",
    indexes: &["(strategy) WHERE kind = 'defined'"],
    indexes_serve_apply: false,
}];

pub const PROJECTION: Projection = Projection {
    name: "strategy_history",
    version: 1,
    tables: TABLES,
    reads: |event_type: &EventType| {
        matches!(
            event_type.family,
            Family::Activity
                | Family::Case
                | Family::Item
                | Family::Process
                | Family::Strategy
                | Family::Plan
        )
    },
    apply: |connection, names, events| Box::pin(apply(connection, names, events)),
    chunks_at_once: 1,
};

/// The key under which a process's owner assignments are kept beside the strategies.
pub fn process_key(process: &str) -> String {
    format!("process:{process}")
}

const INSERT: &str = "
    INSERT INTO {strategy_history} (strategy, transaction_id, position, recorded_at, area, kind,
                                    process, input)
    SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::timestamptz[], $5::text[],
                         $6::text[], $7::text[], $8::jsonb[])
    ON CONFLICT DO NOTHING";

async fn apply(
    connection: &mut sqlx::PgConnection,
    names: &Names,
    events: &[Applied],
) -> sqlx::Result<()> {
    let mut rows = Rows::default();
    for applied in events {
        let area = applied.tagged("area:").next().map(str::to_owned);
        // The strategies whose history holds the event: those it is tagged with, or, for a
        // plan event, the strategy it defines, revises or retires.
        let mut keys: Vec<String> = applied.tagged("strategy:").map(str::to_owned).collect();
        match &applied.event {
            DomainEvent::Plan(PlanEvent::Defined { node } | PlanEvent::Revised { node, .. })
                if node.kind == NodeKind::Strategy && !keys.contains(&node.id) =>
            {
                keys.push(node.id.clone());
            }
            DomainEvent::Plan(PlanEvent::Retired {
                kind: NodeKind::Strategy,
                id,
            }) if !keys.contains(id) => keys.push(id.clone()),
            DomainEvent::Process(ProcessEvent::ProcessOwnerAssigned { process, .. }) => {
                keys = vec![process_key(process.as_str())];
            }
            _ => {}
        }
        for key in keys {
            // Every event of the history is counted by the fold, even one it reads nothing of.
            let input = Input::of(&key, &applied.event, &applied.texts);
            let process = match &input {
                Input::Defined { process, .. } => Some(process.clone()),
                _ => None,
            };
            rows.strategy.push(key);
            rows.transaction_id.push(applied.transaction_id);
            rows.position.push(applied.position);
            rows.recorded_at.push(applied.recorded_at);
            rows.area.push(area.clone());
            rows.kind.push(input.kind());
            rows.process.push(process);
            rows.input.push(sqlx::types::Json(
                serde_json::to_value(&input).expect("an input serializes"),
            ));
        }
    }
    if rows.strategy.is_empty() {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(names.resolve(INSERT, TABLES)))
        .bind(&rows.strategy)
        .bind(&rows.transaction_id)
        .bind(&rows.position)
        .bind(&rows.recorded_at)
        .bind(&rows.area)
        .bind(&rows.kind)
        .bind(&rows.process)
        .bind(&rows.input)
        .execute(connection)
        .await?;
    Ok(())
}

#[derive(Default)]
struct Rows {
    strategy: Vec<String>,
    transaction_id: Vec<i64>,
    position: Vec<i64>,
    recorded_at: Vec<time::OffsetDateTime>,
    area: Vec<Option<String>>,
    kind: Vec<&'static str>,
    process: Vec<Option<String>>,
    input: Vec<sqlx::types::Json<serde_json::Value>>,
}
