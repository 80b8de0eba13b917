//! Who is calling, resolved once per request: a session cookie (pages) or a bearer token
//! (machine clients). State-changing requests that rely on the session cookie must carry
//! the session's CSRF token (header `x-csrf-token`, or the form field `csrf`).
//!
//! Handlers take [`Ctx`] (commands: the acting user and the request id) or [`Reader`]
//! (reads). Neither ever takes the actor from the request body.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::api::error::ApiError;
use crate::accounts::{Session, SessionEnd, SessionLookup, User};
use crate::app::CommandContext;
use crate::domain::actor::Actor;

/// The session cookie. The `__Host-` prefix binds it to this host, over HTTPS, on `/`;
/// browsers treat `http://localhost` as secure too, so local plain-HTTP use works.
pub const SESSION_COOKIE: &str = "__Host-insats";
/// Without HTTPS on another host (`INSATS_INSECURE_COOKIES=1`), this one is used.
pub const INSECURE_SESSION_COOKIE: &str = "insats";

/// Who made the request.
#[derive(Clone, Debug)]
pub enum Caller {
    Anonymous,
    Session(Session),
    Token(User),
}

impl Caller {
    pub fn user(&self) -> Option<&User> {
        match self {
            Caller::Anonymous => None,
            Caller::Session(session) => Some(&session.user),
            Caller::Token(user) => Some(user),
        }
    }

    pub fn csrf_token(&self) -> Option<&str> {
        match self {
            Caller::Session(session) => Some(&session.csrf_token),
            _ => None,
        }
    }
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Resolves the caller, checks CSRF, and puts the caller in the request's extensions.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (caller, ended) = match resolve(&state, request.headers()).await {
        Ok(resolved) => resolved,
        // The database did not answer: the API's error shape under /api/, a page elsewhere.
        Err(error) if request.uri().path().starts_with("/api/") => {
            return ApiError::from(crate::app::AppError::from(error)).into_response();
        }
        Err(error) => return super::pages::components::refused(crate::app::AppError::from(error)),
    };
    let mut request = request;
    if let Caller::Session(session) = &caller
        && is_state_changing(request.method())
    {
        let (checked, rebuilt) = csrf_ok(request, &session.csrf_token).await;
        request = rebuilt;
        if !checked {
            tracing::warn!(user = %session.user.user_id, "refused a request without a valid CSRF token");
            return forbidden_csrf(request.uri().path());
        }
    }
    request.extensions_mut().insert(caller);
    if let Some(end) = ended {
        request.extensions_mut().insert(end);
    }
    let mut response = next.run(request).await;
    if ended.is_some() {
        // The browser forgets the ended session's cookie.
        response
            .headers_mut()
            .append(header::SET_COOKIE, state.clear_session_cookie());
    }
    response
}

async fn resolve(
    state: &AppState,
    headers: &HeaderMap,
) -> sqlx::Result<(Caller, Option<SessionEnd>)> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    {
        return Ok((
            match state.accounts.token_user(token.trim()).await? {
                Some(user) => Caller::Token(user),
                None => Caller::Anonymous,
            },
            None,
        ));
    }
    let Some(value) = cookie(headers, state.session_cookie()) else {
        return Ok((Caller::Anonymous, None));
    };
    Ok(match state.accounts.session(value).await? {
        SessionLookup::Active(session) => (Caller::Session(*session), None),
        SessionLookup::Ended(end) => (Caller::Anonymous, Some(end)),
        SessionLookup::Unknown => (Caller::Anonymous, None),
    })
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request carries the session's CSRF token, in the header or (for forms) in
/// the field `csrf`. Returns the request, rebuilt when its body was read.
async fn csrf_ok(request: Request, expected: &str) -> (bool, Request) {
    let matches = |given: &str| constant_time_eq(given.as_bytes(), expected.as_bytes());
    if let Some(given) = request
        .headers()
        .get("x-csrf-token")
        .and_then(|value| value.to_str().ok())
    {
        let ok = matches(given);
        return (ok, request);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // A form with a file: its `csrf` field, read from the whole body.
    if content_type.starts_with("multipart/form-data") {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, super::extract::UPLOAD_LIMIT).await else {
            return (false, Request::from_parts(parts, Body::empty()));
        };
        let ok = super::extract::multipart_fields(&content_type, bytes.clone())
            .await
            .is_some_and(|fields| {
                fields.iter().any(|field| {
                    field.name == "csrf" && std::str::from_utf8(&field.bytes).is_ok_and(&matches)
                })
            });
        return (ok, Request::from_parts(parts, Body::from(bytes)));
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return (false, request);
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, super::BODY_LIMIT).await else {
        return (false, Request::from_parts(parts, Body::empty()));
    };
    let ok = form_urlencoded::parse(&bytes).any(|(key, value)| key == "csrf" && matches(&value));
    (ok, Request::from_parts(parts, Body::from(bytes)))
}

use super::form_token::constant_time_eq;

fn forbidden_csrf(path: &str) -> Response {
    if path.starts_with("/api/") {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "Förfrågan saknar en giltig CSRF-token (skicka sessionens token i x-csrf-token).",
        )
        .into_response()
    } else {
        super::pages::error_page(
            StatusCode::FORBIDDEN,
            "Formuläret har gått ut",
            "Sidan var för gammal för att skicka. Gå tillbaka, ladda om sidan och försök igen.",
        )
    }
}

fn caller(parts: &Parts) -> Caller {
    parts
        .extensions
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Anonymous)
}

fn unauthenticated() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Logga in, eller skicka en API-nyckel i Authorization: Bearer.",
    )
}

/// The acting user and the request, for commands. 401 without a login or a token.
pub struct Ctx(pub CommandContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let user = caller(parts).user().cloned().ok_or_else(unauthenticated)?;
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let submission = parts.extensions.get::<crate::app::Submission>().cloned();
        Ok(Ctx(CommandContext::new(user.actor())
            .with_request_id(request_id)
            .with_submission(submission)))
    }
}

/// The signed-in user, for reads. 401 without a login or a token.
pub struct Reader(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let user = caller(parts).user().cloned().ok_or_else(unauthenticated)?;
        let actor = user.actor();
        crate::access::authorize(&actor, &crate::access::Action::Read)
            .map_err(|refusal| ApiError::new(StatusCode::FORBIDDEN, refusal.0))?;
        Ok(Reader(actor))
    }
}

/// A signed-in caller who may audit (the auditor and the coordinator), for the API.
pub struct Auditor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Auditor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let user = caller(parts).user().cloned().ok_or_else(unauthenticated)?;
        let actor = user.actor();
        crate::access::authorize(&actor, &crate::access::Action::Audit)
            .map_err(|refusal| ApiError::new(StatusCode::FORBIDDEN, refusal.0))?;
        Ok(Auditor(actor))
    }
}

/// The caller as it is, signed in or not (for pages that decide themselves).
pub struct MaybeCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeCaller(caller(parts)))
    }
}
