//! The strategy overview: activities per strategy, area and month (from each activity's
//! latest state, so corrections move and retractions remove them), status reports,
//! process owners and decisions; "tysta strategier" are strategies without activity for
//! a number of days.

use serde::Serialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Projection, Table};

pub const PROJECTION: Projection = Projection {
    name: "strategy_overview",
    version: 4,
    tables: &[
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
    ],
    apply: &[
        // Each activity's latest state (a retraction is final: nothing follows it), and
        // the month cells it counted in before and counts in after, recounted from the
        // states as they are after this batch. One statement: the recount reads the states
        // before the batch, minus the changed activities, plus their new states.
        "
        WITH batch AS (
            SELECT e.position, e.event_type, e.data, (e.data->>'activity_id')::uuid AS activity_id
            FROM events e
            WHERE {range} AND e.event_type IN ('ActivityLogged', 'ActivityCorrected', 'ActivityRetracted')
              AND e.data ? 'activity_id'
        ), latest AS (
            SELECT DISTINCT ON (activity_id) activity_id, data
            FROM batch WHERE event_type IN ('ActivityLogged', 'ActivityCorrected')
            ORDER BY activity_id, position DESC
        ), logged AS (
            -- An activity's area is set when it is logged and never changes.
            SELECT activity_id, data->>'area' AS area FROM batch WHERE event_type = 'ActivityLogged'
        ), retracted AS (
            SELECT DISTINCT activity_id FROM batch WHERE event_type = 'ActivityRetracted'
        ), changes AS (
            SELECT l.activity_id, coalesce(g.area, s.area) AS area, (l.data->>'date')::date AS activity_date,
                   ARRAY(SELECT jsonb_array_elements_text(l.data->'strategies')) AS strategies,
                   (l.data->>'participants')::integer AS participants, r.activity_id IS NOT NULL AS retracted
            FROM latest l
            LEFT JOIN logged g USING (activity_id)
            LEFT JOIN {activity_state} s USING (activity_id)
            LEFT JOIN retracted r USING (activity_id)
            UNION ALL
            SELECT r.activity_id, NULL, NULL, NULL, NULL, true
            FROM retracted r WHERE NOT EXISTS (SELECT 1 FROM latest l WHERE l.activity_id = r.activity_id)
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
            activities = excluded.activities, participants = excluded.participants, last_date = excluded.last_date",
        "
        INSERT INTO {strategy_reports} (report_id, strategy, process, period_start, period_end, status, comment, reported_at, reporter)
        SELECT (e.data->>'report_id')::uuid, e.data->>'strategy', e.data->>'process',
               (e.data->'period'->>'start')::date, (e.data->'period'->>'end')::date, e.data->>'status',
               e.data->'comment', e.recorded_at, e.metadata->>'actor_name'
        FROM events e WHERE {range} AND e.event_type = 'StrategyStatusReported'",
        "
        INSERT INTO {process_owners} AS o (process, owner_name, owner_user_id, assigned_at)
        SELECT DISTINCT ON (e.data->>'process') e.data->>'process', e.data->>'owner_name',
               (e.data->>'owner_user_id')::uuid, e.recorded_at
        FROM events e WHERE {range} AND e.event_type = 'ProcessOwnerAssigned'
        ORDER BY e.data->>'process', e.position DESC
        ON CONFLICT (process) DO UPDATE SET
            owner_name = excluded.owner_name, owner_user_id = excluded.owner_user_id, assigned_at = excluded.assigned_at",
        "
        INSERT INTO {decisions} (decision_id, process, strategy, title, decided_on, recorded_at, recorder)
        SELECT (e.data->>'decision_id')::uuid, e.data->>'process', e.data->>'strategy', e.data->>'title',
               (e.data->>'decided_on')::date, e.recorded_at, e.metadata->>'actor_name'
        FROM events e WHERE {range} AND e.event_type = 'DecisionRecorded'",
    ],
};

/// Activity per area for one strategy in a period (by month), with the last activity date.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AreaActivity {
    pub area: String,
    pub activities: i64,
    pub participants: i64,
    pub last_date: Option<Date>,
}

pub async fn activity_by_area(
    pool: &PgPool,
    strategy: &str,
    from: Date,
    to: Date,
) -> sqlx::Result<Vec<AreaActivity>> {
    sqlx::query_as(
        "SELECT area, sum(activities)::bigint AS activities, sum(participants)::bigint AS participants,
                max(last_date) AS last_date
         FROM strategy_activity_month
         WHERE strategy = $1 AND month >= date_trunc('month', $2::date) AND month <= $3
         GROUP BY area ORDER BY area",
    )
    .bind(strategy)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// One cell of the area × strategy matrix.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Cell {
    pub area: String,
    pub strategy: String,
    pub activities: i64,
    pub participants: i64,
}

