//! One activity with its history (`/insatser/{id}`: as logged, each correction with its
//! reason, a retraction), and an area's activities that need following up
//! (`/omraden/{area}/uppfoljning`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use uuid::Uuid;

use super::components::{self, refused};
use super::{Missing, PageUser, nothing, page};
use crate::web::AppState;
use crate::web::paths;

/// `/insatser/{id}`
pub async fn show(
    paths::Activity { id }: paths::Activity,
    State(state): State<AppState>,
    user: PageUser,
) -> Response {
    let missing = Missing("Insatsen finns inte.");
    let Ok(activity) = Uuid::parse_str(&id) else {
        return missing.into_response();
    };
    let history = match state.queries.activity(&user.actor(), activity).await {
        Ok(history) => history,
        Err(error) => return refused(error),
    };
    let Some(latest) = history.last() else {
        return missing.into_response();
    };
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let area = components::area_name(&state, &latest.area).await;
    let retracted = latest.event_type == "ActivityRetracted";
    let title = history
        .iter()
        .rev()
        .find_map(|item| item.activity.as_ref().map(|_| item.summary.clone()))
        .unwrap_or_else(|| "Insats".into());
    (
        StatusCode::OK,
        page(
            &title,
            Some(&user.viewer()),
            html! {
                p { a href=(paths::area_timeline(latest.area.clone())) { "← Tidslinjen för " (area) } }
                h1 { (title) }
                @if retracted { p.notice { "Insatsen är återkallad och räknas inte längre." } }
                @if history.len() > 1 { p { "Insatsen har ändrats " (history.len() - 1) " gång" @if history.len() > 2 { "er" } " sedan den loggades. Senaste läget står överst." } }
                h2 { "Så ser insatsen ut nu, och dess historik" }
                ol.timeline { @for item in history.iter().rev() { (super::area::entry(item, &plan)) } }
            },
        ),
    )
        .into_response()
}

/// `/omraden/{area}/uppfoljning`
pub async fn follow_ups(
    paths::AreaFollowUps { area }: paths::AreaFollowUps,
    State(state): State<AppState>,
    user: PageUser,
) -> Response {
    if let Err(error) = state.services.require_area(&area).await {
        return refused(error);
    }
    let items = match state.queries.needing_follow_up(&user.actor(), &area).await {
        Ok(items) => items,
        Err(error) => return refused(error),
    };
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let name = components::area_name(&state, &area).await;
    page(
        &format!("Behöver följas upp: {name}"),
        Some(&user.viewer()),
        html! {
            p { a href=(paths::area_timeline(area.clone())) { "← Tidslinjen för " (name) } }
            h1 { "Insatser som behöver följas upp i " (name) }
            p role="status" { (items.len()) " insatser är markerade ”Behöver följas upp”, nyast först." }
            @if items.is_empty() { (nothing("Inga insatser behöver följas upp.")) }
            ol.timeline { @for item in &items { (super::area::entry(item, &plan)) } }
        },
    )
    .into_response()
}
