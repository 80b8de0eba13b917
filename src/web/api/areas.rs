//! Areas, and the council's reviews of an area's timeline.

use crate::web::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::json::ApiJson;
use super::types::Created;
use crate::app::ReviewInput;
use crate::web::AppState;
use crate::web::auth::{Ctx, Reader};

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaResponse {
    pub id: String,
    pub name: String,
}

/// Every area, in the order they were added.
#[utoipa::path(get, path = "/api/v1/areas", tag = "Områden",
    responses((status = 200, description = "Områdena", body = Vec<AreaResponse>)))]
pub async fn list_areas(
    State(state): State<AppState>,
    Reader(_reader): Reader,
) -> Result<Json<Vec<AreaResponse>>, ApiError> {
    let areas = state.services.areas().await?;
    Ok(Json(
        areas
            .all()
            .iter()
            .map(|area| AreaResponse {
                id: area.id.to_string(),
                name: area.name.clone(),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddAreaRequest {
    /// The new area's id; made from the name when left out.
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
}

/// The coordinator adds an area.
#[utoipa::path(post, path = "/api/v1/areas", tag = "Områden",
    request_body = AddAreaRequest,
    responses(
        (status = 201, description = "Området är tillagt", body = Created),
        (status = 409, description = "Området finns redan", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn add_area(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(body): ApiJson<AddAreaRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let (id, done) = state
        .services
        .add_area(&ctx, body.id.as_deref(), &body.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id: id.to_string(),
            position: done.position,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewRequest {
    /// `YYYY-MM-DD`
    #[serde(default)]
    pub period_start: String,
    /// `YYYY-MM-DD`
    #[serde(default)]
    pub period_end: String,
    #[serde(default)]
    pub feedback: String,
}

/// The integration council records its review of an area's timeline for a period.
#[utoipa::path(post, path = "/api/v1/areas/{area}/reviews", tag = "Områden",
    params(("area" = String, Path, description = "Områdets id, t.ex. araby")),
    request_body = ReviewRequest,
    responses(
        (status = 201, description = "Granskningen är sparad", body = Created),
        (status = 404, description = "Området finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn review_timeline(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(area): Path<String>,
    ApiJson(body): ApiJson<ReviewRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let input = ReviewInput {
        period_start: body.period_start,
        period_end: body.period_end,
        feedback: body.feedback,
    };
    let done = state.services.review_timeline(&ctx, &area, &input).await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}
