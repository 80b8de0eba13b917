//! Activities: logging, correcting and retracting.

use crate::web::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::json::ApiJson;
use super::types::{Created, uuid_in_path};
use crate::domain::activity::ActivityInput;
use crate::web::AppState;
use crate::web::auth::Ctx;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActivityRequest {
    /// `YYYY-MM-DD`, from 2018 to a year ahead.
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Strategy ids from the plan; at least one.
    #[serde(default)]
    pub strategies: Vec<String>,
    /// Partner ids or names from the plan, or other organisations as free text.
    #[serde(default)]
    pub partners: Vec<String>,
    /// How many took part: a count, never names.
    #[serde(default)]
    pub participants: i64,
    #[serde(default)]
    pub follow_up: bool,
}

impl From<ActivityRequest> for ActivityInput {
    fn from(body: ActivityRequest) -> Self {
        ActivityInput {
            date: body.date,
            title: body.title,
            description: body.description,
            strategies: body.strategies,
            partners: body.partners,
            participants: body.participants,
            follow_up: body.follow_up,
        }
    }
}

/// An area team logs an activity.
#[utoipa::path(post, path = "/api/v1/areas/{area}/activities", tag = "Insatser",
    params(("area" = String, Path, description = "Områdets id, t.ex. araby")),
    request_body = ActivityRequest,
    responses(
        (status = 201, description = "Insatsen är loggad", body = Created),
        (status = 404, description = "Området finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn log_activity(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(area): Path<String>,
    ApiJson(body): ApiJson<ActivityRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let done = state
        .services
        .log_activity(&ctx, &area, &body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CorrectionRequest {
    /// Why the activity is corrected.
    #[serde(default)]
    pub reason: String,
    /// The activity as it should read.
    pub activity: ActivityRequest,
}

/// Corrects an activity: a new event with the corrected values and a reason.
#[utoipa::path(post, path = "/api/v1/activities/{id}/corrections", tag = "Insatser",
    params(("id" = String, Path, description = "Insatsens id")),
    request_body = CorrectionRequest,
    responses(
        (status = 201, description = "Rättelsen är sparad", body = Created),
        (status = 404, description = "Insatsen finns inte", body = ErrorBody),
        (status = 409, description = "Insatsen är återkallad", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn correct_activity(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CorrectionRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = uuid_in_path(&id, "Insatsen finns inte.")?;
    let done = state
        .services
        .correct_activity(&ctx, id, &body.activity.into(), &body.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RetractionRequest {
    #[serde(default)]
    pub reason: String,
}

/// Retracts an activity: it stays in the history, marked as retracted, with the reason.
#[utoipa::path(post, path = "/api/v1/activities/{id}/retraction", tag = "Insatser",
    params(("id" = String, Path, description = "Insatsens id")),
    request_body = RetractionRequest,
    responses(
        (status = 201, description = "Insatsen är återkallad", body = Created),
        (status = 404, description = "Insatsen finns inte", body = ErrorBody),
        (status = 409, description = "Redan återkallad", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn retract_activity(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RetractionRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = uuid_in_path(&id, "Insatsen finns inte.")?;
    let done = state
        .services
        .retract_activity(&ctx, id, &body.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}
