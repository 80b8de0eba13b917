//! The strategy overview: activities per strategy, area and month (from each activity's
//! latest state, so corrections move and retractions remove them), status reports,
//! process owners and decisions; "tysta strategier" are strategies without activity for
//! a number of days.

use time::OffsetDateTime;
use uuid::Uuid;

use std::collections::BTreeMap;

use super::{Applied, Names, Projection, Table};
use crate::domain::activity::{ActivityDetails, ActivityEvent};
use crate::domain::catalogue::{DomainEvent, EventType, Family};
use crate::domain::process::ProcessEvent;
use crate::domain::strategy::StrategyEvent;

const TABLES: &[Table] = &[
    Table {
        name: "activity_state",
        columns: "
                activity_id    uuid    PRIMARY KEY,
                area           text,
                activity_date  date,
                strategies     text[],
                participants   integer,
                retracted      boolean NOT NULL DEFAULT false",
        indexes: &["(area, activity_date)"],
        indexes_serve_apply: true,
    },
    Table {
        name: "strategy_activity_month",
        columns: "
                strategy      text    NOT NULL,
                area          text    NOT NULL,
                month         date    NOT NULL,
                activities    integer NOT NULL,
                participants  bigint  NOT NULL,
                last_date     date    NOT NULL,
                PRIMARY KEY (strategy, area, month)",
        // By month for the matrix; a strategy's last activity is one step into the second.
        indexes: &["(month)", "(strategy, last_date)"],
        indexes_serve_apply: false,
    },
    Table {
        name: "strategy_reports",
        columns: "
                report_id     uuid        PRIMARY KEY,
                strategy      text        NOT NULL,
                process       text        NOT NULL,
                period_start  date        NOT NULL,
                period_end    date        NOT NULL,
                status        text        NOT NULL,
                comment       jsonb       NOT NULL,
                reported_at   timestamptz NOT NULL,
                reporter      text",
        indexes: &["(strategy, reported_at DESC)"],
        indexes_serve_apply: false,
    },
    Table {
        name: "process_owners",
        columns: "
                process        text        PRIMARY KEY,
                owner_name     text        NOT NULL,
                owner_user_id  uuid,
                assigned_at    timestamptz NOT NULL",
        indexes: &[],
        indexes_serve_apply: false,
    },
    Table {
        name: "decisions",
        columns: "
                decision_id  uuid        PRIMARY KEY,
                process      text        NOT NULL,
                strategy     text,
                title        text        NOT NULL,
                decided_on   date        NOT NULL,
                recorded_at  timestamptz NOT NULL,
                recorder     text",
        indexes: &["(process, decided_on DESC)"],
        indexes_serve_apply: false,
    },
];

pub const PROJECTION: Projection = Projection {
    name: "strategy_overview",
    version: 5,
    tables: TABLES,
    reads: |event_type: &EventType| {
        event_type.family == Family::Activity
            || matches!(
                event_type.name,
                "StrategyStatusReported" | "ProcessOwnerAssigned" | "DecisionRecorded"
            )
    },
    apply: |connection, names, events| Box::pin(apply(connection, names, events)),
    chunks_at_once: 1,
};

