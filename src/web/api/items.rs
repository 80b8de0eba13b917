//! Items between forums: raising, acknowledging, answering, closing.

use crate::web::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::json::ApiJson;
use super::types::{Created, ItemKindValue, uuid_in_path};
use crate::app::ItemInput;
use crate::web::AppState;
use crate::web::auth::Ctx;

const NO_ITEM: &str = "Skrivelsen finns inte.";

#[derive(Debug, Deserialize, ToSchema)]
pub struct ItemRequest {
    /// The sending forum: `omradesteam:<område>`, `integrationsrad`, `integrationsberedning`
    /// or `processagare:<process>`.
    #[serde(default)]
    pub from: String,
    /// The receiving forum, written the same way.
    #[serde(default)]
    pub to: String,
    pub kind: Option<ItemKindValue>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub text: String,
    /// The strategy the item concerns, if one.
    pub strategy: Option<String>,
    /// The area the item concerns, if one (implied when sent from or to an area team).
    pub area: Option<String>,
}

/// Raises an item from one forum to another, along the plan's organisation.
#[utoipa::path(post, path = "/api/v1/items", tag = "Forum",
    request_body = ItemRequest,
    responses(
        (status = 201, description = "Skrivelsen är skickad", body = Created),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn raise_item(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(body): ApiJson<ItemRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let input = ItemInput {
        from: body.from,
        to: body.to,
        kind: body.kind.map(Into::into),
        title: body.title,
        text: body.text,
        strategy: body.strategy,
        area: body.area,
    };
    let done = state.services.raise_item(&ctx, &input).await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

/// The receiving forum acknowledges an item.
#[utoipa::path(post, path = "/api/v1/items/{id}/acknowledge", tag = "Forum",
    params(("id" = String, Path, description = "Skrivelsens id")),
    responses(
        (status = 200, description = "Mottagandet är bekräftat", body = Created),
        (status = 404, description = "Skrivelsen finns inte", body = ErrorBody),
        (status = 409, description = "Redan bekräftat, besvarat eller stängt", body = ErrorBody)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<Created>, ApiError> {
    let id = uuid_in_path(&id, NO_ITEM)?;
    let done = state.services.acknowledge_item(&ctx, id).await?;
    Ok(Json(done.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswerRequest {
    #[serde(default)]
    pub text: String,
}

/// The receiving forum answers an item (an escalated case records the answer too).
#[utoipa::path(post, path = "/api/v1/items/{id}/answer", tag = "Forum",
    params(("id" = String, Path, description = "Skrivelsens id")),
    request_body = AnswerRequest,
    responses(
        (status = 200, description = "Svaret är sparat", body = Created),
        (status = 404, description = "Skrivelsen finns inte", body = ErrorBody),
        (status = 409, description = "Redan besvarad eller stängd", body = ErrorBody),
        (status = 422, description = "Ogiltiga uppgifter", body = ErrorBody)))]
pub async fn answer(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AnswerRequest>,
) -> Result<Json<Created>, ApiError> {
    let id = uuid_in_path(&id, NO_ITEM)?;
    let done = state.services.answer_item(&ctx, id, &body.text).await?;
    Ok(Json(done.into()))
}

/// Closes an item.
#[utoipa::path(post, path = "/api/v1/items/{id}/close", tag = "Forum",
    params(("id" = String, Path, description = "Skrivelsens id")),
    responses(
        (status = 200, description = "Skrivelsen är stängd", body = Created),
        (status = 404, description = "Skrivelsen finns inte", body = ErrorBody),
        (status = 409, description = "Redan stängt", body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<Json<Created>, ApiError> {
    let id = uuid_in_path(&id, NO_ITEM)?;
    let done = state.services.close_item(&ctx, id).await?;
    Ok(Json(done.into()))
}
