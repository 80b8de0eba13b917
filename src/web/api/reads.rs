//! The read models over the API: an area's timeline and cases, a strategy's overview,
//! the silent strategies and the council's information flow. The handlers read their
//! parameters and answer with what `queries` finds.
//!
//! Every read accepts `after=<position>` (a position a command returned): the answer then
//! waits, at most about two seconds, until the read models it reads have applied that
//! event (read-your-writes). If they have not by then, the answer says so in the header
//! `x-insats-stale: true`.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use crate::queries::cases::CaseSummary;
use crate::queries::council::{COUNCIL_READS, CouncilFlow};
use crate::queries::strategies::{OVERVIEW_READS, SILENT_DAYS, SilentStrategy, StrategyOverview};
use crate::queries::timeline::{self, PageCursor, TimelineFilter, TimelineItem};
use crate::queries::{parse_date, period};
use crate::web::AppState;
use crate::web::auth::Reader;
use crate::web::extract::Path;

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

/// A JSON answer that says whether it is stale.
fn answer<T: Serialize>(body: T, fresh: bool) -> Response {
    let mut headers = HeaderMap::new();
    if !fresh {
        headers.insert("x-insats-stale", HeaderValue::from_static("true"));
    }
    (headers, Json(body)).into_response()
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message)
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

/// Parses the timeline's filters, refusing what cannot be valid.
fn timeline_filter(
    query: &TimelineQuery,
) -> Result<(TimelineFilter, Option<PageCursor>, i64), ApiError> {
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
            PageCursor::decode(cursor)
                .ok_or_else(|| invalid("cursor", "Sidmarkören är inte giltig."))?,
        ),
        None => None,
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "Ange mellan 1 och 200 poster per sida."));
    }
    let filter = TimelineFilter {
        from: parse_date("from", query.from.as_deref())?,
        to: parse_date("to", query.to.as_deref())?,
        strategy: query.strategy.clone().filter(|s| !s.is_empty()),
        process: query.process.clone().filter(|s| !s.is_empty()),
        kind,
        case_id,
        activity_id: None,
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
    state.services.require_area(&area).await?;
    let (filter, cursor, limit) = timeline_filter(&query)?;
    let fresh = state.queries.settle(query.after, &timeline::READS).await?;
    let (items, next) = state
        .queries
        .timeline(
            &viewer,
            timeline::Reading::WithData,
            &area,
            &filter,
            cursor,
            limit,
        )
        .await?;
    let page = TimelinePage {
        items,
        next: next.map(|cursor| cursor.encode()),
    };
    Ok(answer(page, fresh))
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
    state.services.require_area(&area).await?;
    let status = query.status.as_deref().filter(|status| !status.is_empty());
    let fresh = state
        .queries
        .settle(query.after, &[crate::projections::cases::PROJECTION.name])
        .await?;
    let items = state.queries.area_cases(&area, status).await?;
    Ok(answer(CaseList { items }, fresh))
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
    let plan = state.services.plan().await?;
    crate::queries::strategies::known(&plan, &id)?;
    let (from, to) = period(
        query.from.as_deref(),
        query.to.as_deref(),
        state.queries.today(),
    )?;
    let fresh = state.queries.settle(query.after, &OVERVIEW_READS).await?;
    let overview = state.queries.strategy_overview(&id, from, to).await?;
    Ok(answer(overview, fresh))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SilentQuery {
    /// Days without activity (default 90).
    pub days: Option<i64>,
    pub after: Option<i64>,
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
        return Err(invalid("days", "Ange mellan 1 och 3650 dagar."));
    }
    let fresh = state
        .queries
        .settle(query.after, &["strategy_overview"])
        .await?;
    Ok(answer(state.queries.silent_strategies(days).await?, fresh))
}

// ---------------------------------------------------------------------- council

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
    let (from, to) = period(
        query.from.as_deref(),
        query.to.as_deref(),
        state.queries.today(),
    )?;
    let fresh = state.queries.settle(query.after, &COUNCIL_READS).await?;
    Ok(answer(state.queries.council_flow(from, to).await?, fresh))
}
