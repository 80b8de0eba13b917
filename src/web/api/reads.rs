//! The read models over the API: an area's timeline and cases, a strategy's overview,
//! the silent strategies and the council's information flow.
//!
//! Every read accepts `after=<position>` (a position a command returned): the answer then
//! waits, at most about two seconds, until the projections it reads have applied that
//! event (read-your-writes). If they have not by then, the answer says so in the header
//! `x-insats-stale: true`.

use crate::web::extract::Path;
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use crate::domain::plan::{NodeKind, Plan, StrategyRef};
use crate::projections::{self, cases, council, strategy, timeline};
use crate::web::AppState;
use crate::web::auth::Reader;

/// How long a read waits for its projections to catch up with `after`.
pub const READ_YOUR_WRITES: Duration = Duration::from_secs(2);
/// A strategy without activity for this many days is silent ("tyst") by default.
pub const SILENT_DAYS: i64 = 90;

/// Query parameters, refused in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|error| {
                let field = error.path().to_string();
                ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    if field == "." {
                        "query".to_owned()
                    } else {
                        field
                    },
                    "Parametern har fel värde.",
                )
            })
    }
}

/// Waits for `names` to have applied the event at `after`; returns whether they have.
async fn catch_up(state: &AppState, after: Option<i64>, names: &[&str]) -> Result<bool, ApiError> {
    let Some(position) = after else {
        return Ok(true);
    };
    let Some(cursor) = projections::cursor_at(&state.pool, position)
        .await
        .map_err(internal)?
    else {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "after",
            "Det finns ingen händelse på den positionen.",
        ));
    };
    projections::wait_for(&state.pool, names, cursor, READ_YOUR_WRITES)
        .await
        .map_err(internal)
}

fn internal(error: sqlx::Error) -> ApiError {
    ApiError::from(crate::app::AppError::from(error))
}

/// A JSON answer that says whether it is stale.
fn answer<T: Serialize>(body: T, fresh: bool) -> Response {
    let mut headers = HeaderMap::new();
    if !fresh {
        headers.insert("x-insats-stale", HeaderValue::from_static("true"));
    }
    (headers, Json(body)).into_response()
}

fn parse_date(field: &str, text: Option<&str>) -> Result<Option<Date>, ApiError> {
    let Some(text) = text.filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map(Some).map_err(|_| {
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
            "Skriv datumet som ÅÅÅÅ-MM-DD.",
        )
    })
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

