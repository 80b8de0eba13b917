//! The coordinator's pages: an overview to land on, and administration of users, areas,
//! erasures of personal data, and the accessibility reports.

use crate::web::extract::FormBody;
use crate::web::extract::Query;
use crate::web::paths;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::HashMap;

use super::components::{
    self, FormErrors, csrf, first, form_fields, input, refused, see_other, select, textarea,
};
use super::{PageUser, nothing, page, settle};
use crate::access::{Action, authorize};
use crate::accounts::NewUser;
use crate::app::{AppError, ErasureTarget};
use crate::domain::actor::Role;
use crate::projections::status;
use crate::web::AppState;

/// The refusal page for anyone but the coordinator.
fn unless_coordinator(user: &PageUser) -> Option<Response> {
    authorize(&user.actor(), &Action::Administer)
        .err()
        .map(|refusal| refused(AppError::Forbidden(refusal.0)))
}

/// The coordinator's landing page: the areas, the state of the read models, shortcuts.
pub async fn overview(
    _: paths::Overview,
    State(state): State<AppState>,
    user: PageUser,
) -> Response {
    let areas = match state.services.areas().await {
        Ok(areas) => areas,
        Err(error) => return refused(error),
    };
    let projections = status::all(&state.pool).await.unwrap_or_default();
    let open_cases: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cases WHERE status <> 'avslutad'")
            .fetch_one(&state.pool)
            .await
            .unwrap_or(0);
    let open_items: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM flow_items WHERE closed_at IS NULL AND answered_at IS NULL",
    )
    .fetch_one(&state.pool)
    .await
    .unwrap_or(0);
    let indicators = state
        .queries
        .indicators(&state.settings.units)
        .await
        .unwrap_or_default();
    page(
        "Översikt",
        Some(&user.viewer()),
        html! {
            h1 { "Översikt" }
            ul.cards {
                li { h2 { "Öppna ärenden" } p { (open_cases) } }
                li { h2 { "Skrivelser mellan forumen som väntar på svar" } p { (open_items) } p { a href=(paths::CouncilFlow) { "Informationsflödet" } } }
            }
            (super::indicators::moved_the_wrong_way(&indicators))
            h2 { "Områden" }
            ul { @for area in areas.all() { li { a href=(paths::area_timeline(area.id.to_string())) { (area.name) } } } }
            h2 { "Är sidorna aktuella?" }
            @let behind: i64 = projections.iter().map(|p| p.lag_events).sum();
            p { @if behind == 0 { "Ja: allt som har registrerats syns på sidorna." } @else { "Nästan: " (behind) " nya händelser håller på att läsas in och syns om en stund." } }
            details {
                summary { "Tekniska detaljer" }
                div.table-scroll tabindex="0" role="region" aria-label="Läsmodellerna" {
                    table {
                        thead { tr { th scope="col" { "Läsmodell" } th.number scope="col" { "Position" } th.number scope="col" { "Efter (händelser)" } th scope="col" { "Väntar" } } }
                        tbody { @for p in &projections { tr { th scope="row" { (p.name) } td.number { (p.position) } td.number { (p.lag_events) } td { (p.waiting.as_deref().unwrap_or("–")) } } } }
                    }
                }
            }
        },
    )
    .into_response()
}

fn user_form(
    token: &str,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
    areas: &[(String, String)],
    processes: &[(String, String)],
) -> Markup {
    let roles: Vec<(String, String)> = Role::ALL
        .iter()
        .map(|role| (role.as_str().to_owned(), role.label().to_owned()))
        .collect();
    let mut area_options = vec![(String::new(), "Inget".to_owned())];
    area_options.extend(areas.iter().cloned());
    let mut process_options = vec![(String::new(), "Ingen".to_owned())];
    process_options.extend(processes.iter().cloned());
    html! {
        form.stack method="post" action=(paths::AdminUsers) novalidate {
            (csrf(token))
            (input("email", "E-postadress", "email", first(values, "email"), errors, None))
            (input("name", "Namn", "text", first(values, "name"), errors, None))
            (select("role", "Roll", &roles, first(values, "role"), errors))
            (select("areas", "Område (för områdesteam)", &area_options, first(values, "areas"), errors))
            (select("processes", "Process (för processägare)", &process_options, first(values, "processes"), errors))
            (input("password", "Lösenord (minst 12 tecken)", "password", "", errors, None))
            button type="submit" { "Skapa kontot" }
        }
    }
}

