//! A strategy's follow-up: activity per area and month, its last activity, status reports,
//! its process's owner and decisions, and the area × strategy matrix; from the strategy
//! overview's read model (`projections::strategy`).

use serde::Serialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

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

// ---------------------------------------------------------------------- overviews

/// A strategy without activity for this many days is silent ("tyst") by default.
pub const SILENT_DAYS: i64 = 90;

/// What a strategy's overview reads.
pub const OVERVIEW_READS: [&str; 3] = ["strategy_overview", "cases", "council_flow"];

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StrategyOverview {
    pub id: String,
    pub title: String,
    pub process: ProcessRef,
    pub process_owner: Option<String>,
    pub from: String,
    pub to: String,
    #[schema(value_type = Vec<Object>)]
    pub activities_by_area: Vec<AreaActivity>,
    pub last_activity: Option<String>,
    /// No activity for 90 days.
    pub silent: bool,
    #[schema(value_type = Vec<Object>)]
    pub status_reports: Vec<Report>,
    pub open_cases: Vec<super::cases::CaseSummary>,
    #[schema(value_type = Vec<Object>)]
    pub open_items: Vec<super::council::OpenItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProcessRef {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SilentStrategy {
    pub id: String,
    pub title: String,
    pub process: String,
    /// The last activity's date, or null when there has never been one.
    pub last_activity: Option<String>,
}

/// The strategy `id` of the plan, or 404.
pub fn known<'a>(
    plan: &'a crate::domain::plan::Plan,
    id: &str,
) -> Result<crate::domain::plan::StrategyRef<'a>, crate::app::AppError> {
    plan.strategy(id).ok_or_else(|| {
        crate::domain::DomainError::not_found("Strategin finns inte i planen.").into()
    })
}

impl super::Queries {
    /// A strategy's overview in a period: activity per area, last activity, status
    /// reports, open cases and items, the process owner.
    pub async fn strategy_overview(
        &self,
        id: &str,
        from: Date,
        to: Date,
    ) -> Result<StrategyOverview, crate::app::AppError> {
        let mut overview = self.activity_overview(id, from, to).await?;
        overview.open_cases = self.open_cases(id).await?;
        overview.open_items = super::council::open_items_for_strategy(self.pool(), id).await?;
        Ok(overview)
    }

    /// A strategy's overview from the strategies' read model alone: its process and owner,
    /// activity per area in the period, last activity and status reports; no open cases or
    /// items (the pages show those apart, as they change with other events).
    pub async fn activity_overview(
        &self,
        id: &str,
        from: Date,
        to: Date,
    ) -> Result<StrategyOverview, crate::app::AppError> {
        let plan = self.services().plan().await?;
        let found = known(&plan, id)?;
        let pool = self.pool();
        let activities_by_area = activity_by_area(pool, id, from, to).await?;
        let last_activity = last_activity(pool, &[id])
            .await?
            .into_iter()
            .next()
            .map(|(_, date)| date);
        let process_title = plan
            .node(crate::domain::plan::NodeKind::Process, found.process())
            .map(|node| node.text("title").to_owned())
            .unwrap_or_default();
        let today = self.today();
        Ok(StrategyOverview {
            id: found.id().to_owned(),
            title: found.title().to_owned(),
            process: ProcessRef {
                id: found.process().to_owned(),
                title: process_title,
            },
            process_owner: process_owner(pool, found.process()).await?,
            from: from.to_string(),
            to: to.to_string(),
            activities_by_area,
            silent: last_activity.is_none_or(|date| (today - date).whole_days() > SILENT_DAYS),
            last_activity: last_activity.map(|date| date.to_string()),
            status_reports: reports(pool, self.services().privacy(), id, 10).await?,
            open_cases: Vec::new(),
            open_items: Vec::new(),
        })
    }

    /// "Tysta strategier": strategies without activity for `days` days.
    pub async fn silent_strategies(
        &self,
        days: i64,
    ) -> Result<Vec<SilentStrategy>, crate::app::AppError> {
        if !(1..=3650).contains(&days) {
            return Err(crate::domain::DomainError::invalid(
                "days",
                "Ange mellan 1 och 3650 dagar.",
            )
            .into());
        }
        let plan = self.services().plan().await?;
        let strategies = plan.nodes(crate::domain::plan::NodeKind::Strategy);
        let ids: Vec<&str> = strategies.iter().map(|node| node.id.as_str()).collect();
        let last: std::collections::HashMap<String, Date> = last_activity(self.pool(), &ids)
            .await?
            .into_iter()
            .collect();
        let today = self.today();
        Ok(strategies
            .into_iter()
            .filter_map(|node| {
                let last = last.get(&node.id).copied();
                let quiet = last.is_none_or(|date| (today - date).whole_days() > days);
                quiet.then(|| SilentStrategy {
                    id: node.id.clone(),
                    title: node.text("title").to_owned(),
                    process: node.text("process").to_owned(),
                    last_activity: last.map(|date| date.to_string()),
                })
            })
            .collect())
    }

    /// The latest status report of every strategy that has one.
    pub async fn latest_reports(&self) -> Result<Vec<Report>, crate::app::AppError> {
        Ok(latest_reports(self.pool(), self.services().privacy()).await?)
    }

    /// A process's recorded decisions, latest first.
    pub async fn decisions(
        &self,
        process: &str,
        limit: i64,
    ) -> Result<Vec<Decision>, crate::app::AppError> {
        Ok(decisions(self.pool(), process, limit).await?)
    }

    /// Activities per area and strategy in the months the period touches.
    pub async fn matrix(&self, from: Date, to: Date) -> Result<Vec<Cell>, crate::app::AppError> {
        Ok(matrix(self.pool(), from, to).await?)
    }
}