// ---------------------------------------------------------------------- timeline

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<String>,
    /// A strategy id.
    pub strategy: Option<String>,
    /// A process id.
    pub process: Option<String>,
    /// `insats`, `arende`, `forum` or `granskning`.
    pub kind: Option<String>,
    /// A case id.
    pub case: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Entries per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Wait until this log position is on the timeline.
    pub after: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelinePage {
    pub items: Vec<TimelineItem>,
    /// The cursor of the next page, or null on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineItem {
    pub position: i64,
    /// The day it happened (an activity's own date).
    pub date: String,
    pub recorded_at: String,
    /// `insats`, `arende`, `forum` or `granskning`.
    pub kind: String,
    pub event_type: String,
    /// What happened, in Swedish.
    pub summary: String,
    pub actor: Actor,
    pub strategies: Vec<String>,
    pub processes: Vec<String>,
    pub case_id: Option<Uuid>,
    pub item_id: Option<Uuid>,
    /// The entry's text is marked secret (it is shown only to those who may read it).
    pub secret: bool,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Actor {
    pub name: Option<String>,
    pub role: Option<String>,
}

impl From<timeline::Entry> for TimelineItem {
    fn from(entry: timeline::Entry) -> Self {
        Self {
            position: entry.position,
            date: entry.entry_date.to_string(),
            recorded_at: crate::event_log::chain::format_timestamp(entry.recorded_at),
            summary: timeline::describe(&entry.event_type, &entry.data),
            actor: Actor {
                name: entry.actor_name().map(str::to_owned),
                role: entry.actor_role().map(str::to_owned),
            },
            strategies: entry.tagged("strategy:"),
            processes: entry.tagged("process:"),
            case_id: entry.case_id(),
            item_id: entry.item_id(),
            secret: false,
            kind: entry.kind,
            event_type: entry.event_type,
            data: entry.data,
        }
    }
}

/// Parses the timeline's filters, refusing what cannot be valid.
pub fn timeline_filter(
    query: &TimelineQuery,
) -> Result<(timeline::TimelineFilter, Option<timeline::PageCursor>, i64), ApiError> {
    let invalid = |field: &str, message: &str| {
        ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message)
    };
    let kind = query.kind.clone().filter(|kind| !kind.is_empty());
    if let Some(kind) = &kind
        && !timeline::KINDS.iter().any(|(known, _)| known == kind)
    {
        return Err(invalid(
            "kind",
            "Välj insats, arende, forum eller granskning.",
        ));
    }
    let case_id = match query.case.as_deref().filter(|case| !case.is_empty()) {
        Some(case) => Some(
            Uuid::parse_str(case).map_err(|_| invalid("case", "Ärendets id är inte giltigt."))?,
        ),
        None => None,
    };
    let cursor = match query.cursor.as_deref().filter(|cursor| !cursor.is_empty()) {
        Some(cursor) => Some(
            timeline::PageCursor::decode(cursor)
                .ok_or_else(|| invalid("cursor", "Sidmarkören är inte giltig."))?,
        ),
        None => None,
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "Ange mellan 1 och 200 poster per sida."));
    }
    let filter = timeline::TimelineFilter {
        from: parse_date("from", query.from.as_deref())?,
        to: parse_date("to", query.to.as_deref())?,
        strategy: query.strategy.clone().filter(|s| !s.is_empty()),
        process: query.process.clone().filter(|s| !s.is_empty()),
        kind,
        case_id,
    };
    Ok((filter, cursor, limit))
}

/// Every event that touches an area, newest first, filtered and paged.
#[utoipa::path(get, path = "/api/v1/areas/{area}/timeline", tag = "Områden",
    params(("area" = String, Path, description = "Områdets id"), TimelineQuery),
    responses(
        (status = 200, description = "En sida av tidslinjen", body = TimelinePage),
        (status = 404, description = "Området finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltiga filter", body = ErrorBody)))]
pub async fn area_timeline(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Path(area): Path<String>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> Result<Response, ApiError> {
    state.insats.require_area(&area).await?;
    let (filter, cursor, limit) = timeline_filter(&query)?;
    let fresh = catch_up(
        &state,
        query.after,
        &[timeline::PROJECTION.name, "secrecy", "council_flow"],
    )
    .await?;
    let (entries, next) = timeline::page(&state.pool, &area, &filter, cursor, limit)
        .await
        .map_err(internal)?;
    let page = TimelinePage {
        items: visible_items(&state, &viewer, entries).await?,
        next: next.map(|cursor| cursor.encode()),
    };
    Ok(answer(page, fresh))
}

/// Timeline entries as `viewer` may see them: secret text only for those who may read
/// it, sealed text opened (or the erasure marker).
pub async fn visible_items(
    state: &AppState,
    viewer: &crate::domain::actor::Actor,
    mut entries: Vec<timeline::Entry>,
) -> Result<Vec<TimelineItem>, ApiError> {
    let areas: Vec<String> = entries.iter().map(|entry| entry.area.clone()).collect();
    let mut shown: Vec<crate::privacy::visibility::Shown<'_>> = entries
        .iter_mut()
        .zip(&areas)
        .map(|(entry, area)| crate::privacy::visibility::Shown {
            event_type: &entry.event_type,
            area: Some(area.as_str()),
            data: &mut entry.data,
        })
        .collect();
    let secret = crate::privacy::visibility::prepare(
        state.insats.privacy(),
        &state.pool,
        viewer,
        &mut shown,
    )
    .await
    .map_err(internal)?;
    Ok(entries
        .into_iter()
        .zip(secret)
        .map(|(entry, secret)| {
            let mut item = TimelineItem::from(entry);
            item.secret = secret;
            item
        })
        .collect())
}

// ---------------------------------------------------------------------- cases

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    /// `ny`, `pagaende`, `vantar` or `avslutad`.
    pub status: Option<String>,
    pub after: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
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
    pub fn from_row(row: cases::CaseRow, now: OffsetDateTime) -> Self {
        Self {
            id: row.case_id,
            age_days: row.age_days(now),
            status_label: timeline::status_label(row.status.as_deref().unwrap_or("")).to_owned(),
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

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseSummary>,
}

/// An area's cases, open ones first, with status and age.
#[utoipa::path(get, path = "/api/v1/areas/{area}/cases", tag = "Ärenden",
    params(("area" = String, Path, description = "Områdets id"), CasesQuery),
    responses(
        (status = 200, description = "Ärendena", body = CaseList),
        (status = 404, description = "Området finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltigt filter", body = ErrorBody)))]