async fn render(
    state: &AppState,
    user: &PageUser,
    errors: &FormErrors,
    values: &HashMap<String, Vec<String>>,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let users = state.accounts.list().await.unwrap_or_default();
    let areas = match components::area_names(state).await {
        Ok(areas) => areas,
        Err(error) => return refused(error),
    };
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let processes: Vec<(String, String)> = plan
        .nodes(crate::domain::plan::NodeKind::Process)
        .into_iter()
        .map(|p| (p.id.clone(), p.text("title").to_owned()))
        .collect();
    let reports = match state.services.accessibility_reports(20).await {
        Ok(reports) => reports,
        Err(error) => return refused(error),
    };
    let body = page(
        "Administration",
        Some(&user.viewer()),
        html! {
            h1 { "Administration" }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            (super::layout::error_summary(&errors.0))
            (accounts_section(user, &users, values, errors, &areas, &processes))
            (areas_section(user, &areas, values, errors))
            (erase_section(user, values, errors))
            (reports_section(user, &reports))
        },
    );
    (status, body).into_response()
}

/// The accounts, a form for a new one and one to disable one.
fn accounts_section(
    user: &PageUser,
    users: &[crate::accounts::User],
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
    areas: &[(String, String)],
    processes: &[(String, String)],
) -> Markup {
    html! {
        section aria-labelledby="konton" {
            h2 id="konton" { "Konton" }
            div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" {
                table {
                    thead { tr { th scope="col" { "Namn" } th scope="col" { "E-post" } th scope="col" { "Roll" } th scope="col" { "Område / process" } th scope="col" { "Status" } } }
                    tbody {
                        @for account in users {
                            tr {
                                td { (account.name) } td { (account.email) } td { (account.role().label()) }
                                td { (account.areas.join(", ")) (account.processes.join(", ")) }
                                td { @if account.disabled_at.is_some() { "Avstängt" } @else { "Aktivt" } }
                            }
                        }
                    }
                }
            }
            h3 { "Nytt konto" }
            (user_form(&user.csrf, values, errors, areas, processes))
            h3 { "Stäng av ett konto" }
            form.stack method="post" action=(paths::AdminDisableUser) {
                (csrf(&user.csrf))
                (input("disable_email", "E-postadress", "email", "", errors, None))
                button.danger type="submit" { "Stäng av kontot" }
            }
        }
    }
}

