//! Who is calling: the [`Ctx`] extractor gives every handler the acting user and the
//! request's id, as the command context whose actor goes into each event's metadata.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::api::error::ApiError;
use crate::app::CommandContext;
use crate::domain::actor::Actor;

/// The acting user and the request, for commands.
pub struct Ctx(pub CommandContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        // Until accounts exist every request acts as Insats itself.
        Ok(Ctx(
            CommandContext::new(Actor::system()).with_request_id(request_id)
        ))
    }
}
