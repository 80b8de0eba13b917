//! The key indicators: their definitions and figures, and a figure the coordinator enters.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::error::{ApiError, ErrorBody};
use super::json::ApiJson;
use super::types::Created;
use crate::app::IndicatorValueInput;
use crate::queries::indicators::IndicatorView;
use crate::web::AppState;
use crate::web::auth::{Ctx, Reader};
use crate::web::extract::Path;

/// Every key indicator of the plan: what it is, where its figures come from, its latest
/// figure for the municipality and its trend, and all its figures.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "Nyckeltal",
    responses((status = 200, description = "Nyckeltalen", body = Vec<IndicatorView>)))]
pub async fn list(
    State(state): State<AppState>,
    Reader(_reader): Reader,
) -> Result<Json<Vec<IndicatorView>>, ApiError> {
    Ok(Json(state.queries.indicators(&state.settings.units).await?))
}

/// One key indicator with its figures.
#[utoipa::path(get, path = "/api/v1/indicators/{id}", tag = "Nyckeltal",
    params(("id" = String, Path, description = "Nyckeltalets id i planen")),
    responses(
        (status = 200, description = "Nyckeltalet", body = IndicatorView),
        (status = 404, description = "Nyckeltalet finns inte", body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Reader(_reader): Reader,
    Path(id): Path<String>,
) -> Result<Json<IndicatorView>, ApiError> {
    Ok(Json(
        state.queries.indicator(&id, &state.settings.units).await?,
    ))
}

/// A figure entered by the coordinator: recorded for a year that has none, or a correction
/// (with `reason`) of the one there.
#[utoipa::path(post, path = "/api/v1/indicators/{id}/values", tag = "Nyckeltal",
    params(("id" = String, Path, description = "Nyckeltalets id i planen")),
    request_body = IndicatorValueInput,
    responses(
        (status = 201, description = "Värdet är sparat", body = Created),
        (status = 404, description = "Nyckeltalet finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn enter(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<IndicatorValueInput>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let done = state
        .services
        .enter_indicator_value(&ctx, &id, &state.settings.units, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}
