//! The HTML pages, in Swedish, server-rendered with maud. Plain forms that POST and
//! redirect with 303 work without JavaScript; `static/insats.js` only enhances them.

mod layout;
mod login;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};

pub use layout::{Viewer, page};

use super::AppState;
use super::auth::Caller;
use crate::accounts::User;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(start))
        .route("/logga-in", get(login::show).post(login::submit))
        .route("/logga-ut", post(login::logout))
        .route("/static/insats.css", get(stylesheet))
        .route("/static/insats.js", get(script))
}

/// A signed-in user on a page; anyone else is sent to the login page.
pub struct PageUser {
    pub user: User,
    pub csrf: String,
}

impl PageUser {
    pub fn viewer(&self) -> Viewer<'_> {
        Viewer {
            user: &self.user,
            csrf: &self.csrf,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::Session(session)) => Ok(PageUser {
                user: session.user.clone(),
                csrf: session.csrf_token.clone(),
            }),
            _ => Err(Redirect::to("/logga-in").into_response()),
        }
    }
}

/// An error as a page, with the status it belongs to.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = page(
        title,
        None,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/" { "Till startsidan" } }
        },
    );
    (status, body).into_response()
}

async fn start(user: PageUser) -> Markup {
    page(
        "Start",
        Some(&user.viewer()),
        html! {
            h1 { "Välkommen, " (user.user.name) }
            p { "Du är inloggad som " (user.user.role().label()) "." }
        },
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/insats.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/insats.js"),
    )
}
