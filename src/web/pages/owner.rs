//! The process owner's page: their strategies with the latest status and whether a report
//! is due, the items waiting for them, and forms for status reports and decisions.

use crate::web::extract::FormBody;
use crate::web::extract::Query;
use crate::web::paths;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::HashMap;

use super::components::{
    FormErrors, csrf, first, form_fields, input, refused, see_other, select, textarea,
};
use super::{PageUser, nothing, page, settle};
use crate::app::{DecisionInput, StatusReportInput};
use crate::domain::actor::Role;
use crate::domain::plan::{NodeKind, Plan};
use crate::domain::strategy::StrategyStatus;
use crate::queries::strategies::Report;
use crate::web::AppState;

pub async fn page_for(
    state: &AppState,
    user: &PageUser,
    errors: &FormErrors,
    values: &HashMap<String, Vec<String>>,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let processes: Vec<String> = match user.role() {
        Role::Samordnare => plan
            .nodes(NodeKind::Process)
            .into_iter()
            .map(|p| p.id.clone())
            .collect(),
        _ => user.user.processes.clone(),
    };
    let latest: HashMap<String, Report> = match state.queries.latest_reports().await {
        Ok(reports) => reports
            .into_iter()
            .map(|r| (r.strategy.clone(), r))
            .collect(),
        Err(error) => return refused(error),
    };
    let today = state.services.today();
    // Status reports are due for the last period that ended, by the rhythm the
    // coordinator chose.
    let period = match state.services.follow_up().await {
        Ok(follow_up) => follow_up.cycle.last_ended(today),
        Err(error) => return refused(error),
    };
    let areas = match super::components::area_names(state).await {
        Ok(areas) => areas,
        Err(error) => return refused(error),
    };
    let mut waiting = Vec::new();
    for process in &processes {
        match state
            .queries
            .open_items_to(&format!("processagare:{process}"))
            .await
        {
            Ok(items) => waiting.extend(items),
            Err(error) => return refused(error),
        }
    }
    let form = OwnerForms {
        user,
        errors,
        values,
        today,
        period,
    };
    let body = page(
        "Mina strategier",
        Some(&user.viewer()),
        html! {
            h1 { "Mina strategier" }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            (super::layout::error_summary(&errors.0))
            section aria-labelledby="vantar" {
                h2 id="vantar" { "Skrivelser som väntar på dig" }
                @if waiting.is_empty() { (nothing("Inga skrivelser väntar.")) }
                ul { @for item in &waiting { li {
                    a href=(paths::item(item.item_id)) { (item.title.as_deref().unwrap_or("")) }
                    " – från " (super::components::forum_name(item.from_forum.as_deref().unwrap_or(""), &plan, &areas))
                    @if let Some(strategy) = item.strategy.as_deref().and_then(|s| plan.strategy(s)) { ", om " (strategy.title()) }
                    @if let Some(raised) = item.raised_at { ", skickad " (crate::clock::date(crate::clock::local(raised).date())) }
                    " (" (format!("{:.0}", item.age_days)) " dagar sedan)"
                } } }
            }
            @for process in &processes {
                @if let Some(node) = plan.node(NodeKind::Process, process) {
                    section aria-labelledby={ "p-" (process) } {
                        h2 id={ "p-" (process) } { (node.text("title")) }
                        (form.reports_table(&plan, process, &latest))
                        h3 { "Rapportera status" }
                        (form.status_form(&plan, process))
                        h3 { "Registrera ett beslut" }
                        (form.decision_form(process))
                    }
                }
            }
        },
    );
    (status, body).into_response()
}

/// What the forms of the owner's page are drawn with: the user, the errors and values of a
/// form sent back, and today.
struct OwnerForms<'a> {
    user: &'a PageUser,
    errors: &'a FormErrors,
    values: &'a HashMap<String, Vec<String>>,
    today: time::Date,
    /// The period a status report is due for.
    period: crate::domain::follow_up::ReportPeriod,
}

