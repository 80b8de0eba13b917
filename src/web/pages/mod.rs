//! The HTML pages, in Swedish, server-rendered with maud. Plain forms that POST and
//! redirect with 303 work without JavaScript; `static/insats.js` only enhances them (the
//! strategy filter box). After a change, the page redirected to carries the change's log
//! position (`?efter=`) and waits, at most about two seconds, until its read models have
//! applied it (read-your-writes).

mod accessibility;
mod admin;
mod area;
pub mod audit;
mod cases;
pub(crate) mod components;
mod council;
mod layout;
mod login;
mod owner;
mod plan;
pub mod rendered;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

pub use layout::{Viewer, page};

use super::AppState;
use super::auth::Caller;
use crate::accounts::User;
use crate::domain::actor::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(start))
        .route("/oversikt", get(admin::overview))
        .route("/logga-in", get(login::show).post(login::submit))
        .route("/logga-ut", post(login::logout))
        .route("/omraden", get(area::list))
        .route("/omraden/{area}", get(area::timeline))
        .route("/omraden/{area}/export.csv", get(area::export_csv))
        .route("/omraden/{area}/export.json", get(area::export_json))
        .route("/omraden/{area}/granskning", post(area::review))
        .route("/omraden/{area}/insatser/ny", get(area::new_activity))
        .route("/omraden/{area}/insatser", post(area::log_activity))
        .route(
            "/omraden/{area}/arenden",
            get(cases::list).post(cases::open),
        )
        .route("/omraden/{area}/arenden/nytt", get(cases::new_case))
        .route("/arenden/{id}", get(cases::show))
        .route("/arenden/{id}/{action}", post(cases::act))
        .route("/forum/{id}", get(council::item))
        .route("/forum/{id}/{action}", post(council::act_on_item))
        .route(
            "/forum/nytt",
            get(council::new_item).post(council::raise_item),
        )
        .route("/planen", get(plan::plan))
        .route("/planen/strategier/{id}", get(plan::strategy))
        .route("/rad/informationsflode", get(council::flow))
        .route("/processagare", get(owner::show))
        .route("/processagare/strategier/{id}/status", post(owner::report))
        .route("/processagare/processer/{id}/beslut", post(owner::decide))
        .route("/granskning", get(audit::start))
        .route("/granskning/strategi", get(audit::chosen))
        .route("/granskning/verifiering", get(audit::verify_log))
        .route("/granskning/strategier/{id}", get(audit::strategy))
        .route("/granskning/strategier/{id}/rapport", get(audit::report))
        .route("/admin", get(admin::show))
        .route("/admin/anvandare", post(admin::add_user))
        .route("/admin/anvandare/stang-av", post(admin::disable_user))
        .route("/admin/omraden", post(admin::add_area))
        .route("/admin/radera", post(admin::erase))
        .route(
            "/tillganglighet",
            get(accessibility::statement).post(accessibility::report),
        )
        .route("/static/insats.css", get(stylesheet))
        .route("/static/insats.js", get(script))
}

/// A signed-in user on a page; anyone else is sent to the login page.
pub struct PageUser {
    pub user: User,
    pub csrf: String,
    /// The request's id, for the events a form's command appends.
    pub request_id: Option<String>,
}

impl PageUser {
    pub fn viewer(&self) -> Viewer<'_> {
        Viewer {
            user: &self.user,
            csrf: &self.csrf,
        }
    }

    pub fn role(&self) -> Role {
        self.user.role()
    }

    pub fn actor(&self) -> crate::domain::actor::Actor {
        self.user.actor()
    }

    /// The command context for a change made from a page's form: it carries the form's
    /// one-time submission, so the same form sent twice records one thing.
    pub fn ctx(
        &self,
        fields: &std::collections::HashMap<String, Vec<String>>,
    ) -> crate::app::CommandContext {
        crate::app::CommandContext::new(self.actor())
            .with_request_id(self.request_id.clone())
            .with_submission(components::submission(fields))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::Session(session)) => Ok(PageUser {
                user: session.user.clone(),
                csrf: session.csrf_token.clone(),
                request_id: parts
                    .headers
                    .get("x-request-id")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned),
            }),
            // A session that ended by itself: the login page says why.
            _ => Err(
                match parts.extensions.get::<crate::accounts::SessionEnd>() {
                    Some(crate::accounts::SessionEnd::Idle) => {
                        Redirect::to("/logga-in?slut=inaktiv")
                    }
                    Some(crate::accounts::SessionEnd::Lifetime) => {
                        Redirect::to("/logga-in?slut=tid")
                    }
                    None => Redirect::to("/logga-in"),
                }
                .into_response(),
            ),
        }
    }
}

/// `?efter=<position>`: the page waits for its read models to have applied that event.
#[derive(Debug, Default, Deserialize)]
pub struct After {
    pub efter: Option<i64>,
}

/// Waits (bounded) until `names` have applied the event at `position`. A page shown after
/// a change waits for it; one shown with a position that names no event is shown as the
/// read models stand.
pub async fn settle(state: &AppState, position: Option<i64>, names: &[&str]) {
    let _ = state.queries.settle(position, names).await;
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

/// Each role lands where its work is.
async fn start(user: PageUser) -> Response {
    let target = match user.role() {
        Role::Omradesteam => user
            .user
            .areas
            .first()
            .map(|area| format!("/omraden/{area}")),
        Role::Integrationsrad => Some("/rad/informationsflode".to_owned()),
        Role::Processagare => Some("/processagare".to_owned()),
        Role::Revisor => Some("/granskning".to_owned()),
        Role::Samordnare => Some("/oversikt".to_owned()),
        Role::Integrationsberedning => Some("/rad/informationsflode".to_owned()),
    };
    match target {
        Some(target) => Redirect::to(&target).into_response(),
        None => page(
            "Start",
            Some(&user.viewer()),
            html! { h1 { "Välkommen" } p { "Ditt konto har inget område ännu. Kontakta verksamhetsutvecklaren för integration." } },
        )
        .into_response(),
    }
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

/// The page's state and user, for handlers that need both.
pub type PageState = State<AppState>;

/// Markup that says nothing was found, in a table or list.
pub fn nothing(text: &str) -> Markup {
    html! { p.hint { (text) } }
}
