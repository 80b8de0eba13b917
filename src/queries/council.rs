//! The council's information flow: items between forums, their answer times and the ones
//! still waiting, and the council's reviews of each area's timeline; from the council's
//! read model (`projections::council`).

use serde::Serialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

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

/// Which open items to list: by kind, sending forum, area and age in days (from, below).
#[derive(Debug, Clone, Default)]
pub struct OpenItemFilter {
    pub kind: Option<String>,
    pub from_forum: Option<String>,
    pub area: Option<String>,
    pub min_days: Option<f64>,
    pub max_days: Option<f64>,
}

const OPEN_ITEM_FILTER: &str = "
       AND ($1::text IS NULL OR kind = $1)
       AND ($2::text IS NULL OR from_forum = $2)
       AND ($3::text IS NULL OR area = $3)
       AND ($4::float8 IS NULL OR raised_at <= now() - make_interval(secs => $4 * 86400))
       AND ($5::float8 IS NULL OR raised_at > now() - make_interval(secs => $5 * 86400))";

/// One page of the open items that match `filter`, newest first, and how many match.
pub async fn open_items_page(
    pool: &PgPool,
    filter: &OpenItemFilter,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(Vec<OpenItem>, i64)> {
    use sqlx::{FromRow, Row};
    // One statement: the count of what matches, and the page of it (none past the end).
    let rows: Vec<(i64, Option<OpenItem>)> = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH matching AS ({OPEN_ITEM} {OPEN_ITEM_FILTER})
         SELECT c.total, p.* FROM (SELECT count(*) AS total FROM matching) c
         LEFT JOIN LATERAL (SELECT * FROM matching ORDER BY raised_at DESC, item_id
                            OFFSET $6 LIMIT $7) p ON true"
    )))
    .bind(&filter.kind)
    .bind(&filter.from_forum)
    .bind(&filter.area)
    .bind(filter.min_days)
    .bind(filter.max_days)
    .bind(offset)
    .bind(limit)
    .try_map(|row: sqlx::postgres::PgRow| {
        let total: i64 = row.try_get("total")?;
        let item = match row.try_get::<Option<Uuid>, _>("item_id")? {
            Some(_) => Some(OpenItem::from_row(&row)?),
            None => None,
        };
        Ok((total, item))
    })
    .fetch_all(pool)
    .await?;
    let total = rows.first().map_or(0, |(total, _)| *total);
    let items = rows.into_iter().filter_map(|(_, item)| item).collect();
    Ok((items, total))
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

// ---------------------------------------------------------------------- the flow

/// What the council's view reads.
pub const COUNCIL_READS: [&str; 2] = ["council_flow", "strategy_overview"];

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CouncilFlow {
    pub from: String,
    pub to: String,
    #[schema(value_type = Vec<Object>)]
    pub edges: Vec<Edge>,
    /// Items waiting for an answer, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub open_items: Vec<OpenItem>,
    /// Activities per area and strategy in the period.
    #[schema(value_type = Vec<Object>)]
    pub matrix: Vec<super::strategies::Cell>,
    /// When each area's timeline was last reviewed by the council.
    #[schema(value_type = Vec<Object>)]
    pub last_reviews: Vec<LastReview>,
    pub silent_strategies: Vec<super::strategies::SilentStrategy>,
}

impl super::Queries {
    /// The council's information flow in a period.
    pub async fn council_flow(
        &self,
        from: Date,
        to: Date,
    ) -> Result<CouncilFlow, crate::app::AppError> {
        let pool = self.pool();
        Ok(CouncilFlow {
            from: from.to_string(),
            to: to.to_string(),
            edges: edges(pool, from, to).await?,
            open_items: open_items(pool, 200).await?,
            matrix: self.matrix(from, to).await?,
            last_reviews: self.last_reviews().await?,
            silent_strategies: self
                .silent_strategies(super::strategies::SILENT_DAYS)
                .await?,
        })
    }

    /// Items along each edge between forums raised in a period.
    pub async fn edges(&self, from: Date, to: Date) -> Result<Vec<Edge>, crate::app::AppError> {
        Ok(edges(self.pool(), from, to).await?)
    }

    /// Items waiting for an answer, oldest first.
    pub async fn open_items(&self, limit: i64) -> Result<Vec<OpenItem>, crate::app::AppError> {
        Ok(open_items(self.pool(), limit).await?)
    }

    /// One page of the open items that match `filter`, newest first, and how many match.
    pub async fn open_items_page(
        &self,
        filter: &OpenItemFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<OpenItem>, i64), crate::app::AppError> {
        Ok(open_items_page(self.pool(), filter, offset, limit).await?)
    }

    /// Items waiting for an answer from one forum, oldest first.
    pub async fn open_items_to(&self, forum: &str) -> Result<Vec<OpenItem>, crate::app::AppError> {
        Ok(open_items_to(self.pool(), forum).await?)
    }

    /// Items about a strategy waiting for an answer.
    pub async fn open_items_for_strategy(
        &self,
        strategy: &str,
    ) -> Result<Vec<OpenItem>, crate::app::AppError> {
        Ok(open_items_for_strategy(self.pool(), strategy).await?)
    }

