//! The council's information flow: items between forums with their answer times, and the
//! council's reviews of each area's timeline. (The area × strategy activity matrix comes
//! from the strategy projection.)

use serde::Serialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Projection, Table};

pub const PROJECTION: Projection = Projection {
    name: "council_flow",
    version: 2,
    tables: &[
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
                acknowledged_at  timestamptz,
                answered_at      timestamptz,
                closed_at        timestamptz",
            indexes: &["(raised_at)", "(strategy) WHERE closed_at IS NULL", "(to_forum) WHERE closed_at IS NULL"],
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
    ],
    apply: &[
        "
        WITH batch AS (
            SELECT e.event_type, e.data, e.recorded_at, (e.data->>'item_id')::uuid AS item_id
            FROM events e WHERE {range} AND e.event_type LIKE 'Item%' AND e.data ? 'item_id'
        ), folded AS (
            SELECT item_id,
                (array_agg(data) FILTER (WHERE event_type = 'ItemRaised'))[1] AS raised,
                min(recorded_at) FILTER (WHERE event_type = 'ItemRaised') AS raised_at,
                min(recorded_at) FILTER (WHERE event_type = 'ItemAcknowledged') AS acknowledged_at,
                min(recorded_at) FILTER (WHERE event_type = 'ItemAnswered') AS answered_at,
                min(recorded_at) FILTER (WHERE event_type = 'ItemClosed') AS closed_at
            FROM batch GROUP BY item_id
        )
        INSERT INTO {flow_items} AS f (item_id, from_forum, to_forum, kind, title, area, strategy, case_id,
                                       raised_at, acknowledged_at, answered_at, closed_at)
        SELECT item_id, raised->>'from', raised->>'to', raised->>'kind', raised->>'title', raised->>'area',
               raised->>'strategy', (raised->>'case_id')::uuid, raised_at, acknowledged_at, answered_at, closed_at
        FROM folded
        ON CONFLICT (item_id) DO UPDATE SET
            acknowledged_at = coalesce(f.acknowledged_at, excluded.acknowledged_at),
            answered_at = coalesce(f.answered_at, excluded.answered_at),
            closed_at = coalesce(f.closed_at, excluded.closed_at)",
        "
        INSERT INTO {timeline_reviews} (review_id, area, period_start, period_end, reviewed_at, reviewer, feedback)
        SELECT (e.data->>'review_id')::uuid, e.data->>'area', (e.data->'period'->>'start')::date,
               (e.data->'period'->>'end')::date, e.recorded_at, e.metadata->>'actor_name', e.data->'feedback'
        FROM events e WHERE {range} AND e.event_type = 'TimelineReviewed'",
    ],
};

/// Items along one edge between forums in a period.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Edge {
    pub from_forum: String,
    pub to_forum: String,
    pub raised: i64,
    pub answered: i64,
    pub open: i64,
    /// Median time from raised to answered, in hours (answered items only).
    pub median_answer_hours: Option<f64>,
    pub longest_answer_hours: Option<f64>,
    /// The age in days of the oldest item still open along this edge.
    pub oldest_open_days: Option<f64>,
}

/// Per edge (from → to): items raised in the period, answered, still open, the median and
/// the longest time to answer.
pub async fn edges(pool: &PgPool, from: Date, to: Date) -> sqlx::Result<Vec<Edge>> {
    sqlx::query_as(
        "SELECT from_forum, to_forum,
                count(*) AS raised,
                count(answered_at) AS answered,
                count(*) FILTER (WHERE closed_at IS NULL AND answered_at IS NULL) AS open,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM answered_at - raised_at) / 3600)
                    FILTER (WHERE answered_at IS NOT NULL) AS median_answer_hours,
                max(extract(epoch FROM answered_at - raised_at) / 3600)::float8 AS longest_answer_hours,
                max(extract(epoch FROM now() - raised_at) / 86400)
                    FILTER (WHERE closed_at IS NULL AND answered_at IS NULL)::float8 AS oldest_open_days
         FROM flow_items
         WHERE raised_at >= $1 AND raised_at < $2 + 1
         GROUP BY from_forum, to_forum
         ORDER BY from_forum, to_forum",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OpenItem {
    pub item_id: Uuid,
    pub from_forum: Option<String>,
    pub to_forum: Option<String>,
    pub kind: Option<String>,
    pub title: Option<String>,
    pub area: Option<String>,
    pub strategy: Option<String>,
    pub case_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub raised_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    pub age_days: f64,
}

const OPEN_ITEM: &str =
    "SELECT item_id, from_forum, to_forum, kind, title, area, strategy, case_id, raised_at,
        acknowledged_at, (extract(epoch FROM now() - raised_at) / 86400)::float8 AS age_days
     FROM flow_items WHERE closed_at IS NULL AND answered_at IS NULL";

/// Items waiting for an answer, oldest first.
pub async fn open_items(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<OpenItem>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OPEN_ITEM} ORDER BY raised_at LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Items waiting for an answer from one forum, oldest first.
pub async fn open_items_to(pool: &PgPool, forum: &str) -> sqlx::Result<Vec<OpenItem>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OPEN_ITEM} AND to_forum = $1 ORDER BY raised_at LIMIT 200"
    )))
    .bind(forum)
    .fetch_all(pool)
    .await
}

/// Items about a strategy waiting for an answer.
pub async fn open_items_for_strategy(pool: &PgPool, strategy: &str) -> sqlx::Result<Vec<OpenItem>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{OPEN_ITEM} AND strategy = $1 ORDER BY raised_at LIMIT 200"
    )))
    .bind(strategy)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LastReview {
    pub area: String,
    #[serde(with = "time::serde::rfc3339")]
    pub reviewed_at: OffsetDateTime,
    pub period_start: Date,
    pub period_end: Date,
    pub reviewer: Option<String>,
    /// Sealed in the table; opened (or the erasure marker) when read.
    pub feedback: serde_json::Value,
}

/// The latest review of each area's timeline.
pub async fn last_reviews(pool: &PgPool) -> sqlx::Result<Vec<LastReview>> {
    sqlx::query_as(
        "SELECT DISTINCT ON (area) area, reviewed_at, period_start, period_end, reviewer, feedback
         FROM timeline_reviews ORDER BY area, reviewed_at DESC",
    )
    .fetch_all(pool)
    .await
}
