//! An item between forums: what it says and where it stands, and acknowledging, answering
//! and closing it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use uuid::Uuid;

use crate::access::{Action, permits};
use crate::app::{AppError, Done};
use crate::queries::council::{ItemView, Step};
use crate::queries::timeline::item_kind_label;
use crate::web::AppState;
use crate::web::extract::{FormBody, Query};
use crate::web::pages::components::{
    FormErrors, csrf, first, form_fields, refused, see_other, textarea,
};
use crate::web::pages::layout::error_summary;
use crate::web::pages::{After, Missing, PageUser, error_page, page, settle};
use crate::web::paths;

pub async fn show(
    paths::Item { id }: paths::Item,
    State(state): State<AppState>,
    user: PageUser,
    Query(after): Query<After>,
) -> Response {
    render_item(
        &state,
        &user,
        &id,
        after.efter,
        &FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render_item(
    state: &AppState,
    user: &PageUser,
    id: &str,
    after: Option<i64>,
    errors: &FormErrors,
    status: StatusCode,
) -> Response {
    let missing = || {
        error_page(
            StatusCode::NOT_FOUND,
            "Finns inte",
            "Skrivelsen finns inte.",
        )
    };
    let Ok(item_id) = Uuid::parse_str(id) else {
        return missing();
    };
    settle(state, after, &["council_flow", "secrecy"]).await;
    let actor = user.actor();
    let item = match state.queries.item(&actor, item_id).await {
        Ok(Some(item)) => item,
        Ok(None) => return missing(),
        Err(error) => return refused(error),
    };
    let settle_as = |closing| Action::Settle {
        from: &item.from,
        to: &item.to,
        closing,
    };
    let may_answer = permits(&actor, &settle_as(false));
    let may_close = permits(&actor, &settle_as(true));
    let (plan, areas) = match (
        state.services.plan().await,
        crate::web::pages::components::area_names(state).await,
    ) {
        (Ok(plan), Ok(areas)) => (plan, areas),
        (Err(error), _) | (_, Err(error)) => return refused(error),
    };
    let names = Names {
        from: crate::domain::item::forum_name(&item.from, &plan, &areas),
        to: crate::domain::item::forum_name(&item.to, &plan, &areas),
    };
    let body = page(
        &item.title,
        Some(&user.viewer()),
        item_body(&item, &names, user, errors, may_answer, may_close),
    );
    (status, body).into_response()
}

/// The sending and receiving forums' names, as people know them.
struct Names {
    from: String,
    to: String,
}

/// An item's page: what it says, where it stands, what may be done with it, its history.
fn item_body(
    item: &ItemView,
    names: &Names,
    user: &PageUser,
    errors: &FormErrors,
    may_answer: bool,
    may_close: bool,
) -> Markup {
    use crate::domain::item::ItemStatus;
    let status_now = item.status();
    let item_id = item.item_id;
    let step = |what: &str, step: &Step| {
        html! {
            li {
                p.what { (what) }
                p.meta { (crate::clock::datetime(step.at)) " · " (step.by.as_deref().unwrap_or("")) }
            }
        }
    };
    html! {
        p { a href=(paths::CouncilFlow) { "← Informationsflödet" } }
        h1 { (item.title) }
        dl {
            dt { "Typ" } dd { (item_kind_label(&item.kind)) }
            dt { "Från" } dd { (names.from) }
            dt { "Till" } dd { (names.to) }
            @if let Some(case_id) = item.case_id { dt { "Gäller ärendet" } dd { a href=(paths::case(case_id)) { "Öppna ärendet" } } }
            dt { "Status" } dd { (match status_now { ItemStatus::Raised => "Skickat", ItemStatus::Acknowledged => "Mottaget", ItemStatus::Answered => "Besvarat", ItemStatus::Closed => "Stängt" }) }
        }
        @if !item.text.is_empty() { h2 { "Text" } p { (item.text) } }
        @if let (Some(answer), Some(answered)) = (&item.answer, &item.answered) {
            h2 { "Svar" }
            p { (answer) }
            p.meta { (answered.by.as_deref().unwrap_or("")) ", " (crate::clock::datetime(answered.at)) }
        }
        (error_summary(&errors.0))
        div.actions {
            @if may_answer && status_now == ItemStatus::Raised {
                form method="post" action=(paths::ItemAcknowledge { id: item_id.to_string() }) { (csrf(&user.csrf)) button.secondary type="submit" { "Bekräfta mottagandet" } }
            }
            @if may_answer && matches!(status_now, ItemStatus::Raised | ItemStatus::Acknowledged) {
                form.stack method="post" action=(paths::ItemAnswer { id: item_id.to_string() }) {
                    (csrf(&user.csrf))
                    (textarea("answer", "Svar", "", errors, None))
                    button type="submit" { "Skicka svaret" }
                }
            }
            @if may_close && status_now != ItemStatus::Closed {
                form method="post" action=(paths::ItemClose { id: item_id.to_string() }) { (csrf(&user.csrf)) button.secondary type="submit" { "Stäng skrivelsen" } }
            }
        }
        h2 { "Händelser" }
        ol.timeline {
            (step(&format!("{} från {} till {}: {}", item_kind_label(&item.kind), names.from, names.to, item.title), &item.raised))
            @if let Some(acknowledged) = &item.acknowledged { (step("Mottagandet bekräftades", acknowledged)) }
            @if let Some(answered) = &item.answered { (step("Skrivelsen besvarades", answered)) }
            @if let Some(closed) = &item.closed { (step("Skrivelsen stängdes", closed)) }
        }
    }
}

/// An item's id from its address, or the page that says it does not exist.
fn item_id(id: &str) -> Result<Uuid, Missing> {
    Uuid::parse_str(id).map_err(|_| Missing("Skrivelsen finns inte."))
}

pub async fn acknowledge(
    paths::ItemAcknowledge { id }: paths::ItemAcknowledge,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let item = match item_id(&id) {
        Ok(item) => item,
        Err(missing) => return missing.into_response(),
    };
    let fields = form_fields(&body);
    let outcome = state
        .services
        .acknowledge_item(&user.ctx(&fields), item)
        .await;
    after_item_action(&state, &user, &id, outcome).await
}

pub async fn answer(
    paths::ItemAnswer { id }: paths::ItemAnswer,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let item = match item_id(&id) {
        Ok(item) => item,
        Err(missing) => return missing.into_response(),
    };
    let fields = form_fields(&body);
    let outcome = state
        .services
        .answer_item(&user.ctx(&fields), item, first(&fields, "answer"))
        .await;
    after_item_action(&state, &user, &id, outcome).await
}

pub async fn close(
    paths::ItemClose { id }: paths::ItemClose,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let item = match item_id(&id) {
        Ok(item) => item,
        Err(missing) => return missing.into_response(),
    };
    let fields = form_fields(&body);
    let outcome = state.services.close_item(&user.ctx(&fields), item).await;
    after_item_action(&state, &user, &id, outcome).await
}

/// After acknowledging, answering or closing: back to the item once the council's view
/// holds what was done, or the item's page again with what was wrong.
async fn after_item_action(
    state: &AppState,
    user: &PageUser,
    id: &str,
    outcome: Result<Done, AppError>,
) -> Response {
    match outcome {
        Ok(done) => see_other(&format!("{}?efter={}", paths::item(id), done.position)),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                render_item(
                    state,
                    user,
                    id,
                    None,
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            None => refused(error),
        },
    }
}