pub async fn area_cases(
    State(state): State<AppState>,
    Reader(_reader): Reader,
    Path(area): Path<String>,
    ApiQuery(query): ApiQuery<CasesQuery>,
) -> Result<Response, ApiError> {
    state.insats.require_area(&area).await?;
    let status = query.status.as_deref().filter(|status| !status.is_empty());
    if let Some(status) = status
        && !["ny", "pagaende", "vantar", "avslutad"].contains(&status)
    {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "status",
            "Välj ny, pagaende, vantar eller avslutad.",
        ));
    }
    let fresh = catch_up(&state, query.after, &[cases::PROJECTION.name]).await?;
    let rows = cases::for_area(&state.pool, &area, status, 500)
        .await
        .map_err(internal)?;
    let now = OffsetDateTime::now_utc();
    let list = CaseList {
        items: rows
            .into_iter()
            .map(|row| CaseSummary::from_row(row, now))
            .collect(),
    };
    Ok(answer(list, fresh))
}

// ---------------------------------------------------------------------- strategies

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day, `YYYY-MM-DD` (default: a year ago).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today).
    pub to: Option<String>,
    pub after: Option<i64>,
}

/// The period asked for: a year up to today unless given; 422 when it is not a period.
pub fn period(query: &PeriodQuery) -> Result<(Date, Date), ApiError> {
    let to = parse_date("to", query.to.as_deref())?.unwrap_or_else(today);
    let from = parse_date("from", query.from.as_deref())?.unwrap_or(to - time::Duration::days(365));
    if to < from {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "to",
            "Periodens slut kan inte ligga före dess början.",
        ));
    }
    Ok((from, to))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StrategyOverview {
    pub id: String,
    pub title: String,
    pub process: ProcessRef,
    pub process_owner: Option<String>,
    pub from: String,
    pub to: String,
    #[schema(value_type = Vec<Object>)]
    pub activities_by_area: Vec<strategy::AreaActivity>,
    pub last_activity: Option<String>,
    /// No activity for 90 days.
    pub silent: bool,
    #[schema(value_type = Vec<Object>)]
    pub status_reports: Vec<strategy::Report>,
    pub open_cases: Vec<CaseSummary>,
    #[schema(value_type = Vec<Object>)]
    pub open_items: Vec<council::OpenItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessRef {
    pub id: String,
    pub title: String,
}

const OVERVIEW_READS: [&str; 3] = ["strategy_overview", "cases", "council_flow"];

/// A strategy's overview: activity per area in a period, last activity, status reports,
/// open cases and items, the process owner.
#[utoipa::path(get, path = "/api/v1/strategies/{id}/overview", tag = "Planen",
    params(("id" = String, Path, description = "Strategins id"), PeriodQuery),
    responses(
        (status = 200, description = "Översikten", body = StrategyOverview),
        (status = 404, description = "Strategin finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltig period", body = ErrorBody)))]
