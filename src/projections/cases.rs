//! Cases per area, with status and age.

use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Projection, Table};

pub const PROJECTION: Projection = Projection {
    name: "cases",
    version: 2,
    tables: &[Table {
        name: "cases",
        columns: "
            case_id          uuid        PRIMARY KEY,
            area             text,
            title            text,
            strategies       text[],
            status           text,
            assignee         jsonb,
            open_escalation  uuid,
            notes            integer     NOT NULL DEFAULT 0,
            opened_at        timestamptz,
            closed_at        timestamptz,
            updated_at       timestamptz NOT NULL",
        // A strategy's open cases are a few of its cases: the index holds only open ones.
        indexes: &[
            "(area, opened_at DESC)",
            "USING gin (strategies) WHERE status <> 'avslutad'",
        ],
        indexes_serve_apply: false,
    }],
    // A batch folds each case's events in log order: the last status-changing event
    // decides the status, the last assignment the assignee, the last escalation event
    // whether an escalation is open.
    apply: &["
        WITH batch AS (
            SELECT e.position, e.event_type, e.data, e.recorded_at, (e.data->>'case_id')::uuid AS case_id
            FROM events e WHERE {range} AND e.event_type LIKE 'Case%' AND e.data ? 'case_id'
        ), folded AS (
            SELECT case_id,
                max(data->>'area') FILTER (WHERE event_type = 'CaseOpened') AS area,
                max(data->>'title') FILTER (WHERE event_type = 'CaseOpened') AS title,
                (array_agg(data->'strategies') FILTER (WHERE event_type = 'CaseOpened'))[1] AS strategies,
                min(recorded_at) FILTER (WHERE event_type = 'CaseOpened') AS opened_at,
                (array_agg(CASE event_type WHEN 'CaseOpened' THEN 'ny'
                                           WHEN 'CaseStatusChanged' THEN data->>'status'
                                           WHEN 'CaseClosed' THEN 'avslutad'
                                           WHEN 'CaseReopened' THEN 'pagaende' END
                           ORDER BY position DESC)
                    FILTER (WHERE event_type IN ('CaseOpened', 'CaseStatusChanged', 'CaseClosed', 'CaseReopened')))[1] AS status,
                (array_agg(recorded_at ORDER BY position DESC) FILTER (WHERE event_type = 'CaseClosed'))[1] AS closed_at,
                (array_agg(data->'assignee' ORDER BY position DESC) FILTER (WHERE event_type = 'CaseAssigned'))[1] AS assignee,
                bool_or(event_type IN ('CaseEscalated', 'CaseEscalationAnswered', 'CaseEscalationClosed')) AS escalation_changed,
                (array_agg(CASE WHEN event_type = 'CaseEscalated' THEN data->>'item_id' END ORDER BY position DESC)
                    FILTER (WHERE event_type IN ('CaseEscalated', 'CaseEscalationAnswered', 'CaseEscalationClosed')))[1] AS open_escalation,
                count(*) FILTER (WHERE event_type = 'CaseNoteAdded') AS notes,
                max(recorded_at) AS updated_at
            FROM batch GROUP BY case_id
        )
        INSERT INTO {cases} AS c (case_id, area, title, strategies, status, assignee, open_escalation,
                                  notes, opened_at, closed_at, updated_at)
        SELECT case_id, area, title,
               CASE WHEN strategies IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(strategies)) END,
               status, assignee, open_escalation::uuid, notes, opened_at,
               CASE WHEN status = 'avslutad' THEN closed_at END, updated_at
        FROM folded
        ON CONFLICT (case_id) DO UPDATE SET
            status = coalesce(excluded.status, c.status),
            assignee = coalesce(excluded.assignee, c.assignee),
            open_escalation = CASE WHEN (SELECT escalation_changed FROM folded f WHERE f.case_id = excluded.case_id)
                                   THEN excluded.open_escalation ELSE c.open_escalation END,
            notes = c.notes + excluded.notes,
            closed_at = CASE WHEN coalesce(excluded.status, c.status) = 'avslutad'
                             THEN coalesce(excluded.closed_at, c.closed_at) END,
            updated_at = excluded.updated_at"],
};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CaseRow {
    pub case_id: Uuid,
    pub area: Option<String>,
    pub title: Option<String>,
    pub strategies: Option<Vec<String>>,
    pub status: Option<String>,
    pub assignee: Option<Value>,
    pub open_escalation: Option<Uuid>,
    pub notes: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub opened_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl CaseRow {
    /// Days since the case was opened (to its closing, when closed).
    pub fn age_days(&self, now: OffsetDateTime) -> i64 {
        let end = self.closed_at.unwrap_or(now);
        self.opened_at
            .map_or(0, |opened| (end - opened).whole_days())
    }

    pub fn is_open(&self) -> bool {
        self.status.as_deref() != Some("avslutad")
    }
}

const COLUMNS: &str = "case_id, area, title, strategies, status, assignee, open_escalation, notes, opened_at, closed_at, updated_at";

/// An area's cases, open ones first, newest first; `status` filters by one status.
pub async fn for_area(
    pool: &PgPool,
    area: &str,
    status: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<CaseRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cases WHERE area = $1 AND ($2::text IS NULL OR status = $2)
         ORDER BY (status = 'avslutad'), opened_at DESC LIMIT $3"
    )))
    .bind(area)
    .bind(status)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &PgPool, case_id: Uuid) -> sqlx::Result<Option<CaseRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cases WHERE case_id = $1"
    )))
    .bind(case_id)
    .fetch_optional(pool)
    .await
}

/// Open cases about a strategy.
pub async fn open_for_strategy(pool: &PgPool, strategy: &str) -> sqlx::Result<Vec<CaseRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cases WHERE strategies @> ARRAY[$1]::text[] AND status <> 'avslutad'
         ORDER BY opened_at LIMIT 200"
    )))
    .bind(strategy)
    .fetch_all(pool)
    .await
}