    /// The latest review of each area's timeline, its feedback opened.
    pub async fn last_reviews(&self) -> Result<Vec<LastReview>, crate::app::AppError> {
        let mut reviews = last_reviews(self.pool()).await?;
        let mut holders: Vec<serde_json::Value> = reviews
            .iter()
            .map(|review| serde_json::json!({"feedback": review.feedback}))
            .collect();
        self.services()
            .privacy()
            .open_all(holders.iter_mut())
            .await?;
        for (review, holder) in reviews.iter_mut().zip(holders) {
            review.feedback = holder["feedback"].clone();
        }
        Ok(reviews)
    }
}

// ---------------------------------------------------------------------- one item

/// An item between forums as a viewer sees it: what it says and where it stands, who
/// raised, acknowledged, answered and closed it, and when.
#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub item_id: Uuid,
    pub from: crate::domain::item::Forum,
    pub to: crate::domain::item::Forum,
    pub kind: String,
    pub title: String,
    pub area: Option<String>,
    pub strategy: Option<String>,
    pub case_id: Option<Uuid>,
    /// The item's text: opened, the erasure marker, or the secret marker for a viewer who
    /// may not read it.
    pub text: String,
    pub answer: Option<String>,
    pub secret: bool,
    pub raised: Step,
    pub acknowledged: Option<Step>,
    pub answered: Option<Step>,
    pub closed: Option<Step>,
}

/// When something happened to an item, and who did it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: Option<String>,
}

impl ItemView {
    /// Where the item stands.
    pub fn status(&self) -> crate::domain::item::ItemStatus {
        use crate::domain::item::ItemStatus;
        if self.closed.is_some() {
            ItemStatus::Closed
        } else if self.answered.is_some() {
            ItemStatus::Answered
        } else if self.acknowledged.is_some() {
            ItemStatus::Acknowledged
        } else {
            ItemStatus::Raised
        }
    }
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    item_id: Uuid,
    from_forum: Option<String>,
    to_forum: Option<String>,
    kind: Option<String>,
    title: Option<String>,
    area: Option<String>,
    strategy: Option<String>,
    case_id: Option<Uuid>,
    raised_at: Option<OffsetDateTime>,
    raised_by: Option<String>,
    text: Option<serde_json::Value>,
    acknowledged_at: Option<OffsetDateTime>,
    acknowledged_by: Option<String>,
    answered_at: Option<OffsetDateTime>,
    answered_by: Option<String>,
    answer: Option<serde_json::Value>,
    closed_at: Option<OffsetDateTime>,
    closed_by: Option<String>,
}

impl super::Queries {
    /// An item between forums as `viewer` may see it, if it exists.
    pub async fn item(
        &self,
        viewer: &crate::domain::actor::Actor,
        item_id: Uuid,
    ) -> Result<Option<ItemView>, crate::app::AppError> {
        let row: Option<ItemRow> = sqlx::query_as(
            "SELECT item_id, from_forum, to_forum, kind, title, area, strategy, case_id, raised_at,
                    raised_by, text, acknowledged_at, acknowledged_by, answered_at, answered_by,
                    answer, closed_at, closed_by
             FROM flow_items WHERE item_id = $1",
        )
        .bind(item_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (Some(from), Some(to), Some(raised_at)) = (
            row.from_forum.as_deref().and_then(|f| f.parse().ok()),
            row.to_forum.as_deref().and_then(|f| f.parse().ok()),
            row.raised_at,
        ) else {
            return Ok(None);
        };
        let target = format!("item:{item_id}");
        let secret =
            crate::privacy::visibility::secret_targets(self.pool(), std::slice::from_ref(&target))
                .await?
                .contains(&target);
        let readable = !secret
            || crate::privacy::visibility::may_read_secret(viewer, row.area.as_deref())
            || crate::privacy::visibility::at_either_end(
                viewer,
                row.from_forum.as_deref().unwrap_or(""),
                row.to_forum.as_deref().unwrap_or(""),
            );
        let mut texts = serde_json::json!({
            "text": row.text.unwrap_or(serde_json::Value::Null),
            "answer": row.answer.clone().unwrap_or(serde_json::Value::Null),
        });
        if readable {
            self.services().privacy().open(&mut texts).await?;
        }
        let shown = |field: &str| {
            if readable {
                texts[field].as_str().unwrap_or_default().to_owned()
            } else {
                crate::privacy::visibility::SECRET_MARKER.to_owned()
            }
        };
        let step = |at: Option<OffsetDateTime>, by: Option<String>| at.map(|at| Step { at, by });
        Ok(Some(ItemView {
            item_id: row.item_id,
            from,
            to,
            kind: row.kind.unwrap_or_default(),
            title: row.title.unwrap_or_default(),
            area: row.area,
            strategy: row.strategy,
            case_id: row.case_id,
            text: shown("text"),
            answer: row.answer.map(|_| shown("answer")),
            secret,
            raised: Step {
                at: raised_at,
                by: row.raised_by,
            },
            acknowledged: step(row.acknowledged_at, row.acknowledged_by),
            answered: step(row.answered_at, row.answered_by),
            closed: step(row.closed_at, row.closed_by),
        }))
    }
}