pub async fn strategy_overview(
    State(state): State<AppState>,
    Reader(_reader): Reader,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    let overview = overview(&state, &id, &query).await?;
    Ok(answer(overview.0, overview.1))
}

/// The strategy overview and whether it is fresh.
pub async fn overview(
    state: &AppState,
    id: &str,
    query: &PeriodQuery,
) -> Result<(StrategyOverview, bool), ApiError> {
    let plan = state.insats.plan().await?;
    known_strategy(&plan, id)?;
    let (from, to) = period(query)?;
    let fresh = catch_up(state, query.after, &OVERVIEW_READS).await?;
    let mut overview = activity_overview(state, id, from, to).await?;
    overview.open_cases = open_cases(state, id).await?;
    overview.open_items = council::open_items_for_strategy(&state.pool, id)
        .await
        .map_err(internal)?;
    Ok((overview, fresh))
}

/// A strategy's overview from the strategies' read model alone: its process and owner,
/// activity per area in the period, last activity and status reports; no open cases or
/// items (the pages show those apart, as they change with other events).
pub async fn activity_overview(
    state: &AppState,
    id: &str,
    from: Date,
    to: Date,
) -> Result<StrategyOverview, ApiError> {
    let plan = state.insats.plan().await?;
    let found = known_strategy(&plan, id)?;
    let pool = &state.pool;
    let activities_by_area = strategy::activity_by_area(pool, id, from, to)
        .await
        .map_err(internal)?;
    let last_activity = strategy::last_activity(pool, &[id])
        .await
        .map_err(internal)?
        .into_iter()
        .next()
        .map(|(_, date)| date);
    let process_title = plan
        .node(NodeKind::Process, found.process())
        .map(|node| node.text("title").to_owned())
        .unwrap_or_default();
    Ok(StrategyOverview {
        id: found.id().to_owned(),
        title: found.title().to_owned(),
        process: ProcessRef {
            id: found.process().to_owned(),
            title: process_title,
        },
        process_owner: strategy::process_owner(pool, found.process())
            .await
            .map_err(internal)?,
        from: from.to_string(),
        to: to.to_string(),
        activities_by_area,
        silent: last_activity.is_none_or(|date| (today() - date).whole_days() > SILENT_DAYS),
        last_activity: last_activity.map(|date| date.to_string()),
        status_reports: strategy::reports(pool, state.insats.privacy(), id, 10)
            .await
            .map_err(internal)?,
        open_cases: Vec::new(),
        open_items: Vec::new(),
    })
}

/// The strategy `id` of the plan, or 404.
pub fn known_strategy<'a>(plan: &'a Plan, id: &str) -> Result<StrategyRef<'a>, ApiError> {
    plan.strategy(id)
        .ok_or_else(|| ApiError::not_found("Strategin finns inte i planen."))
}

/// A strategy's open cases, oldest first (at most 200).
pub async fn open_cases(state: &AppState, id: &str) -> Result<Vec<CaseSummary>, ApiError> {
    let now = OffsetDateTime::now_utc();
    Ok(cases::open_for_strategy(&state.pool, id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|row| CaseSummary::from_row(row, now))
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SilentQuery {
    /// Days without activity (default 90).
    pub days: Option<i64>,
    pub after: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SilentStrategy {
    pub id: String,
    pub title: String,
    pub process: String,
    /// The last activity's date, or null when there has never been one.
    pub last_activity: Option<String>,
}

/// "Tysta strategier": strategies without activity for `days` days.
pub async fn silent(state: &AppState, days: i64) -> Result<Vec<SilentStrategy>, ApiError> {
    let plan = state.insats.plan().await?;
    let strategies = plan.nodes(NodeKind::Strategy);
    let ids: Vec<&str> = strategies.iter().map(|node| node.id.as_str()).collect();
    let last: std::collections::HashMap<String, Date> = strategy::last_activity(&state.pool, &ids)
        .await
        .map_err(internal)?
        .into_iter()
        .collect();
    let today = today();
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

/// Strategies without activity for a number of days.
#[utoipa::path(get, path = "/api/v1/strategies/silent", tag = "Planen",
    params(SilentQuery),
    responses(
        (status = 200, description = "De tysta strategierna", body = Vec<SilentStrategy>),
        (status = 422, description = "Ogiltigt antal dagar", body = ErrorBody)))]
pub async fn silent_strategies(
    State(state): State<AppState>,
    Reader(_reader): Reader,
    ApiQuery(query): ApiQuery<SilentQuery>,
) -> Result<Response, ApiError> {
    let days = query.days.unwrap_or(SILENT_DAYS);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "days",
            "Ange mellan 1 och 3650 dagar.",
        ));
    }
    let fresh = catch_up(&state, query.after, &["strategy_overview"]).await?;
    Ok(answer(silent(&state, days).await?, fresh))
}

