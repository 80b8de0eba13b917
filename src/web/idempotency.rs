//! `Idempotency-Key` on the API's POSTs (as in the IETF draft of that name): a client that
//! retries a request after a time-out sends the same key, and Insats records the request
//! once. The key, with the caller, names the request; a fingerprint of the method, the
//! path and the body tells a retry from another request under the same key. The command
//! itself does the rest (`app::submission`): the same key with the same body gets the
//! first answer without appending again, with another body 422.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api::error::ApiError;
use crate::app::Submission;

/// The header's name.
pub const HEADER: &str = "idempotency-key";

/// Reads an API POST's `Idempotency-Key` and body, and hands the command its submission.
pub async fn api_keys(request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let Some(value) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    // A structured-field string ("…") as the draft has it, or the bare key.
    let key = value
        .to_str()
        .ok()
        .map(|text| text.trim())
        .map(|text| {
            text.strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .unwrap_or(text)
        })
        .unwrap_or("")
        .to_owned();
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, super::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Kroppen är för stor.")
                .into_response();
        }
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |target| target.as_str());
    let fingerprint =
        Submission::fingerprint([parts.method.as_str().as_bytes(), target.as_bytes(), &bytes]);
    let Some(submission) = Submission::new(&key, fingerprint) else {
        return ApiError::field(
            StatusCode::BAD_REQUEST,
            "Idempotency-Key",
            "Idempotency-Key ska vara 1–255 synliga tecken (till exempel ett UUID).",
        )
        .into_response();
    };
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(submission);
    next.run(request).await
}