/// The areas and a form for a new one.
fn areas_section(
    user: &PageUser,
    areas: &[(String, String)],
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Markup {
    html! {
        section aria-labelledby="omraden" {
            h2 id="omraden" { "Områden" }
            ul { @for (id, name) in areas { li { (name) " (" (id) ")" } } }
            form.stack method="post" action=(paths::AdminAreas) {
                (csrf(&user.csrf))
                (input("area_name", "Nytt område", "text", first(values, "area_name"), errors, None))
                button type="submit" { "Lägg till området" }
            }
        }
    }
}

/// Erasing a case's personal data.
fn erase_section(
    user: &PageUser,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Markup {
    html! {
        section aria-labelledby="radera" {
            h2 id="radera" { "Radera personuppgifter" }
            p { "Ett ärendes fria text raderas för gott: nyckeln förstörs och en händelse visar vem som raderade, när och enligt vilket beslut. Tidslinjen och kedjan förblir hela." }
            form.stack method="post" action=(paths::AdminErase) {
                (csrf(&user.csrf))
                (input("case", "Ärendets id", "text", first(values, "case"), errors, None))
                (input("decision", "Gallringsbeslut", "text", first(values, "decision"), errors, Some("Till exempel diarienummer och datum.")))
                (textarea("reason", "Skäl", first(values, "reason"), errors, None))
                button.danger type="submit" { "Radera personuppgifterna" }
            }
        }
    }
}

/// The accessibility reports, each with a form to erase it.
fn reports_section(user: &PageUser, reports: &[crate::app::AccessibilityReport]) -> Markup {
    html! {
        section aria-labelledby="tillganglighet" {
            h2 id="tillganglighet" { "Rapporter om tillgänglighet" }
            @if reports.is_empty() { (nothing("Inga rapporter.")) }
            p { "Rapporterna kan innehålla personuppgifter om den som skrev. Radera en rapport när den är omhändertagen och beslutet om gallring medger det." }
            ul.reports {
                @for report in reports {
                    li {
                        strong { (report.page) } " – " (report.problem) " " span.hint { (crate::clock::datetime(report.reported_at)) }
                        form.inline method="post" action=(paths::AdminErase) {
                            (csrf(&user.csrf))
                            input type="hidden" name="feedback" value=(report.id);
                            input type="hidden" name="reason" value="Rapporten är omhändertagen.";
                            label for={ "beslut-" (report.id) } { "Gallringsbeslut" }
                            input id={ "beslut-" (report.id) } name="decision" type="text" required;
                            button.danger type="submit" { "Radera rapporten" }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct AdminQuery {
    pub efter: Option<i64>,
    /// What was just done, for the notice.
    pub klart: Option<String>,
}

pub async fn show(
    _: paths::Admin,
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<AdminQuery>,
) -> Response {
    if let Some(response) = unless_coordinator(&user) {
        return response;
    }
    settle(&state, query.efter, &["timeline"]).await;
    let notice = match query.klart.as_deref() {
        Some("konto") => Some("Kontot är skapat."),
        Some("avstangt") => Some("Kontot är avstängt."),
        Some("omrade") => Some("Området är tillagt."),
        Some("raderat") => Some("Personuppgifterna är raderade."),
        _ => None,
    };
    render(
        &state,
        &user,
        &FormErrors::default(),
        &HashMap::new(),
        StatusCode::OK,
        notice,
    )
    .await
}

async fn answer(
    state: &AppState,
    user: &PageUser,
    fields: &HashMap<String, Vec<String>>,
    outcome: Result<&'static str, AppError>,
) -> Response {
    match outcome {
        // Post/redirect/get: reloading the page does not repeat the change.
        Ok(done) => see_other(&format!("{}?klart={done}", paths::Admin)),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                render(
                    state,
                    user,
                    &errors,
                    fields,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                )
                .await
            }
            None => refused(error),
        },
    }
}

pub async fn add_user(
    _: paths::AdminUsers,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let list = |name: &str| {
        fields
            .get(name)
            .into_iter()
            .flatten()
            .filter(|v| !v.is_empty())
            .cloned()
            .collect::<Vec<_>>()
    };
    let new = NewUser {
        email: first(&fields, "email").to_owned(),
        name: first(&fields, "name").to_owned(),
        role: first(&fields, "role").to_owned(),
        areas: list("areas"),
        processes: list("processes"),
        password: first(&fields, "password").to_owned(),
    };
    let outcome = state
        .accounts
        .add_user(&user.ctx(&fields), new)
        .await
        .map(|_| "konto");
    answer(&state, &user, &fields, outcome).await
}

pub async fn disable_user(
    _: paths::AdminDisableUser,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let outcome = state
        .accounts
        .disable(&user.ctx(&fields), first(&fields, "disable_email"))
        .await
        .map(|_| "avstangt");
    answer(&state, &user, &fields, outcome).await
}

pub async fn add_area(
    _: paths::AdminAreas,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let outcome = state
        .services
        .add_area(&user.ctx(&fields), None, first(&fields, "area_name"))
        .await
        .map(|_| "omrade");
    let outcome = outcome.map_err(|error| match error {
        AppError::Domain(crate::domain::DomainError::Invalid(errors)) => {
            AppError::Domain(crate::domain::DomainError::Invalid(
                errors
                    .into_iter()
                    .map(|mut e| {
                        e.field = "area_name".into();
                        e
                    })
                    .collect(),
            ))
        }
        other => other,
    });
    answer(&state, &user, &fields, outcome).await
}

pub async fn erase(
    _: paths::AdminErase,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let target = match uuid::Uuid::parse_str(first(&fields, "feedback").trim()) {
        Ok(report) => Some(ErasureTarget::Feedback(report)),
        Err(_) => uuid::Uuid::parse_str(first(&fields, "case").trim())
            .ok()
            .map(ErasureTarget::Case),
    };
    let Some(target) = target else {
        let errors = FormErrors(vec![(
            "case".into(),
            "Ange ärendets id (finns i adressen till ärendets sida).".into(),
        )]);
        return render(
            &state,
            &user,
            &errors,
            &fields,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        )
        .await;
    };
    let outcome = state
        .services
        .erase_personal_data(
            &user.ctx(&fields),
            target,
            first(&fields, "decision"),
            first(&fields, "reason"),
            None,
        )
        .await
        .map(|_| "raderat");
    answer(&state, &user, &fields, outcome).await
}
