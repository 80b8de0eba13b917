//! Cases: the list per area, opening one, and a case's page with its own timeline and its
//! actions (note, assign, status, escalate to the council, close, reopen, secrecy).

use crate::web::extract::FormBody;
use crate::web::extract::Query;
use crate::web::paths;
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
use crate::access::{Action, permits};
use crate::app::{AssigneeInput, CaseInput, SecrecyTarget};
use crate::domain::case::CaseStatus;
use crate::domain::plan::{NodeKind, Plan};
use crate::queries::cases::CaseRow;
use crate::queries::timeline::{Reading, TimelineFilter, TimelineItem, status_label};
use crate::web::AppState;

const CASE_READS: [&str; 3] = ["cases", "timeline", "secrecy"];

pub async fn list(
    paths::AreaCases { area }: paths::AreaCases,
    State(state): State<AppState>,
    user: PageUser,
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
    let may_write = permits(
        &user.actor(),
        &Action::WriteCase {
            area: area.as_str(),
        },
    );
    let now = state.services.clock().now();
    let name = components::area_name(&state, area.as_str()).await;
    page(
        "Ärenden",
        Some(&user.viewer()),
        html! {
            h1 { "Ärenden i " (name) }
            @if may_write { p { a.button href=(paths::NewCase { area: area.to_string() }) { "Nytt ärende" } } }
            @if rows.is_empty() {
                (nothing("Inga ärenden ännu."))
            } @else {
                div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" {
                    table {
                        caption.visually-hidden { "Ärenden, öppna först" }
                        thead { tr { th scope="col" { "Ärende" } th scope="col" { "Status" } th scope="col" { "Öppnat" } th.number scope="col" { "Ålder (dagar)" } th scope="col" { "Eskalerat" } } }
                        tbody {
                            @for row in &rows {
                                tr {
                                    td { a href=(paths::case(row.case_id)) { (row.title.as_deref().unwrap_or("(utan rubrik)")) } }
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
        form.stack method="post" action=(paths::AreaCases { area: area.to_string() }) novalidate {
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
    paths::NewCase { area }: paths::NewCase,
    State(state): State<AppState>,
    user: PageUser,
) -> Response {
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    page("Nytt ärende", Some(&user.viewer()), html! { h1 { "Nytt ärende" } (case_form(&plan, &area, &user.csrf, &HashMap::new(), &FormErrors::default())) }).into_response()
}

pub async fn open(
    paths::AreaCases { area }: paths::AreaCases,
    State(state): State<AppState>,
    user: PageUser,
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
        Ok(done) => see_other(&format!("{}?efter={}", paths::case(done.id), done.position)),
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
    paths::Case { id }: paths::Case,
    State(state): State<AppState>,
    user: PageUser,
    Query(after): Query<CaseQuery>,
) -> Response {
    let view = View {
        after: after.efter,
        errors: &FormErrors::default(),
        status: StatusCode::OK,
        notice: after.klart.as_deref().and_then(done_notice),
    };
    render(&state, &user, &id, view).await
}

/// What a case's page is shown after: a change (`efter`), and which (`klart`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct CaseQuery {
    pub efter: Option<i64>,
    pub klart: Option<String>,
}

/// The confirmation after a case's action, by the action's word in the address.
fn done_notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "anteckning" => "Anteckningen är sparad och syns i ärendets tidslinje.",
        "tilldelning" => "Ärendet är tilldelat.",
        "status" => "Statusen är ändrad.",
        "eskalering" => "Ärendet är eskalerat till Integrationsrådet.",
        "avslutat" => "Ärendet är avslutat.",
        "oppnat" => "Ärendet är öppnat igen.",
        "sekretess" => "Sekretessmarkeringen är ändrad.",
        _ => return None,
    })
}

/// How a case's page is shown: after which change, with which errors and status, and the
/// confirmation of what was just done.
struct View<'a> {
    after: Option<i64>,
    errors: &'a FormErrors,
    status: StatusCode,
    notice: Option<&'static str>,
}

async fn render(state: &AppState, user: &PageUser, id: &str, view: View<'_>) -> Response {
    let View {
        after,
        errors,
        status,
        notice,
    } = view;
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
    let area_name = components::area_name(state, &area).await;
    let filter = TimelineFilter {
        case_id: Some(case_id),
        ..TimelineFilter::default()
    };
    let items = match state
        .queries
        .timeline(&user.actor(), Reading::WithData, &area, &filter, None, 500)
        .await
    {
        Ok((items, _)) => items,
        Err(error) => return refused(error),
    };
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let may_write = permits(&user.actor(), &Action::WriteCase { area: &area });
    let (description, notes) = description_and_notes(&items);
    let title = row.title.clone().unwrap_or_else(|| "Ärende".into());
    let body = page(
        &title,
        Some(&user.viewer()),
        html! {
            p { a href=(paths::AreaCases { area: area.to_string() }) { "← Ärenden i " (area_name) } }
            h1 { (title) }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
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

/// The case's description and its notes (id and beginning, for the secrecy form), as the
/// viewer may read them.
fn description_and_notes(items: &[TimelineItem]) -> (String, Vec<(String, String)>) {
    let text = |item: &TimelineItem, field: &str| {
        item.texts
            .iter()
            .find(|text| text.field == field)
            .map(|text| text.shown().to_owned())
    };
    let note_id = |item: &TimelineItem| {
        item.data
            .as_ref()?
            .get("note_id")?
            .as_str()
            .map(str::to_owned)
    };
    let description = items
        .iter()
        .find(|item| item.event_type == "CaseOpened")
        .and_then(|item| text(item, "description"))
        .unwrap_or_default();
    let notes = items
        .iter()
        .filter(|item| item.event_type == "CaseNoteAdded")
        .filter_map(|item| {
            let beginning = text(item, "text")?.chars().take(40).collect();
            Some((note_id(item)?, beginning))
        })
        .collect();
    (description, notes)
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
    html! {
        div.actions {
            @if row.is_open() {
                (open_case_forms(row, plan, token, errors))
            } @else {
                form.stack method="post" action=(paths::CaseReopen { id: id.to_string() }) {
                    (csrf(token))
                    (textarea("reason", "Varför öppnas ärendet igen?", "", errors, None))
                    button type="submit" { "Öppna igen" }
                }
            }
            (secrecy_form(id, token, notes))
        }
    }
}

/// What may be done with an open case: a note, an assignment, a status, an escalation (when
/// none is open) and closing it.
fn open_case_forms(row: &CaseRow, plan: &Plan, token: &str, errors: &FormErrors) -> Markup {
    let id = row.case_id;
    let mut processes = vec![(String::new(), "Välj process".to_owned())];
    processes.extend(
        plan.nodes(NodeKind::Process)
            .into_iter()
            .map(|p| (p.id.clone(), p.text("title").to_owned())),
    );
    let statuses = [CaseStatus::Ny, CaseStatus::Pagaende, CaseStatus::Vantar].map(|status| {
        let stored = serde_json::to_value(status).ok();
        let stored = stored.as_ref().and_then(|v| v.as_str()).unwrap_or_default();
        (stored.to_owned(), status.label().to_owned())
    });
    let none = FormErrors::default();
    html! {
        form.stack method="post" action=(paths::CaseNote { id: id.to_string() }) {
            (csrf(token))
            (textarea("text", "Ny anteckning", "", errors, None))
            button type="submit" { "Spara anteckningen" }
        }
        form.stack method="post" action=(paths::CaseAssign { id: id.to_string() }) {
            (csrf(token))
            (select("process", "Tilldela processägaren för", &processes, "", errors))
            (input("name", "… eller en person i teamet", "text", "", errors, None))
            button type="submit" { "Tilldela" }
        }
        form.stack method="post" action=(paths::CaseStatus { id: id.to_string() }) {
            (csrf(token))
            (select("status", "Status", &statuses, row.status.as_deref().unwrap_or("ny"), &none))
            button type="submit" { "Ändra status" }
        }
        @if row.open_escalation.is_none() {
            form.stack method="post" action=(paths::CaseEscalate { id: id.to_string() }) {
                (csrf(token))
                (textarea("escalation", "Vad ska Integrationsrådet ta ställning till?", "", errors, Some("Skriv en sammanfattning för rådet. Rådet läser den här texten, även om den sekretessmarkeras, men inte ärendets sekretessmarkerade beskrivning eller anteckningar.")))
                button type="submit" { "Eskalera till Integrationsrådet" }
            }
        }
        form.stack method="post" action=(paths::CaseClose { id: id.to_string() }) {
            (csrf(token))
            (textarea("resolution", "Hur avslutades ärendet?", "", errors, None))
            button type="submit" { "Avsluta ärendet" }
        }
    }
}

/// Marking the description or a note secret, or lifting the mark.
fn secrecy_form(id: Uuid, token: &str, notes: &[(String, String)]) -> Markup {
    let mut secret_targets = vec![("description".to_owned(), "Beskrivningen".to_owned())];
    secret_targets.extend(
        notes
            .iter()
            .map(|(id, text)| (format!("note:{id}"), format!("Anteckningen ”{text}…”"))),
    );
    html! {
        form.stack method="post" action=(paths::CaseSecrecy { id: id.to_string() }) {
            (csrf(token))
            (select("target", "Sekretessmarkera", &secret_targets, "description", &FormErrors::default()))
            div.field.check {
                input type="checkbox" id="lift" name="lift" value="ja";
                label for="lift" { "Ta bort markeringen i stället" }
            }
            button.secondary type="submit" { "Ändra sekretess" }
        }
    }
}

/// What a case's form sent: the case, its fields and the command's context.
struct CaseForm {
    case_id: Uuid,
    fields: HashMap<String, Vec<String>>,
    ctx: crate::app::CommandContext,
}

impl CaseForm {
    fn read(id: &str, user: &PageUser, body: &[u8]) -> Result<Self, super::Missing> {
        let case_id = Uuid::parse_str(id).map_err(|_| super::Missing("Ärendet finns inte."))?;
        let fields = form_fields(body);
        let ctx = user.ctx(&fields);
        Ok(Self {
            case_id,
            fields,
            ctx,
        })
    }

    fn field(&self, name: &str) -> &str {
        first(&self.fields, name)
    }
}

/// After a case's command: back to the case, or the case with the form's errors (named as
/// the page names its fields: `renamed` maps the command's field to the page's).
async fn after_case_action(
    state: &AppState,
    user: &PageUser,
    form: &CaseForm,
    outcome: Result<crate::app::Done, crate::app::AppError>,
    renamed: Option<(&str, &str)>,
    done_what: &str,
) -> Response {
    match outcome {
        Ok(done) => see_other(&format!(
            "{}?efter={}&klart={done_what}",
            paths::case(form.case_id),
            done.position
        )),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                let errors = FormErrors(
                    errors
                        .0
                        .into_iter()
                        .map(|(field, message)| match renamed {
                            Some((from, to)) if field == from => (to.to_owned(), message),
                            _ => (field, message),
                        })
                        .collect(),
                );
                let id = form.case_id.to_string();
                let view = View {
                    after: None,
                    errors: &errors,
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    notice: None,
                };
                render(state, user, &id, view).await
            }
            None => refused(error),
        },
    }
}

pub async fn note(
    paths::CaseNote { id }: paths::CaseNote,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let form = match CaseForm::read(&id, &user, &body) {
        Ok(form) => form,
        Err(missing) => return missing.into_response(),
    };
    let outcome = state
        .services
        .add_case_note(&form.ctx, form.case_id, form.field("text"))
        .await;
    after_case_action(&state, &user, &form, outcome, None, "anteckning").await
}

pub async fn assign(
    paths::CaseAssign { id }: paths::CaseAssign,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let form = match CaseForm::read(&id, &user, &body) {
        Ok(form) => form,
        Err(missing) => return missing.into_response(),
    };
    let process = form.field("process");
    let input = if process.is_empty() {
        let name = form.field("name").trim().to_owned();
        AssigneeInput::TeamMember {
            user_id: team_member(&state, &name).await,
            name,
        }
    } else {
        AssigneeInput::ProcessOwner {
            process: process.to_owned(),
        }
    };
    let outcome = state
        .services
        .assign_case(&form.ctx, form.case_id, &input)
        .await;
    after_case_action(&state, &user, &form, outcome, None, "tilldelning").await
}

/// The account of the area team member with this name, when exactly one enabled one has
/// it: the case is then theirs, and they are reminded of it ("Att göra", mail).
async fn team_member(state: &AppState, name: &str) -> Option<uuid::Uuid> {
    let users = state.accounts.list().await.ok()?;
    let mut named = users.iter().filter(|user| {
        user.disabled_at.is_none()
            && user.role() == crate::domain::actor::Role::Omradesteam
            && user.name.trim().eq_ignore_ascii_case(name)
    });
    match (named.next(), named.next()) {
        (Some(user), None) => Some(user.user_id),
        _ => None,
    }
}

pub async fn status(
    paths::CaseStatus { id }: paths::CaseStatus,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let form = match CaseForm::read(&id, &user, &body) {
        Ok(form) => form,
        Err(missing) => return missing.into_response(),
    };
    let Ok(status) = serde_json::from_value::<CaseStatus>(serde_json::json!(form.field("status")))
    else {
        return super::error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Okänd status",
            "Välj en status i listan.",
        );
    };
    let outcome = state
        .services
        .change_case_status(&form.ctx, form.case_id, status)
        .await;
    after_case_action(&state, &user, &form, outcome, None, "status").await
}

pub async fn escalate(
    paths::CaseEscalate { id }: paths::CaseEscalate,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let form = match CaseForm::read(&id, &user, &body) {
        Ok(form) => form,
        Err(missing) => return missing.into_response(),
    };
    let outcome = state
        .services
        .escalate_case(&form.ctx, form.case_id, form.field("escalation"))
        .await;
    // The escalation's text field is called "escalation" on the page.
    after_case_action(
        &state,
        &user,
        &form,
        outcome,
        Some(("text", "escalation")),
        "eskalering",
    )
    .await
}

pub async fn close(
    paths::CaseClose { id }: paths::CaseClose,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let form = match CaseForm::read(&id, &user, &body) {
        Ok(form) => form,
        Err(missing) => return missing.into_response(),
    };
    let outcome = state
        .services
        .close_case(&form.ctx, form.case_id, form.field("resolution"))
        .await;
    after_case_action(&state, &user, &form, outcome, None, "avslutat").await
}

pub async fn reopen(
    paths::CaseReopen { id }: paths::CaseReopen,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let form = match CaseForm::read(&id, &user, &body) {
        Ok(form) => form,
        Err(missing) => return missing.into_response(),
    };
    let outcome = state
        .services
        .reopen_case(&form.ctx, form.case_id, form.field("reason"))
        .await;
    after_case_action(&state, &user, &form, outcome, None, "oppnat").await
}

pub async fn secrecy(
    paths::CaseSecrecy { id }: paths::CaseSecrecy,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let form = match CaseForm::read(&id, &user, &body) {
        Ok(form) => form,
        Err(missing) => return missing.into_response(),
    };
    let case_id = form.case_id;
    let target = match form.field("target") {
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
    let outcome = state
        .services
        .set_secrecy(&form.ctx, target, form.field("lift") != "ja")
        .await;
    after_case_action(&state, &user, &form, outcome, None, "sekretess").await
}
