//! Cases: opening, notes, assignment, status, escalation to the council, closing, reopening.

use crate::web::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::json::ApiJson;
use super::types::{CaseStatusValue, Created, uuid_in_path};
use crate::app::{AssigneeInput, CaseInput};
use crate::web::AppState;
use crate::web::auth::Ctx;

const NO_CASE: &str = "Ärendet finns inte.";

#[derive(Debug, Deserialize, ToSchema)]
pub struct CaseRequest {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Strategy ids from the plan; at least one.
    #[serde(default)]
    pub strategies: Vec<String>,
}

/// An area team opens a case.
#[utoipa::path(post, path = "/api/v1/areas/{area}/cases", tag = "Ärenden",
    params(("area" = String, Path, description = "Områdets id, t.ex. araby")),
    request_body = CaseRequest,
    responses(
        (status = 201, description = "Ärendet är öppnat", body = Created),
        (status = 404, description = "Området finns inte", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn open_case(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(area): Path<String>,
    ApiJson(body): ApiJson<CaseRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let input = CaseInput {
        title: body.title,
        description: body.description,
        strategies: body.strategies,
    };
    let done = state.services.open_case(&ctx, &area, &input).await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteRequest {
    #[serde(default)]
    pub text: String,
}

/// Adds a note to an open case; the id returned is the note's.
#[utoipa::path(post, path = "/api/v1/cases/{id}/notes", tag = "Ärenden",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = NoteRequest,
    responses(
        (status = 201, description = "Anteckningen är sparad", body = Created),
        (status = 404, description = "Ärendet finns inte", body = ErrorBody),
        (status = 409, description = "Ärendet är avslutat", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn add_note(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NoteRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = uuid_in_path(&id, NO_CASE)?;
    let done = state.services.add_case_note(&ctx, id, &body.text).await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

/// To whom a case is assigned: a process owner, or a member of the area team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AssignRequest {
    ProcessOwner {
        /// The process whose owner takes the case.
        process: String,
    },
    TeamMember {
        name: String,
        user_id: Option<Uuid>,
    },
}

/// Assigns a case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/assign", tag = "Ärenden",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "Ärendet är tilldelat", body = Created),
        (status = 404, description = "Ärendet finns inte", body = ErrorBody),
        (status = 409, description = "Ärendet är avslutat eller redan tilldelat", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn assign(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<Json<Created>, ApiError> {
    let id = uuid_in_path(&id, NO_CASE)?;
    let input = match body {
        AssignRequest::ProcessOwner { process } => AssigneeInput::ProcessOwner { process },
        AssignRequest::TeamMember { name, user_id } => AssigneeInput::TeamMember { name, user_id },
    };
    let done = state.services.assign_case(&ctx, id, &input).await?;
    Ok(Json(done.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusRequest {
    pub status: CaseStatusValue,
}

/// Changes an open case's status.
#[utoipa::path(post, path = "/api/v1/cases/{id}/status", tag = "Ärenden",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "Statusen är ändrad", body = Created),
        (status = 404, description = "Ärendet finns inte", body = ErrorBody),
        (status = 409, description = "Ärendet är avslutat eller har redan den statusen", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn change_status(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusRequest>,
) -> Result<Json<Created>, ApiError> {
    let id = uuid_in_path(&id, NO_CASE)?;
    let done = state
        .services
        .change_case_status(&ctx, id, body.status.into())
        .await?;
    Ok(Json(done.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EscalateRequest {
    /// What the integration council should decide or know.
    #[serde(default)]
    pub text: String,
}

/// Escalates a case to the integration council; the id returned is the new item's.
#[utoipa::path(post, path = "/api/v1/cases/{id}/escalate", tag = "Ärenden",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = EscalateRequest,
    responses(
        (status = 201, description = "Ärendet är eskalerat", body = Created),
        (status = 404, description = "Ärendet finns inte", body = ErrorBody),
        (status = 409, description = "Redan eskalerat, eller avslutat", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn escalate(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EscalateRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = uuid_in_path(&id, NO_CASE)?;
    let done = state.services.escalate_case(&ctx, id, &body.text).await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseRequest {
    /// How the case ended.
    #[serde(default)]
    pub resolution: String,
}

/// Closes a case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/close", tag = "Ärenden",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = CloseRequest,
    responses(
        (status = 200, description = "Ärendet är avslutat", body = Created),
        (status = 404, description = "Ärendet finns inte", body = ErrorBody),
        (status = 409, description = "Redan avslutat", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CloseRequest>,
) -> Result<Json<Created>, ApiError> {
    let id = uuid_in_path(&id, NO_CASE)?;
    let done = state
        .services
        .close_case(&ctx, id, &body.resolution)
        .await?;
    Ok(Json(done.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReopenRequest {
    #[serde(default)]
    pub reason: String,
}

/// Reopens a closed case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/reopen", tag = "Ärenden",
    params(("id" = String, Path, description = "Ärendets id")),
    request_body = ReopenRequest,
    responses(
        (status = 200, description = "Ärendet är öppnat igen", body = Created),
        (status = 404, description = "Ärendet finns inte", body = ErrorBody),
        (status = 409, description = "Ärendet är inte avslutat", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn reopen(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReopenRequest>,
) -> Result<Json<Created>, ApiError> {
    let id = uuid_in_path(&id, NO_CASE)?;
    let done = state.services.reopen_case(&ctx, id, &body.reason).await?;
    Ok(Json(done.into()))
}
