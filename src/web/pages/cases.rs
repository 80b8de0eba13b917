//! Cases: the list per area, opening one, and a case's page with its own timeline and its
//! actions (note, assign, status, escalate to the council, close, reopen, secrecy).

use crate::web::extract::FormBody;
use crate::web::extract::{Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::HashMap;
use uuid::Uuid;

use super::components::{
    self, FormErrors, csrf, first, form_fields, input, refused, see_other, select, textarea,
};
use super::{After, PageUser, nothing, page, settle};
use crate::access::{Action, authorize};
use crate::app::{AssigneeInput, CaseInput, SecrecyTarget};
use crate::domain::case::CaseStatus;
use crate::domain::plan::{NodeKind, Plan};
use crate::queries::cases::CaseRow;
use crate::queries::timeline::{TimelineFilter, status_label};
use crate::web::AppState;

const CASE_READS: [&str; 3] = ["cases", "timeline", "secrecy"];

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
    Path(area): Path<String>,
    Query(after): Query<After>,
) -> Response {
    let area = match state.services.require_area(&area).await {
        Ok(area) => area,
        Err(error) => return refused(error),
    };
    settle(&state, after.efter, &CASE_READS).await;
    let rows = match state.queries.case_rows(area.as_str()).await {
        Ok(rows) => rows,
        Err(error) => return refused(error),
    };
    let may_write = authorize(
        &user.actor(),
        &Action::WriteCase {
            area: area.as_str(),
        },
    )
    .is_ok();
    let now = state.services.clock().now();
    page(
        "Ärenden",
        Some(&user.viewer()),
        html! {
            h1 { "Ärenden i " (area) }
            @if may_write { p { a.button href={ "/omraden/" (area) "/arenden/nytt" } { "Nytt ärende" } } }
            @if rows.is_empty() {
                (nothing("Inga ärenden ännu."))
            } @else {
                div.table-scroll {
                    table {
                        caption.visually-hidden { "Ärenden, öppna först" }
                        thead { tr { th scope="col" { "Ärende" } th scope="col" { "Status" } th scope="col" { "Öppnat" } th.number scope="col" { "Ålder (dagar)" } th scope="col" { "Eskalerat" } } }
                        tbody {
                            @for row in &rows {
                                tr {
                                    td { a href={ "/arenden/" (row.case_id) } { (row.title.as_deref().unwrap_or("(utan rubrik)")) } }
                                    td { (status_label(row.status.as_deref().unwrap_or(""))) }
                                    td { (row.opened_at.map(crate::clock::datetime).unwrap_or_default()) }
                                    td.number { (row.age_days(now)) }
                                    td { @if row.open_escalation.is_some() { "Väntar på rådet" } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

fn case_form(
    plan: &Plan,
    area: &str,
    token: &str,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Markup {
    let chosen = |value: &str| {
        values
            .get("strategies")
            .is_some_and(|v| v.iter().any(|s| s == value))
    };
    let strategy_error = errors.get("strategies");
    html! {
        (super::layout::error_summary(&errors.0))
        form.stack method="post" action={ "/omraden/" (area) "/arenden" } novalidate {
            (csrf(token))
            (input("title", "Rubrik", "text", first(values, "title"), errors, Some("Kort, utan namn på personer.")))
            (textarea("description", "Beskrivning", first(values, "description"), errors, None))
            fieldset.field id="strategies" {
                legend { "Strategier (minst en)" }
                (super::layout::field_error("strategies", strategy_error))
                div.field {
                    label for="strategi-filter" { "Sök bland strategierna" }
                    input id="strategi-filter" type="search" data-filter="#strategilista" autocomplete="off";
                    p.hint id="filter-status" role="status" aria-live="polite" {}
                }
                ul.checks id="strategilista" {
                    @for strategy in plan.nodes(NodeKind::Strategy) {
                        li data-filter-text=(strategy.text("title")) {
                            input type="checkbox" id={ "s-" (strategy.id) } name="strategies" value=(strategy.id) checked[chosen(&strategy.id)];
                            label for={ "s-" (strategy.id) } { (strategy.text("title")) }
                        }
                    }
                }
            }
            button type="submit" { "Öppna ärendet" }
        }
    }
}

pub async fn new_case(
    State(state): State<AppState>,
    user: PageUser,
    Path(area): Path<String>,
) -> Response {
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    page("Nytt ärende", Some(&user.viewer()), html! { h1 { "Nytt ärende" } (case_form(&plan, &area, &user.csrf, &HashMap::new(), &FormErrors::default())) }).into_response()
}

pub async fn open(
    State(state): State<AppState>,
    user: PageUser,
    Path(area): Path<String>,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let input = CaseInput {
        title: first(&fields, "title").to_owned(),
        description: first(&fields, "description").to_owned(),
        strategies: fields.get("strategies").cloned().unwrap_or_default(),
    };
    match state
        .services
        .open_case(&user.ctx(&fields), &area, &input)
        .await
    {
        Ok(done) => see_other(&format!("/arenden/{}?efter={}", done.id, done.position)),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                let plan = match state.services.plan().await {
                    Ok(plan) => plan,
                    Err(error) => return refused(error),
                };
                (StatusCode::UNPROCESSABLE_ENTITY, page("Nytt ärende", Some(&user.viewer()), html! { h1 { "Nytt ärende" } (case_form(&plan, &area, &user.csrf, &fields, &errors)) })).into_response()
            }
            None => refused(error),
        },
    }
}

pub async fn show(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    Query(after): Query<After>,
) -> Response {
    render(
        &state,
        &user,
        &id,
        after.efter,
        &FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    user: &PageUser,
    id: &str,
    after: Option<i64>,
    errors: &FormErrors,
    status: StatusCode,
) -> Response {
    let Ok(case_id) = Uuid::parse_str(id) else {
        return super::error_page(StatusCode::NOT_FOUND, "Finns inte", "Ärendet finns inte.");
    };
    settle(state, after, &CASE_READS).await;
    let row = match state.queries.case(case_id).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            return super::error_page(StatusCode::NOT_FOUND, "Finns inte", "Ärendet finns inte.");
        }
        Err(error) => return refused(error),
    };
    let area = row.area.clone().unwrap_or_default();
    let filter = TimelineFilter {
        case_id: Some(case_id),
        ..TimelineFilter::default()
    };
    let items = match state
        .queries
        .timeline(&user.actor(), &area, &filter, None, 500)
        .await
    {
        Ok((items, _)) => items,
        Err(error) => return refused(error),
    };
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let may_write = authorize(&user.actor(), &Action::WriteCase { area: &area }).is_ok();
    let description = items
        .iter()
        .find(|item| item.event_type == "CaseOpened")
        .and_then(|item| {
            item.data
                .get("description")
                .and_then(|d| d.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let notes: Vec<(String, String)> = items
        .iter()
        .filter(|item| item.event_type == "CaseNoteAdded")
        .filter_map(|item| {
            Some((
                item.data.get("note_id")?.as_str()?.to_owned(),
                item.data.get("text")?.as_str()?.chars().take(40).collect(),
            ))
        })
        .collect();
    let title = row.title.clone().unwrap_or_else(|| "Ärende".into());
    let body = page(
        &title,
        Some(&user.viewer()),
        html! {
            p { a href={ "/omraden/" (area) "/arenden" } { "← Ärenden i " (area) } }
            h1 { (title) }
            (summary(&row, &plan, &description))
            @if may_write {
                section aria-labelledby="atgarder" {
                    h2 id="atgarder" { "Åtgärder" }
                    (super::layout::error_summary(&errors.0))
                    (actions(&row, &plan, &user.csrf, errors, &notes))
                }
            }
            section aria-labelledby="historik" {
                h2 id="historik" { "Ärendets tidslinje" }
                ol.timeline { @for item in &items { (super::area::entry(item, &plan)) } }
            }
        },
    );
    (status, body).into_response()
}

fn summary(row: &CaseRow, plan: &Plan, description: &str) -> Markup {
    let assignee = row
        .assignee
        .as_ref()
        .map(|assignee| match assignee["kind"].as_str() {
            Some("process_owner") => format!(
                "Processägaren för {}",
                plan.node(
                    NodeKind::Process,
                    assignee["process"].as_str().unwrap_or("")
                )
                .map(|p| p.text("title"))
                .unwrap_or("")
            ),
            _ => assignee["name"].as_str().unwrap_or("").to_owned(),
        });
    html! {
        dl {
            dt { "Status" } dd { (status_label(row.status.as_deref().unwrap_or(""))) }
            dt { "Öppnat" } dd { (row.opened_at.map(crate::clock::datetime).unwrap_or_default()) }
            @if let Some(assignee) = assignee { dt { "Tilldelat" } dd { (assignee) } }
            @if row.open_escalation.is_some() { dt { "Eskalering" } dd { "Väntar på Integrationsrådets svar" } }
            dt { "Strategier" }
            dd { @for strategy in row.strategies.iter().flatten() { (components::tag(plan.strategy(strategy).map(|s| s.title()).unwrap_or(strategy))) } }
        }
        @if !description.is_empty() { h2 { "Beskrivning" } p { (description) } }
    }
}

fn actions(
    row: &CaseRow,
    plan: &Plan,
    token: &str,
    errors: &FormErrors,
    notes: &[(String, String)],
) -> Markup {
    let id = row.case_id;
    let closed = !row.is_open();
    let mut processes = vec![(String::new(), "Välj process".to_owned())];
    processes.extend(
        plan.nodes(NodeKind::Process)
            .into_iter()
            .map(|p| (p.id.clone(), p.text("title").to_owned())),
    );
    let statuses = [CaseStatus::Ny, CaseStatus::Pagaende, CaseStatus::Vantar].map(|status| {
        (
            serde_json::to_value(status)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned(),
            status.label().to_owned(),
        )
    });
    let mut secret_targets = vec![("description".to_owned(), "Beskrivningen".to_owned())];
    secret_targets.extend(
        notes
            .iter()
            .map(|(id, text)| (format!("note:{id}"), format!("Anteckningen ”{text}…”"))),
    );
    let none = FormErrors::default();
    html! {
        div.actions {
            @if closed {
                form.stack method="post" action={ "/arenden/" (id) "/oppna" } {
                    (csrf(token))
                    (textarea("reason", "Varför öppnas ärendet igen?", "", errors, None))
                    button type="submit" { "Öppna igen" }
                }
            } @else {
                form.stack method="post" action={ "/arenden/" (id) "/anteckning" } {
                    (csrf(token))
                    (textarea("text", "Ny anteckning", "", errors, None))
                    button type="submit" { "Spara anteckningen" }
                }
                form.stack method="post" action={ "/arenden/" (id) "/tilldela" } {
                    (csrf(token))
                    (select("process", "Tilldela processägaren för", &processes, "", errors))
                    (input("name", "… eller en person i teamet", "text", "", errors, None))
                    button type="submit" { "Tilldela" }
                }
                form.stack method="post" action={ "/arenden/" (id) "/status" } {
                    (csrf(token))
                    (select("status", "Status", &statuses, row.status.as_deref().unwrap_or("ny"), &none))
                    button type="submit" { "Ändra status" }
                }
                @if row.open_escalation.is_none() {
                    form.stack method="post" action={ "/arenden/" (id) "/eskalera" } {
                        (csrf(token))
                        (textarea("escalation", "Vad ska Integrationsrådet ta ställning till?", "", errors, Some("Skriv en sammanfattning för rådet. Rådet läser den här texten, även om den sekretessmarkeras, men inte ärendets sekretessmarkerade beskrivning eller anteckningar.")))
                        button type="submit" { "Eskalera till Integrationsrådet" }
                    }
                }
                form.stack method="post" action={ "/arenden/" (id) "/avsluta" } {
                    (csrf(token))
                    (textarea("resolution", "Hur avslutades ärendet?", "", errors, None))
                    button type="submit" { "Avsluta ärendet" }
                }
            }
            form.stack method="post" action={ "/arenden/" (id) "/sekretess" } {
                (csrf(token))
                (select("target", "Sekretessmarkera", &secret_targets, "description", &none))
                div.field.check {
                    input type="checkbox" id="lift" name="lift" value="ja";
                    label for="lift" { "Ta bort markeringen i stället" }
                }
                button.secondary type="submit" { "Ändra sekretess" }
            }
        }
    }
}

/// The case's actions, posted from its page.
pub async fn act(
    State(state): State<AppState>,
    user: PageUser,
    Path((id, action)): Path<(String, String)>,
    FormBody(body): FormBody,
) -> Response {
    let Ok(case_id) = Uuid::parse_str(&id) else {
        return super::error_page(StatusCode::NOT_FOUND, "Finns inte", "Ärendet finns inte.");
    };
    let fields = form_fields(&body);
    let ctx = user.ctx(&fields);
    let services = &state.services;
    let outcome = match action.as_str() {
        "anteckning" => {
            services
                .add_case_note(&ctx, case_id, first(&fields, "text"))
                .await
        }
        "tilldela" => {
            let process = first(&fields, "process");
            let input = if process.is_empty() {
                AssigneeInput::TeamMember {
                    name: first(&fields, "name").to_owned(),
                    user_id: None,
                }
            } else {
                AssigneeInput::ProcessOwner {
                    process: process.to_owned(),
                }
            };
            services.assign_case(&ctx, case_id, &input).await
        }
        "status" => {
            match serde_json::from_value::<CaseStatus>(serde_json::json!(first(&fields, "status")))
            {
                Ok(status) => services.change_case_status(&ctx, case_id, status).await,
                Err(_) => {
                    return super::error_page(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "Okänd status",
                        "Välj en status i listan.",
                    );
                }
            }
        }
        "eskalera" => {
            services
                .escalate_case(&ctx, case_id, first(&fields, "escalation"))
                .await
        }
        "avsluta" => {
            services
                .close_case(&ctx, case_id, first(&fields, "resolution"))
                .await
        }
        "oppna" => {
            services
                .reopen_case(&ctx, case_id, first(&fields, "reason"))
                .await
        }
        "sekretess" => {
            let target = match first(&fields, "target") {
                "description" => SecrecyTarget::CaseDescription(case_id),
                other => match other
                    .strip_prefix("note:")
                    .and_then(|n| Uuid::parse_str(n).ok())
                {
                    Some(note_id) => SecrecyTarget::Note { case_id, note_id },
                    None => {
                        return super::error_page(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "Okänd text",
                            "Välj en text i listan.",
                        );
                    }
                },
            };
            services
                .set_secrecy(&ctx, target, first(&fields, "lift") != "ja")
                .await
        }
        _ => {
            return super::error_page(
                StatusCode::NOT_FOUND,
                "Finns inte",
                "Den åtgärden finns inte.",
            );
        }
    };
    match outcome {
        Ok(done) => see_other(&format!("/arenden/{case_id}?efter={}", done.position)),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                // The escalation's text field is called "escalation" on the page.
                let errors = FormErrors(
                    errors
                        .0
                        .into_iter()
                        .map(|(field, message)| {
                            (
                                if action == "eskalera" && field == "text" {
                                    "escalation".into()
                                } else {
                                    field
                                },
                                message,
                            )
                        })
                        .collect(),
                );
                render(
                    &state,
                    &user,
                    &id,
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
