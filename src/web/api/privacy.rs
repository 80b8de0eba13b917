//! Secrecy marks and erasures of personal data.

use crate::web::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::json::ApiJson;
use super::types::{Created, uuid_in_path};
use crate::app::{ErasureTarget, SecrecyTarget};
use crate::web::AppState;
use crate::web::auth::Ctx;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CaseSecrecyRequest {
    /// `description`, or `note:<note id>`.
    #[serde(default)]
    pub target: String,
    pub secret: bool,
}

/// Marks a case's description or one of its notes secret, or lifts the mark.
#[utoipa::path(post, path = "/api/v1/cases/{id}/secrecy", tag = "Ärenden",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = CaseSecrecyRequest,
    responses(
        (status = 201, description = "Markeringen är ändrad", body = Created),
        (status = 404, description = "Ärendet eller anteckningen finns inte", body = ErrorBody),
        (status = 409, description = "Redan markerad, eller inte markerad", body = ErrorBody)))]
pub async fn case_secrecy(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CaseSecrecyRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let case_id = uuid_in_path(&id, "Ärendet finns inte.")?;
    let target = match body.target.as_str() {
        "description" => SecrecyTarget::CaseDescription(case_id),
        other => match other
            .strip_prefix("note:")
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
        {
            Some(note_id) => SecrecyTarget::Note { case_id, note_id },
            None => {
                return Err(ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "target",
                    "Ange description eller note:<anteckningens id>.",
                ));
            }
        },
    };
    let done = state
        .services
        .set_secrecy(&ctx, target, body.secret)
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SecrecyRequest {
    pub secret: bool,
}

/// Marks an item's text secret, or lifts the mark.
#[utoipa::path(post, path = "/api/v1/items/{id}/secrecy", tag = "Forum",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = SecrecyRequest,
    responses(
        (status = 201, description = "Markeringen är ändrad", body = Created),
        (status = 404, description = "Ärendet finns inte", body = ErrorBody),
        (status = 409, description = "Redan markerad, eller inte markerad", body = ErrorBody)))]
pub async fn item_secrecy(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SecrecyRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let item_id = uuid_in_path(&id, "Ärendet mellan forumen finns inte.")?;
    let done = state
        .services
        .set_secrecy(&ctx, SecrecyTarget::Item(item_id), body.secret)
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

/// Marks an activity's description secret, or lifts the mark.
#[utoipa::path(post, path = "/api/v1/activities/{id}/secrecy", tag = "Insatser",
    params(("id" = String, Path, description = "Insatsens id")),
    request_body = SecrecyRequest,
    responses(
        (status = 201, description = "Markeringen är ändrad", body = Created),
        (status = 404, description = "Insatsen finns inte", body = ErrorBody),
        (status = 409, description = "Redan markerad, eller inte markerad", body = ErrorBody)))]
pub async fn activity_secrecy(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SecrecyRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let activity_id = uuid_in_path(&id, "Insatsen finns inte.")?;
    let done = state
        .services
        .set_secrecy(&ctx, SecrecyTarget::Activity(activity_id), body.secret)
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ErasureRequest {
    /// The decision that allows the erasure (gallringsbeslut).
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub reason: String,
}

async fn erase(
    state: &AppState,
    ctx: &crate::app::CommandContext,
    target: ErasureTarget,
    body: ErasureRequest,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let done = state
        .services
        .erase_personal_data(ctx, target, &body.decision, &body.reason, None)
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

/// Erases a case's personal data (the coordinator, under a decision).
#[utoipa::path(post, path = "/api/v1/cases/{id}/erasure", tag = "Ärenden",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = ErasureRequest,
    responses(
        (status = 201, description = "Personuppgifterna är raderade", body = Created),
        (status = 404, description = "Ärendet finns inte", body = ErrorBody),
        (status = 409, description = "Redan raderade", body = ErrorBody)))]
pub async fn erase_case(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ErasureRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = uuid_in_path(&id, "Ärendet finns inte.")?;
    erase(&state, &ctx, ErasureTarget::Case(id), body).await
}

/// Erases an activity's personal data (the coordinator, under a decision).
#[utoipa::path(post, path = "/api/v1/activities/{id}/erasure", tag = "Insatser",
    params(("id" = String, Path, description = "Insatsens id")),
    request_body = ErasureRequest,
    responses(
        (status = 201, description = "Personuppgifterna är raderade", body = Created),
        (status = 404, description = "Insatsen finns inte", body = ErrorBody),
        (status = 409, description = "Redan raderade", body = ErrorBody)))]
pub async fn erase_activity(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ErasureRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = uuid_in_path(&id, "Insatsen finns inte.")?;
    erase(&state, &ctx, ErasureTarget::Activity(id), body).await
}

/// Erases an item's personal data (the coordinator, under a decision).
#[utoipa::path(post, path = "/api/v1/items/{id}/erasure", tag = "Forum",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = ErasureRequest,
    responses(
        (status = 201, description = "Personuppgifterna är raderade", body = Created),
        (status = 404, description = "Ärendet finns inte", body = ErrorBody),
        (status = 409, description = "Redan raderade", body = ErrorBody)))]
pub async fn erase_item(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ErasureRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = uuid_in_path(&id, "Ärendet mellan forumen finns inte.")?;
    erase(&state, &ctx, ErasureTarget::Item(id), body).await
}