// ---------------------------------------------------------------------- council

#[derive(Debug, Serialize, ToSchema)]
pub struct CouncilFlow {
    pub from: String,
    pub to: String,
    #[schema(value_type = Vec<Object>)]
    pub edges: Vec<council::Edge>,
    /// Items waiting for an answer, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub open_items: Vec<council::OpenItem>,
    /// Activities per area and strategy in the period.
    #[schema(value_type = Vec<Object>)]
    pub matrix: Vec<strategy::Cell>,
    /// When each area's timeline was last reviewed by the council.
    #[schema(value_type = Vec<Object>)]
    pub last_reviews: Vec<council::LastReview>,
    pub silent_strategies: Vec<SilentStrategy>,
}

pub const COUNCIL_READS: [&str; 2] = ["council_flow", "strategy_overview"];

/// The council's information flow in a period.
pub async fn council_flow_data(
    state: &AppState,
    query: &PeriodQuery,
) -> Result<(CouncilFlow, bool), ApiError> {
    let (from, to) = period(query)?;
    let fresh = catch_up(state, query.after, &COUNCIL_READS).await?;
    let pool = &state.pool;
    Ok((
        CouncilFlow {
            from: from.to_string(),
            to: to.to_string(),
            edges: council::edges(pool, from, to).await.map_err(internal)?,
            open_items: council::open_items(pool, 200).await.map_err(internal)?,
            matrix: strategy::matrix(pool, from, to).await.map_err(internal)?,
            last_reviews: last_reviews(state).await?,
            silent_strategies: silent(state, SILENT_DAYS).await?,
        },
        fresh,
    ))
}

/// The latest review of each area's timeline, its feedback opened.
pub async fn last_reviews(state: &AppState) -> Result<Vec<council::LastReview>, ApiError> {
    let mut reviews = council::last_reviews(&state.pool).await.map_err(internal)?;
    let mut holders: Vec<Value> = reviews
        .iter()
        .map(|review| serde_json::json!({"feedback": review.feedback}))
        .collect();
    state
        .insats
        .privacy()
        .open_all(holders.iter_mut())
        .await
        .map_err(internal)?;
    for (review, holder) in reviews.iter_mut().zip(holders) {
        review.feedback = holder["feedback"].clone();
    }
    Ok(reviews)
}

/// Per edge between forums: items raised, answered, still open, median and longest time
/// to answer; open items with their age; the area × strategy matrix; the last reviews.
#[utoipa::path(get, path = "/api/v1/council/flow", tag = "Forum",
    params(PeriodQuery),
    responses(
        (status = 200, description = "Informationsflödet", body = CouncilFlow),
        (status = 422, description = "Ogiltig period", body = ErrorBody)))]
pub async fn council_flow(
    State(state): State<AppState>,
    Reader(_reader): Reader,
    ApiQuery(query): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    let (flow, fresh) = council_flow_data(&state, &query).await?;
    Ok(answer(flow, fresh))
}
