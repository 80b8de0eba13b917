//! The HTML pages, in Swedish, server-rendered with maud. Plain forms that POST and
//! redirect with 303 work without JavaScript; `static/insats.js` only enhances them (the
//! strategy filter box). After a change, the page redirected to carries the change's log
//! position (`?efter=`) and waits, at most about two seconds, until its read models have
//! applied it (read-your-writes).

mod accessibility;
mod activity;
mod admin;
mod area;
pub mod audit;
mod cases;
pub(crate) mod components;
pub mod council;
pub(crate) mod indicators;
pub(crate) mod layout;
mod login;
mod owner;
mod plan;
pub mod rendered;
mod reports;
mod search;
pub mod todo;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::routing::RouterExt;
use maud::{Markup, html};
use serde::Deserialize;

pub use layout::{Viewer, page};

use super::auth::Caller;
use super::{AppState, paths};
use crate::accounts::User;
use crate::domain::actor::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .typed_get(start)
        .typed_get(admin::overview)
        .typed_get(login::show)
        .typed_post(login::submit)
        .typed_post(login::logout)
        .typed_get(area::list)
        .typed_get(search::search)
        .typed_get(activity::show)
        .typed_get(activity::follow_ups)
        .typed_get(area::timeline)
        .typed_get(area::export_csv)
        .typed_get(area::export_json)
        .typed_get(area::review_page)
        .typed_post(area::review)
        .typed_get(area::new_activity)
        .typed_post(area::log_activity)
        .typed_get(cases::list)
        .typed_post(cases::open)
        .typed_get(cases::new_case)
        .typed_get(cases::show)
        .typed_post(cases::reopen)
        .typed_post(cases::note)
        .typed_post(cases::assign)
        .typed_post(cases::status)
        .typed_post(cases::escalate)
        .typed_post(cases::close)
        .typed_post(cases::secrecy)
        .typed_get(council::item::show)
        .typed_post(council::item::acknowledge)
        .typed_post(council::item::answer)
        .typed_post(council::item::close)
        .typed_get(council::new_item::form)
        .typed_post(council::new_item::raise)
        .typed_get(plan::plan)
        .typed_get(plan::strategy)
        .typed_get(indicators::list)
        .typed_get(indicators::show)
        .typed_post(indicators::enter)
        .typed_get(council::flow::flow)
        .typed_get(council::open_items::list)
        .typed_get(owner::show)
        .typed_post(owner::report)
        .typed_post(owner::decide)
        .typed_get(audit::start)
        .typed_get(audit::chosen)
        .typed_get(audit::verify_log)
        .typed_get(audit::strategy)
        .typed_get(audit::report)
        .typed_get(reports::list)
        .typed_post(reports::set_cycle)
        .typed_get(reports::show)
        .typed_get(reports::pdf)
        .typed_get(reports::csv)
        .typed_post(reports::issue)
        .typed_get(reports::issued)
        .typed_post(reports::send)
        .typed_get(reports::audit)
        .typed_post(reports::check)
        .typed_get(todo::list)
        .typed_post(todo::mail)
        .typed_post(todo::rules)
        .typed_get(admin::show)
        .typed_post(admin::add_user)
        .typed_post(admin::disable_user)
        .typed_post(admin::add_area)
        .typed_post(admin::erase)
        .typed_get(accessibility::statement)
        .typed_post(accessibility::report)
        .typed_get(stylesheet)
        .typed_get(script)
}

/// A signed-in user on a page; anyone else is sent to the login page.
pub struct PageUser {
    pub user: User,
    pub csrf: String,
    /// How many things are due for them (the count beside "Att göra" in the header).
    pub todo: Option<usize>,
    /// The request's id, for the events a form's command appends.
    pub request_id: Option<String>,
}

impl PageUser {
    pub fn viewer(&self) -> Viewer<'_> {
        Viewer {
            user: &self.user,
            csrf: &self.csrf,
            todo: self.todo,
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

/// How many things are due for the person (the header's count). A page shown after their
/// change (`?efter=`) first waits, bounded, for the read models the count reads, and counts
/// afresh; any other trusts a check made a moment ago.
async fn todo_count(
    state: &AppState,
    parts: &Parts,
    actor: &crate::domain::actor::Actor,
) -> Option<usize> {
    let after = parts.uri.query().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "efter")
            .and_then(|(_, value)| value.parse::<i64>().ok())
    });
    let counted = match after {
        Some(position) => {
            let _ = state
                .queries
                .settle(Some(position), &crate::queries::todo::READS)
                .await;
            state.queries.todo_count_now(actor).await
        }
        None => state.queries.todo_count(actor).await,
    };
    counted
        .inspect_err(|error| tracing::warn!(error = %error, "counting what is due failed"))
        .ok()
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::Session(session)) => Ok(PageUser {
                user: session.user.clone(),
                csrf: session.csrf_token.clone(),
                // The count is a help, not the page: a failure to count leaves it out.
                todo: todo_count(state, parts, &session.user.actor()).await,
                request_id: parts
                    .headers
                    .get("x-request-id")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned),
            }),
            // A session that ended by itself: the login page says why.
            _ => {
                let login = paths::Login.to_string();
                Err(
                    match parts.extensions.get::<crate::accounts::SessionEnd>() {
                        Some(crate::accounts::SessionEnd::Idle) => {
                            Redirect::to(&format!("{login}?slut=inaktiv"))
                        }
                        Some(crate::accounts::SessionEnd::Lifetime) => {
                            Redirect::to(&format!("{login}?slut=tid"))
                        }
                        None => Redirect::to(&login),
                    }
                    .into_response(),
                )
            }
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

/// A thing named in an address that does not exist, as a 404 page that says what it is
/// (for example "Ärendet finns inte.").
#[derive(Debug, Clone, Copy)]
pub struct Missing(pub &'static str);

impl IntoResponse for Missing {
    fn into_response(self) -> Response {
        error_page(StatusCode::NOT_FOUND, "Finns inte", self.0)
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
            p { a href=(paths::Start) { "Till startsidan" } }
        },
    );
    (status, body).into_response()
}

/// Each role lands where its work is.
async fn start(_: paths::Start, user: PageUser) -> Response {
    let target = match user.role() {
        Role::Omradesteam => user
            .user
            .areas
            .first()
            .map(|area| paths::area_timeline(area).to_string()),
        Role::Integrationsrad | Role::Integrationsberedning => Some(paths::CouncilFlow.to_string()),
        Role::Processagare => Some(paths::Owner.to_string()),
        Role::Revisor => Some(paths::Audit.to_string()),
        Role::Samordnare => Some(paths::Overview.to_string()),
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

async fn stylesheet(_: paths::Stylesheet) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../static/insats.css"),
    )
}

async fn script(_: paths::Script) -> impl IntoResponse {
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