/// Each activity's latest state (a retraction is final: nothing follows it), and the month
/// cells it counted in before and counts in after, recounted from the states as they are
/// after this batch. One statement: the recount reads the states before the batch, minus
/// the changed activities, plus their new states.
const ACTIVITIES: &str = "
        WITH given AS (
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::date[], $4::text[], $5::int4[], $6::bool[])
                AS g(activity_id, area, activity_date, strategies, participants, retracted)
        ), changes AS (
            -- A correction names no area: an activity's area is set when it is logged and
            -- never changes. A retraction names nothing else: it is final.
            SELECT g.activity_id, coalesce(g.area, s.area) AS area, g.activity_date,
                   string_to_array(g.strategies, E'\\x1f') AS strategies, g.participants, g.retracted
            FROM given g LEFT JOIN {activity_state} s USING (activity_id)
        ), touched AS (
            SELECT s.strategy, a.area, date_trunc('month', a.activity_date)::date AS month
            FROM {activity_state} a CROSS JOIN LATERAL unnest(a.strategies) AS s(strategy)
            WHERE a.activity_id IN (SELECT activity_id FROM changes) AND NOT a.retracted
            UNION
            SELECT s.strategy, c.area, date_trunc('month', c.activity_date)::date
            FROM changes c CROSS JOIN LATERAL unnest(c.strategies) AS s(strategy)
            WHERE NOT c.retracted
        ), touched_months AS (
            SELECT DISTINCT area, month FROM touched
        ), upserted AS (
            INSERT INTO {activity_state} AS a (activity_id, area, activity_date, strategies, participants, retracted)
            SELECT activity_id, area, activity_date, strategies, participants, retracted FROM changes
            ON CONFLICT (activity_id) DO UPDATE SET
                area = coalesce(excluded.area, a.area),
                activity_date = coalesce(excluded.activity_date, a.activity_date),
                strategies = coalesce(excluded.strategies, a.strategies),
                participants = coalesce(excluded.participants, a.participants),
                retracted = excluded.retracted
        ), effective AS (
            -- Month by month through the (area, activity_date) index. Joined plainly, the
            -- planner guessed 148 touched months (CTEs get default estimates) and read every
            -- activity state instead: 320 ms a batch at a million events, for one activity.
            -- OFFSET 0 keeps the subquery apart, so it is run per month.
            SELECT a.area, a.activity_date, a.strategies, a.participants
            FROM touched_months tm
            CROSS JOIN LATERAL (
                SELECT a.area, a.activity_date, a.strategies, a.participants
                FROM {activity_state} a
                WHERE a.area = tm.area AND a.activity_date >= tm.month
                  AND a.activity_date < (tm.month + interval '1 month')::date
                  AND NOT a.retracted AND a.activity_id NOT IN (SELECT activity_id FROM changes)
                OFFSET 0
            ) a
            UNION ALL
            SELECT area, activity_date, strategies, participants FROM changes WHERE NOT retracted
        ), recount AS (
            SELECT s.strategy, x.area, date_trunc('month', x.activity_date)::date AS month,
                   count(*) AS activities, sum(x.participants) AS participants, max(x.activity_date) AS last_date
            FROM effective x CROSS JOIN LATERAL unnest(x.strategies) AS s(strategy)
            GROUP BY 1, 2, 3
        ), counted AS (
            SELECT t.strategy, t.area, t.month, coalesce(r.activities, 0) AS activities,
                   coalesce(r.participants, 0) AS participants, r.last_date
            FROM touched t LEFT JOIN recount r USING (strategy, area, month)
        ), removed AS (
            DELETE FROM {strategy_activity_month} m USING counted c
            WHERE c.activities = 0 AND m.strategy = c.strategy AND m.area = c.area AND m.month = c.month
        )
        INSERT INTO {strategy_activity_month} AS m (strategy, area, month, activities, participants, last_date)
        SELECT strategy, area, month, activities, participants, last_date FROM counted WHERE activities > 0
        ON CONFLICT (strategy, area, month) DO UPDATE SET
            activities = excluded.activities, participants = excluded.participants, last_date = excluded.last_date";

const REPORTS: &str = "
    INSERT INTO {strategy_reports} (report_id, strategy, process, period_start, period_end, status, comment,
                                    reported_at, reporter)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[], $5::date[], $6::text[],
                         $7::jsonb[], $8::timestamptz[], $9::text[])
    ON CONFLICT (report_id) DO NOTHING";

const OWNERS: &str = "
    INSERT INTO {process_owners} AS o (process, owner_name, owner_user_id, assigned_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::timestamptz[])
    ON CONFLICT (process) DO UPDATE SET
        owner_name = excluded.owner_name, owner_user_id = excluded.owner_user_id,
        assigned_at = excluded.assigned_at";

const DECISIONS: &str = "
    INSERT INTO {decisions} (decision_id, process, strategy, title, decided_on, recorded_at, recorder)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::date[],
                         $6::timestamptz[], $7::text[])
    ON CONFLICT (decision_id) DO NOTHING";

/// What a batch says of one activity: its latest details and area, or that it is retracted.
#[derive(Default)]
struct ActivityChange {
    area: Option<String>,
    details: Option<ActivityDetails>,
    retracted: bool,
}