/// Activities per area and strategy in the months the period touches.
pub async fn matrix(pool: &PgPool, from: Date, to: Date) -> sqlx::Result<Vec<Cell>> {
    sqlx::query_as(
        "SELECT area, strategy, sum(activities)::bigint AS activities, sum(participants)::bigint AS participants
         FROM strategy_activity_month
         WHERE month >= date_trunc('month', $1::date) AND month <= $2
         GROUP BY area, strategy",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// The last activity date of each of `strategies` that has had any activity.
pub async fn last_activity(
    pool: &PgPool,
    strategies: &[&str],
) -> sqlx::Result<Vec<(String, Date)>> {
    // One index probe per strategy; grouping the whole table instead read every cell
    // (7 ms at a million events, on every strategy page and council view).
    sqlx::query_as(
        "SELECT s.strategy, last.date
         FROM unnest($1::text[]) AS s(strategy)
         CROSS JOIN LATERAL (SELECT max(last_date) AS date FROM strategy_activity_month m
                             WHERE m.strategy = s.strategy) AS last
         WHERE last.date IS NOT NULL",
    )
    .bind(strategies)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub report_id: Uuid,
    pub strategy: String,
    pub period_start: Date,
    pub period_end: Date,
    pub status: String,
    /// The comment as the reader sees it (sealed text opened, or the erasure marker).
    pub comment: String,
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    pub reporter: Option<String>,
}

/// A report as stored: its comment sealed.
#[derive(sqlx::FromRow)]
struct ReportRow {
    report_id: Uuid,
    strategy: String,
    period_start: Date,
    period_end: Date,
    status: String,
    comment: serde_json::Value,
    reported_at: OffsetDateTime,
    reporter: Option<String>,
}

/// Reports with their comments opened. (A sealed field opens under its field's name, so
/// each comment is opened as the field `comment` of an object of its own.)
async fn opened(
    privacy: &crate::privacy::Privacy,
    rows: Vec<ReportRow>,
) -> sqlx::Result<Vec<Report>> {
    let mut holders: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| serde_json::json!({ "comment": row.comment }))
        .collect();
    privacy.open_all(holders.iter_mut()).await?;
    Ok(rows
        .into_iter()
        .zip(holders)
        .map(|(row, holder)| Report {
            report_id: row.report_id,
            strategy: row.strategy,
            period_start: row.period_start,
            period_end: row.period_end,
            status: row.status,
            comment: holder["comment"].as_str().unwrap_or_default().to_owned(),
            reported_at: row.reported_at,
            reporter: row.reporter,
        })
        .collect())
}

/// A strategy's status reports, latest first.
pub async fn reports(
    pool: &PgPool,
    privacy: &crate::privacy::Privacy,
    strategy: &str,
    limit: i64,
) -> sqlx::Result<Vec<Report>> {
    let rows = sqlx::query_as(
        "SELECT report_id, strategy, period_start, period_end, status, comment, reported_at, reporter
         FROM strategy_reports WHERE strategy = $1 ORDER BY reported_at DESC LIMIT $2",
    )
    .bind(strategy)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    opened(privacy, rows).await
}

/// The latest report of every strategy that has one.
pub async fn latest_reports(
    pool: &PgPool,
    privacy: &crate::privacy::Privacy,
) -> sqlx::Result<Vec<Report>> {
    let rows = sqlx::query_as(
        "SELECT DISTINCT ON (strategy) report_id, strategy, period_start, period_end, status, comment, reported_at, reporter
         FROM strategy_reports ORDER BY strategy, reported_at DESC",
    )
    .fetch_all(pool)
    .await?;
    opened(privacy, rows).await
}

pub async fn process_owner(pool: &PgPool, process: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT owner_name FROM process_owners WHERE process = $1")
        .bind(process)
        .fetch_optional(pool)
        .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Decision {
    pub decision_id: Uuid,
    pub process: String,
    pub strategy: Option<String>,
    pub title: String,
    pub decided_on: Date,
}

pub async fn decisions(pool: &PgPool, process: &str, limit: i64) -> sqlx::Result<Vec<Decision>> {
    sqlx::query_as(
        "SELECT decision_id, process, strategy, title, decided_on FROM decisions
         WHERE process = $1 ORDER BY decided_on DESC LIMIT $2",
    )
    .bind(process)
    .bind(limit)
    .fetch_all(pool)
    .await
}