impl OwnerForms<'_> {
    /// What the user sent in the field `name` of `process`'s forms (each process's forms
    /// name their fields `<name>-<process>`), or `fallback` when the form was not sent.
    fn value(&self, process: &str, name: &str, fallback: String) -> String {
        self.values
            .get(&format!("{name}-{process}"))
            .and_then(|v| v.first().cloned())
            .unwrap_or(fallback)
    }

    /// The process's strategies with their latest status and whether the last period's report
    /// is in.
    fn reports_table(
        &self,
        plan: &Plan,
        process: &str,
        latest: &HashMap<String, Report>,
    ) -> Markup {
        let period_end = self.period.end();
        html! {
            div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" { table {
                thead { tr { th scope="col" { "Strategi" } th scope="col" { "Senaste status" } th scope="col" { "Rapport för " (self.period.label().to_lowercase()) } } }
                tbody {
                    @for strategy in plan.nodes(NodeKind::Strategy).into_iter().filter(|s| s.text("process") == process) {
                        @let report = latest.get(&strategy.id);
                        tr {
                            th scope="row" { a href=(paths::strategy(strategy.id.to_string())) { (strategy.text("title")) } }
                            td { @if let Some(report) = report {
                                span class={ "status-" (report.status) } { (StrategyStatus::label_of(&report.status)) }
                                " " span.hint { "(" (report.period_start) " – " (report.period_end) ")" }
                            } @else { "Ingen" } }
                            td { @if report.is_some_and(|r| r.period_end >= period_end) { "Inlämnad" } @else { strong { "Saknas" } } }
                        }
                    }
                }
            } }
        }
    }

    /// The form for a decision in the process.
    fn decision_form(&self, process: &str) -> Markup {
        let errors = self.errors;
        html! {
            form.stack method="post" action=(paths::OwnerDecision { id: process.to_string() }) {
                (csrf(&self.user.csrf))
                (input(&format!("title-{process}"), "Beslut", "text", &self.value(process, "title", String::new()), errors, None))
                (textarea(&format!("text-{process}"), "Beskrivning", &self.value(process, "text", String::new()), errors, None))
                (input(&format!("decided_on-{process}"), "Beslutsdatum", "date", &self.value(process, "decided_on", self.today.to_string()), errors, None))
                button type="submit" { "Registrera beslutet" }
            }
        }
    }

    /// The status report form for one of the process's strategies.
    fn status_form(&self, plan: &Plan, process: &str) -> Markup {
        let (period_start, period_end) = (self.period.start(), self.period.end());
        let statuses: Vec<(String, String)> = StrategyStatus::ALL
            .iter()
            .map(|s| {
                let stored = serde_json::to_value(s).ok();
                let stored = stored.as_ref().and_then(|v| v.as_str()).unwrap_or_default();
                (stored.to_owned(), s.label().to_owned())
            })
            .collect();
        let strategies: Vec<(String, String)> = plan
            .nodes(NodeKind::Strategy)
            .into_iter()
            .filter(|s| s.text("process") == process)
            .map(|s| (s.id.clone(), s.text("title").to_owned()))
            .collect();
        let errors = self.errors;
        html! {
            form.stack method="post" action=(paths::OwnerStatus { id: process.to_string() }) {
                (csrf(&self.user.csrf))
                (select(&format!("strategy-{process}"), "Strategi", &strategies, &self.value(process, "strategy", String::new()), errors))
                (input(&format!("period_start-{process}"), "Periodens första dag", "date", &self.value(process, "period_start", period_start.to_string()), errors, None))
                (input(&format!("period_end-{process}"), "Periodens sista dag", "date", &self.value(process, "period_end", period_end.to_string()), errors, None))
                (select(&format!("status-{process}"), "Status", &statuses, &self.value(process, "status", "enligt_plan".into()), errors))
                (textarea(&format!("comment-{process}"), "Kommentar (krävs vid risk och avvikelse)", &self.value(process, "comment", String::new()), errors, None))
                button type="submit" { "Skicka rapporten" }
            }
        }
    }
}

/// What the owner's page is shown after: a change (`efter`), and which (`klart`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct OwnerQuery {
    pub efter: Option<i64>,
    pub klart: Option<String>,
}

pub async fn show(
    _: paths::Owner,
    State(state): State<AppState>,
    user: PageUser,
    Query(after): Query<OwnerQuery>,
) -> Response {
    settle(&state, after.efter, &["strategy_overview", "council_flow"]).await;
    let notice = match after.klart.as_deref() {
        Some("rapport") => {
            Some("Statusrapporten är sparad. Den syns som senaste status i tabellen.")
        }
        Some("beslut") => Some("Beslutet är registrerat."),
        _ => None,
    };
    page_for(
        &state,
        &user,
        &FormErrors::default(),
        &HashMap::new(),
        StatusCode::OK,
        notice,
    )
    .await
}

/// Back to the page after a report or decision: on success at the change's position, on
/// a refusal with what was typed and each message beside its field.
async fn after_change(
    state: &AppState,
    user: &PageUser,
    process: &str,
    fields: &HashMap<String, Vec<String>>,
    outcome: Result<crate::app::Done, crate::app::AppError>,
    done_what: &str,
) -> Response {
    match outcome {
        Ok(done) => see_other(&format!(
            "{}?efter={}&klart={done_what}",
            paths::Owner,
            done.position
        )),
        Err(error) => match per_process(&error, process) {
            Some(errors) => {
                page_for(
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

/// Field errors named per process on the page (`comment-<process>`).
fn per_process(error: &crate::app::AppError, process: &str) -> Option<FormErrors> {
    FormErrors::from_refusal(error).map(|errors| {
        FormErrors(
            errors
                .0
                .into_iter()
                .map(|(field, message)| (format!("{field}-{process}"), message))
                .collect(),
        )
    })
}

pub async fn report(
    paths::OwnerStatus { id: process }: paths::OwnerStatus,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let field = |name: &str| first(&fields, &format!("{name}-{process}")).to_owned();
    let strategy_id = field("strategy");
    let input = StatusReportInput {
        period_start: field("period_start"),
        period_end: field("period_end"),
        status: serde_json::from_value(serde_json::json!(field("status"))).ok(),
        comment: field("comment"),
    };
    let outcome = state
        .services
        .report_status(&user.ctx(&fields), &strategy_id, &input)
        .await;
    after_change(&state, &user, &process, &fields, outcome, "rapport").await
}

pub async fn decide(
    paths::OwnerDecision { id: process }: paths::OwnerDecision,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let field = |name: &str| first(&fields, &format!("{name}-{process}")).to_owned();
    let input = DecisionInput {
        title: field("title"),
        text: field("text"),
        strategy: None,
        decided_on: field("decided_on"),
    };
    let outcome = state
        .services
        .record_decision(&user.ctx(&fields), &process, &input)
        .await;
    after_change(&state, &user, &process, &fields, outcome, "beslut").await
}