async fn apply(
    connection: &mut sqlx::PgConnection,
    names: &Names,
    events: &[Applied],
) -> sqlx::Result<()> {
    let mut activities: BTreeMap<Uuid, ActivityChange> = BTreeMap::new();
    let mut reports = Vec::new();
    let mut owners: BTreeMap<String, (String, Option<Uuid>, OffsetDateTime)> = BTreeMap::new();
    let mut decisions = Vec::new();
    for applied in events {
        let at = applied.recorded_at;
        match &applied.event {
            DomainEvent::Activity(event) => match event {
                ActivityEvent::ActivityLogged {
                    activity_id,
                    area,
                    details,
                } => {
                    let change = activities.entry(*activity_id).or_default();
                    change.area = Some(area.to_string());
                    change.details = Some(details.clone());
                }
                ActivityEvent::ActivityCorrected {
                    activity_id,
                    details,
                    ..
                } => activities.entry(*activity_id).or_default().details = Some(details.clone()),
                ActivityEvent::ActivityRetracted { activity_id, .. } => {
                    activities.entry(*activity_id).or_default().retracted = true
                }
            },
            DomainEvent::Strategy(StrategyEvent::StrategyStatusReported {
                report_id,
                strategy,
                process,
                period,
                status,
                ..
            }) => reports.push((
                *report_id,
                strategy.to_string(),
                process.to_string(),
                period.start,
                period.end,
                serde_json::to_value(status)
                    .ok()
                    .and_then(|status| status.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                applied.text("comment"),
                at,
                applied.meta.actor_name.clone(),
            )),
            DomainEvent::Process(ProcessEvent::ProcessOwnerAssigned {
                process,
                owner_name,
                owner_user_id,
            }) => {
                owners.insert(
                    process.to_string(),
                    (owner_name.as_str().to_owned(), *owner_user_id, at),
                );
            }
            DomainEvent::Process(ProcessEvent::DecisionRecorded {
                decision_id,
                process,
                strategy,
                title,
                decided_on,
                ..
            }) => decisions.push((
                *decision_id,
                process.to_string(),
                strategy.as_ref().map(|s| s.to_string()),
                title.as_str().to_owned(),
                *decided_on,
                at,
                applied.meta.actor_name.clone(),
            )),
            _ => {}
        }
    }
    if !activities.is_empty() {
        let ids: Vec<Uuid> = activities.keys().copied().collect();
        let changes: Vec<&ActivityChange> = activities.values().collect();
        let details = |get: fn(&ActivityDetails) -> String| {
            changes
                .iter()
                .map(|c| c.details.as_ref().map(get))
                .collect::<Vec<_>>()
        };
        sqlx::query(sqlx::AssertSqlSafe(names.resolve(ACTIVITIES, TABLES)))
            .bind(&ids)
            .bind(changes.iter().map(|c| c.area.clone()).collect::<Vec<_>>())
            .bind(
                changes
                    .iter()
                    .map(|c| c.details.as_ref().map(|d| d.date))
                    .collect::<Vec<_>>(),
            )
            .bind(details(|d| {
                super::joined(d.strategies.iter().map(|s| s.as_str()))
            }))
            .bind(
                changes
                    .iter()
                    .map(|c| c.details.as_ref().map(|d| d.participants as i32))
                    .collect::<Vec<_>>(),
            )
            .bind(changes.iter().map(|c| c.retracted).collect::<Vec<_>>())
            .execute(&mut *connection)
            .await?;
    }
    if !reports.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(names.resolve(REPORTS, TABLES)))
            .bind(reports.iter().map(|r| r.0).collect::<Vec<_>>())
            .bind(reports.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
            .bind(reports.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
            .bind(reports.iter().map(|r| r.3).collect::<Vec<_>>())
            .bind(reports.iter().map(|r| r.4).collect::<Vec<_>>())
            .bind(reports.iter().map(|r| r.5.clone()).collect::<Vec<_>>())
            .bind(
                reports
                    .iter()
                    .map(|r| sqlx::types::Json(r.6.clone()))
                    .collect::<Vec<_>>(),
            )
            .bind(reports.iter().map(|r| r.7).collect::<Vec<_>>())
            .bind(reports.iter().map(|r| r.8.clone()).collect::<Vec<_>>())
            .execute(&mut *connection)
            .await?;
    }
    if !owners.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(names.resolve(OWNERS, TABLES)))
            .bind(owners.keys().cloned().collect::<Vec<_>>())
            .bind(owners.values().map(|o| o.0.clone()).collect::<Vec<_>>())
            .bind(owners.values().map(|o| o.1).collect::<Vec<_>>())
            .bind(owners.values().map(|o| o.2).collect::<Vec<_>>())
            .execute(&mut *connection)
            .await?;
    }
    if !decisions.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(names.resolve(DECISIONS, TABLES)))
            .bind(decisions.iter().map(|d| d.0).collect::<Vec<_>>())
            .bind(decisions.iter().map(|d| d.1.clone()).collect::<Vec<_>>())
            .bind(decisions.iter().map(|d| d.2.clone()).collect::<Vec<_>>())
            .bind(decisions.iter().map(|d| d.3.clone()).collect::<Vec<_>>())
            .bind(decisions.iter().map(|d| d.4).collect::<Vec<_>>())
            .bind(decisions.iter().map(|d| d.5).collect::<Vec<_>>())
            .bind(decisions.iter().map(|d| d.6.clone()).collect::<Vec<_>>())
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}
