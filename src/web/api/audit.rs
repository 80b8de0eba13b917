//! The auditor's API: a strategy's history replayed as of a moment, its verification, the
//! verification of the whole log, and exports. For the auditor and the coordinator.

use crate::web::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::reads::ApiQuery;
use crate::audit::{self, AsOf};
use crate::web::AppState;
use crate::web::auth::Auditor;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MomentQuery {
    /// The moment: a date (`2025-06-30`, the whole day in Swedish time), a time (RFC 3339)
    /// or a position in the log. Empty or absent: now.
    pub per: Option<String>,
    /// A second moment to compare with, in the same forms.
    pub jamfor: Option<String>,
}

/// A strategy as of a moment, with its history up to then.
#[derive(Debug, Serialize, ToSchema)]
pub struct StrategyReplay {
    pub strategy: String,
    /// The moment, as asked.
    #[schema(value_type = Object)]
    pub as_of: Value,
    /// The state, folded from the events up to the moment.
    #[schema(value_type = Object)]
    pub state: Value,
    /// The state at `jamfor` and what changed from it to `as_of`.
    #[schema(value_type = Option<Object>)]
    pub compare: Option<Value>,
    /// The events of the history up to the moment, oldest first: who, when, what.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
}

fn moment(field: &str, text: Option<&str>) -> Result<AsOf, ApiError> {
    AsOf::parse(text.unwrap_or(""))
        .map_err(|message| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message))
}

pub(crate) async fn require_strategy(state: &AppState, id: &str) -> Result<(), ApiError> {
    state.services.require_strategy(id).await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/audit/strategies/{id}", tag = "Granskning",
    params(("id" = String, Path, description = "Strategins id"), MomentQuery),
    responses(
        (status = 200, description = "Strategin vid tidpunkten", body = StrategyReplay),
        (status = 404, description = "Strategin finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltig tidpunkt", body = ErrorBody)))]
pub async fn replay(
    State(state): State<AppState>,
    Auditor(_auditor): Auditor,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MomentQuery>,
) -> Result<Response, ApiError> {
    require_strategy(&state, &id).await?;
    let as_of = moment("per", query.per.as_deref())?;
    let compare = match query.jamfor.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(text) => Some(moment("jamfor", Some(text))?),
        None => None,
    };
    let loaded = audit::load(&state.events, state.services.privacy(), &id, as_of, compare).await?;
    let (plan, areas) = (
        state.services.plan().await?,
        state.services.area_names().await?,
    );
    let events = loaded.opened[..loaded.upto]
        .iter()
        .map(|event| {
            serde_json::json!({
                "position": event.position,
                "recorded_at": crate::event_log::chain::format_timestamp(event.recorded_at),
                "stream_id": event.stream_id,
                "stream_version": event.stream_version,
                "event_type": event.event_type,
                "who": audit::actor(event),
                "what": audit::describe(event, &plan, &areas),
                "hash": hex::encode(&event.hash),
            })
        })
        .collect();
    let compare = loaded
        .compare
        .as_ref()
        .map(|c| serde_json::json!({"as_of": c.as_of, "state": c.state, "changes": c.changes}));
    Ok(Json(StrategyReplay {
        strategy: id,
        as_of: serde_json::to_value(loaded.as_of).unwrap_or_default(),
        state: serde_json::to_value(&loaded.state).unwrap_or_default(),
        compare,
        events,
    })
    .into_response())
}

#[utoipa::path(get, path = "/api/v1/audit/strategies/{id}/verification", tag = "Granskning",
    params(("id" = String, Path, description = "Strategins id")),
    responses(
        (status = 200, description = "Verifieringen av strategins historik", body = Object),
        (status = 404, description = "Strategin finns inte", body = ErrorBody)))]
pub async fn verify_strategy(
    State(state): State<AppState>,
    Auditor(_auditor): Auditor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_strategy(&state, &id).await?;
    let history = audit::history(&state.pool, &id).await.map_err(internal)?;
    let report = audit::verify::strategy(&state.events, &id, &history)
        .await
        .map_err(internal)?;
    Ok(Json(report).into_response())
}

#[utoipa::path(get, path = "/api/v1/audit/verification", tag = "Granskning",
    responses((status = 200, description = "Verifieringen av hela loggen: varje ströms kedja och varje sigill", body = Object)))]
pub async fn verify_log(
    State(state): State<AppState>,
    Auditor(_auditor): Auditor,
) -> Result<Response, ApiError> {
    let log = state.events.verify_log(|_| {}).await.map_err(internal)?;
    Ok(Json(audit::verify::Integrity::from_log(&log)).into_response())
}

#[utoipa::path(get, path = "/api/v1/audit/strategies/{id}/export.json", tag = "Granskning",
    params(("id" = String, Path, description = "Strategins id")),
    responses(
        (status = 200, description = "Historiken med hashar och sigill, att kontrollera med `insats audit verify-export`", body = Object),
        (status = 404, description = "Strategin finns inte", body = ErrorBody)))]
pub async fn export_json(
    State(state): State<AppState>,
    Auditor(_auditor): Auditor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_strategy(&state, &id).await?;
    let history = audit::history(&state.pool, &id).await.map_err(internal)?;
    let seals = state.events.seals().await.map_err(internal)?;
    Ok(download(
        "application/json",
        &format!("{id}-historik.json"),
        audit::export::to_json(&id, &history, &seals),
    ))
}

#[utoipa::path(get, path = "/api/v1/audit/strategies/{id}/export.csv", tag = "Granskning",
    params(("id" = String, Path, description = "Strategins id")),
    responses(
        (status = 200, description = "Historiken som CSV med hashar och sigill", content_type = "text/csv"),
        (status = 404, description = "Strategin finns inte", body = ErrorBody)))]
pub async fn export_csv(
    State(state): State<AppState>,
    Auditor(_auditor): Auditor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_strategy(&state, &id).await?;
    Ok(download(
        "text/csv; charset=utf-8",
        &format!("{id}-historik.csv"),
        csv(&state, &id).await?,
    ))
}

/// The CSV export of a strategy's history, with who and what for reading.
pub(crate) async fn csv(state: &AppState, id: &str) -> Result<Vec<u8>, ApiError> {
    let history = audit::history(&state.pool, id).await.map_err(internal)?;
    let opened = audit::opened(state.services.privacy(), &history)
        .await
        .map_err(internal)?;
    let plan = state.services.plan().await?;
    let areas = state.services.area_names().await?;
    let shown: HashMap<i64, (String, String)> = opened
        .iter()
        .map(|e| {
            (
                e.position,
                (audit::actor(e), audit::describe(e, &plan, &areas)),
            )
        })
        .collect();
    let seals = state.events.seals().await.map_err(internal)?;
    Ok(audit::export::to_csv(&history, &seals, &shown))
}

pub(crate) fn download(content_type: &'static str, name: &str, bytes: Vec<u8>) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

fn internal(error: sqlx::Error) -> ApiError {
    ApiError::from(crate::app::AppError::from(error))
}
