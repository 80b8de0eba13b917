//! Cases per area, with status and age; from the cases' read model (`projections::cases`).

use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

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

/// A case as the API and the pages list it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub id: Uuid,
    pub title: Option<String>,
    pub status: Option<String>,
    pub status_label: String,
    pub strategies: Vec<String>,
    #[schema(value_type = Object)]
    pub assignee: Option<Value>,
    pub open_escalation: Option<Uuid>,
    pub notes: i32,
    pub opened_at: Option<String>,
    pub closed_at: Option<String>,
    pub age_days: i64,
}

impl CaseSummary {
    pub fn from_row(row: CaseRow, now: OffsetDateTime) -> Self {
        Self {
            id: row.case_id,
            age_days: row.age_days(now),
            status_label: super::timeline::status_label(row.status.as_deref().unwrap_or(""))
                .to_owned(),
            title: row.title,
            status: row.status,
            strategies: row.strategies.unwrap_or_default(),
            assignee: row.assignee,
            open_escalation: row.open_escalation,
            notes: row.notes,
            opened_at: row.opened_at.map(crate::event_log::chain::format_timestamp),
            closed_at: row.closed_at.map(crate::event_log::chain::format_timestamp),
        }
    }
}

/// The statuses a case list can be filtered by.
pub const STATUSES: [&str; 4] = ["ny", "pagaende", "vantar", "avslutad"];

impl super::Queries {
    /// An area's cases, open ones first (at most 500); `status` filters by one status.
    pub async fn area_cases(
        &self,
        area: &str,
        status: Option<&str>,
    ) -> Result<Vec<CaseSummary>, crate::app::AppError> {
        if let Some(status) = status
            && !STATUSES.contains(&status)
        {
            return Err(crate::domain::DomainError::invalid(
                "status",
                "Välj ny, pagaende, vantar eller avslutad.",
            )
            .into());
        }
        let now = self.services().clock().now();
        Ok(for_area(self.pool(), area, status, 500)
            .await?
            .into_iter()
            .map(|row| CaseSummary::from_row(row, now))
            .collect())
    }

    /// A strategy's open cases, oldest first (at most 200).
    pub async fn open_cases(
        &self,
        strategy: &str,
    ) -> Result<Vec<CaseSummary>, crate::app::AppError> {
        let now = self.services().clock().now();
        Ok(open_for_strategy(self.pool(), strategy)
            .await?
            .into_iter()
            .map(|row| CaseSummary::from_row(row, now))
            .collect())
    }

    /// One case, as the read model holds it.
    pub async fn case(&self, case_id: Uuid) -> Result<Option<CaseRow>, crate::app::AppError> {
        Ok(get(self.pool(), case_id).await?)
    }
}

impl super::Queries {
    /// An area's cases as the read model holds them, open ones first (at most 500).
    pub async fn case_rows(&self, area: &str) -> Result<Vec<CaseRow>, crate::app::AppError> {
        Ok(for_area(self.pool(), area, None, 500).await?)
    }
}
