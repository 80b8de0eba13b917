//! The auditor's pages: choose a strategy (`/granskning`), see its history and its state
//! at any moment with the verification of its record (`/granskning/strategier/{id}`),
//! a printable report, exports, and the verification of the whole log. For the auditor
//! and the coordinator only.

use crate::web::extract::Query;
use crate::web::paths;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::components::{self, refused};
use super::{PageUser, nothing, page};
use crate::access::{Action, authorize};
use crate::app::AppError;
use crate::audit::verify::Integrity;
use crate::audit::{self, AsOf, StrategyAudit, StrategyState};
use crate::domain::plan::NodeKind;
use crate::web::AppState;

/// How long a verification of a strategy's record is shown before it is made again.
pub const VERIFIED_FOR: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// The latest verification of each strategy's record, with when it was made and how far
/// the history reached: shown again while it is recent and the history has not grown.
#[derive(Clone, Default)]
pub struct Verifications {
    kept: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Kept>>>,
}

/// One verification kept: when it was made (by the instance's clock and the wall clock),
/// how far the history reached, and what it found.
struct Kept {
    made: std::time::Instant,
    last_position: Option<i64>,
    report: Integrity,
    at: time::OffsetDateTime,
}

impl Verifications {
    fn get(
        &self,
        id: &str,
        last_position: Option<i64>,
    ) -> Option<(Integrity, time::OffsetDateTime)> {
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.get(id)
            .filter(|kept| {
                kept.made.elapsed() < VERIFIED_FOR && kept.last_position == last_position
            })
            .map(|kept| (kept.report.clone(), kept.at))
    }

    fn keep(
        &self,
        id: &str,
        last_position: Option<i64>,
        report: Integrity,
        at: time::OffsetDateTime,
    ) {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(
                id.to_owned(),
                Kept {
                    made: std::time::Instant::now(),
                    last_position,
                    report,
                    at,
                },
            );
    }
}

/// How many events of the history the page lists (the exports hold them all).
const LISTED: usize = 300;

fn unless_auditor(user: &PageUser) -> Option<Response> {
    authorize(&user.actor(), &Action::Audit)
        .err()
        .map(|refusal| refused(AppError::Forbidden(refusal.0)))
}

/// `/granskning`: the strategies by process, and the whole log's verification.
pub async fn start(_: paths::Audit, State(state): State<AppState>, user: PageUser) -> Response {
    if let Some(refusal) = unless_auditor(&user) {
        return refusal;
    }
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let strategies = plan.nodes(NodeKind::Strategy);
    page(
        "Granskning",
        Some(&user.viewer()),
        html! {
            h1 { "Granskning" }
            p { "Välj en strategi för att se dess historik: vad som hände, vem som gjorde det och hur bilden såg ut vid en viss tidpunkt. Varje sida kontrollerar också att historiken är fullständig och oförändrad." }
            form.filters method="get" action=(paths::AuditChosen) {
                div.field {
                    label for="strategi" { "Strategi" }
                    select id="strategi" name="strategi" {
                        @for process in plan.nodes(NodeKind::Process) {
                            optgroup label=(process.text("title")) {
                                @for strategy in strategies.iter().filter(|s| s.text("process") == process.id) {
                                    option value=(strategy.id) { (strategy.text("title")) }
                                }
                            }
                        }
                    }
                }
                button type="submit" { "Visa historiken" }
            }
            h2 { "Hela loggen" }
            p { "Kontrollera varje ströms hashkedja och varje sigill över hela loggen. Det läser alla händelser och kan ta en stund." }
            p { a.button href=(paths::AuditVerifyLog) { "Verifiera hela loggen" } }
            p { a href=(paths::AuditReports) { "Kontrollera de fastställda uppföljningsrapporterna mot loggen" } }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct Chosen {
    pub strategi: Option<String>,
}

/// The strategy chooser's form lands here and is sent on to the strategy's page.
pub async fn chosen(
    _: paths::AuditChosen,
    user: PageUser,
    Query(query): Query<Chosen>,
) -> Response {
    if let Some(refusal) = unless_auditor(&user) {
        return refusal;
    }
    match query
        .strategi
        .filter(|s| crate::domain::values::Slug::parse("strategi", s).is_ok())
    {
        Some(id) => components::see_other(&paths::audit_strategy(id).to_string()),
        None => components::see_other(&paths::Audit.to_string()),
    }
}

/// `/granskning/verifiering`: every chain and every seal of the whole log.
pub async fn verify_log(
    _: paths::AuditVerifyLog,
    State(state): State<AppState>,
    user: PageUser,
) -> Response {
    if let Some(refusal) = unless_auditor(&user) {
        return refusal;
    }
    let log = match state.events.verify_log(|_| {}).await {
        Ok(log) => log,
        Err(error) => return refused(AppError::from(error)),
    };
    let report = Integrity::from_log(&log);
    page(
        "Verifiering av hela loggen",
        Some(&user.viewer()),
        html! {
            p { a href=(paths::Audit) { "← Granskning" } }
            h1 { "Verifiering av hela loggen" }
            (integrity(&report))
        },
    )
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct Moment {
    pub per: Option<String>,
    pub jamfor: Option<String>,
    /// `ja`: verify the record now, not show the latest verification.
    pub verifiera: Option<String>,
}

/// Parses the page's moments; a wrong one is a message next to its field.
fn moments(query: &Moment) -> (Result<AsOf, String>, Result<Option<AsOf>, String>) {
    let as_of = AsOf::parse(query.per.as_deref().unwrap_or(""));
    let compare = match query
        .jamfor
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(text) => AsOf::parse(text).map(Some),
        None => Ok(None),
    };
    (as_of, compare)
}

/// The moments asked for, with a Swedish message for each that cannot be read (the page
/// then shows now).
fn asked(query: &Moment) -> (AsOf, Option<AsOf>, Vec<(&'static str, String)>) {
    let (as_of, compare) = moments(query);
    let mut errors = Vec::new();
    let as_of = as_of.unwrap_or_else(|message| {
        errors.push(("per", message));
        AsOf::Now
    });
    let compare = compare.unwrap_or_else(|message| {
        errors.push(("jamfor", message));
        None
    });
    (as_of, compare, errors)
}

/// The whole history as of the moments asked for (the printable report lists it all).
async fn loaded(
    state: &AppState,
    id: &str,
    query: &Moment,
) -> Result<(StrategyAudit, Integrity, Vec<(&'static str, String)>), Response> {
    if let Err(error) = state.services.require_strategy(id).await {
        return Err(refused(error));
    }
    let (as_of, compare, mut errors) = asked(query);
    let loaded =
        match audit::load(&state.events, state.services.privacy(), id, as_of, compare).await {
            Ok(loaded) => loaded,
            Err(AppError::Domain(crate::domain::DomainError::Invalid(problems))) => {
                for problem in problems {
                    errors.push(("per", problem.message));
                }
                audit::load(&state.events, state.services.privacy(), id, AsOf::Now, None)
                    .await
                    .map_err(refused)?
            }
            Err(error) => return Err(refused(error)),
        };
    let report = audit::verify::strategy(&state.events, id, &loaded.history)
        .await
        .map_err(|error| refused(AppError::from(error)))?;
    Ok((loaded, report, errors))
}

/// What the strategy's page shows, as of the moments asked for.
async fn shown(
    state: &AppState,
    id: &str,
    query: &Moment,
) -> Result<(audit::StrategyPage, Vec<(&'static str, String)>), Response> {
    if let Err(error) = state.services.require_strategy(id).await {
        return Err(refused(error));
    }
    let (as_of, compare, mut errors) = asked(query);
    let load = |as_of, compare| {
        audit::page(
            &state.events,
            state.services.privacy(),
            id,
            as_of,
            compare,
            LISTED as i64,
        )
    };
    match load(as_of, compare).await {
        Ok(shown) => Ok((shown, errors)),
        Err(AppError::Domain(crate::domain::DomainError::Invalid(problems))) => {
            for problem in problems {
                errors.push(("per", problem.message));
            }
            let shown = load(AsOf::Now, None).await.map_err(refused)?;
            Ok((shown, errors))
        }
        Err(error) => Err(refused(error)),
    }
}

/// The verification of a strategy's record as the page shows it: the latest one, if it
/// was made less than [`VERIFIED_FOR`] ago and the history has not grown since; otherwise
/// made now (reading the whole history).
async fn verification(
    state: &AppState,
    id: &str,
    last_position: Option<i64>,
    fresh: bool,
) -> Result<(Integrity, time::OffsetDateTime), Response> {
    if !fresh && let Some(kept) = state.verifications.get(id, last_position) {
        return Ok(kept);
    }
    let history = audit::history(state.events.pool(), id)
        .await
        .map_err(|error| refused(error.into()))?;
    let report = audit::verify::strategy(&state.events, id, &history)
        .await
        .map_err(|error| refused(AppError::from(error)))?;
    let at = state.services.clock().now();
    state
        .verifications
        .keep(id, last_position, report.clone(), at);
    Ok((report, at))
}

/// `/granskning/strategier/{id}?per=…&jamfor=…[&verifiera=ja]`
pub async fn strategy(
    paths::AuditStrategy { id }: paths::AuditStrategy,
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<Moment>,
) -> Response {
    if let Some(refusal) = unless_auditor(&user) {
        return refusal;
    }
    let (shown, errors) = match shown(&state, &id, &query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let fresh = query.verifiera.as_deref() == Some("ja");
    let (report, verified_at) = match verification(&state, &id, shown.last_position, fresh).await {
        Ok(verified) => verified,
        Err(response) => return response,
    };
    let names = Names::of(&state).await;
    let title = shown
        .state
        .title
        .clone()
        .or_else(|| names.strategies.get(&id).cloned())
        .unwrap_or_else(|| id.clone());
    let per = query.per.clone().unwrap_or_default();
    let jamfor = query.jamfor.clone().unwrap_or_default();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let markup = page(
        &format!("Granskning: {title}"),
        Some(&user.viewer()),
        html! {
            p { a href=(paths::Audit) { "← Granskning" } " · " a href=(paths::strategy(id.to_string())) { "Strategins sida i planen" } }
            h1 { "Granskning: " (title) }
            section aria-labelledby="verifiering" {
                h2 id="verifiering" { "Verifiering" }
                (integrity(&report))
                p.hint {
                    "Verifierad " (crate::clock::datetime(verified_at)) " mot loggens kedjor och sigill. "
                    a href={ "?verifiera=ja&per=" (per) "&jamfor=" (jamfor) } { "Verifiera igen nu" }
                }
            }
            (moment_section(&shown, &per, &jamfor, &errors))
            section aria-labelledby="lage" {
                h2 id="lage" { "Läget " (shown.as_of.label()) }
                (state_view(&shown.state, &names))
            }
            (changes_section(&shown))
            (events_section(&id, &shown, &per, &names))
        },
    );
    (status, markup).into_response()
}

/// The moment the auditor looks at: a date or position, one to compare with, and a slider
/// over the history's positions.
fn moment_section(
    shown: &audit::StrategyPage,
    per: &str,
    jamfor: &str,
    errors: &[(&'static str, String)],
) -> Markup {
    let error = |field: &str| {
        errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.clone())
    };
    let first = shown.first_position.unwrap_or(1);
    let last = shown.last_position.unwrap_or(1);
    let slider = match shown.as_of {
        AsOf::Position(position) => position,
        _ => shown.state.last_position.unwrap_or(last),
    };
    html! {
        section aria-labelledby="tidpunkt" {
            h2 id="tidpunkt" { "Tidpunkt" }
            form.filters method="get" {
                div.field {
                    label for="per" { "Per datum eller position" }
                    span.hint id="per-hint" { "Ett datum (ÅÅÅÅ-MM-DD) eller en position i loggen. Tomt: nu." }
                    @if let Some(message) = error("per") { span.error id="per-error" { (message) } }
                    input id="per" name="per" type="text" inputmode="numeric" value=(per)
                        aria-describedby=(if error("per").is_some() { "per-hint per-error" } else { "per-hint" })
                        aria-invalid=[error("per").map(|_| "true")];
                }
                div.field {
                    label for="jamfor" { "Jämför med" }
                    span.hint id="jamfor-hint" { "Ett tidigare datum eller en position. Tomt: ingen jämförelse." }
                    @if let Some(message) = error("jamfor") { span.error id="jamfor-error" { (message) } }
                    input id="jamfor" name="jamfor" type="text" value=(jamfor)
                        aria-describedby=(if error("jamfor").is_some() { "jamfor-hint jamfor-error" } else { "jamfor-hint" })
                        aria-invalid=[error("jamfor").map(|_| "true")];
                }
                button type="submit" { "Visa" }
            }
            @if shown.total > 0 {
                form.filters method="get" {
                    div.field {
                        label for="position" { "Eller dra till en position i historiken (" (first) "–" (last) ")" }
                        input id="position" name="per" type="range" min=(first) max=(last) value=(slider);
                    }
                    @if !jamfor.is_empty() { input type="hidden" name="jamfor" value=(jamfor); }
                    button type="submit" { "Visa positionen" }
                }
            }
        }
    }
}

/// What changed between the compared moment and the one shown.
fn changes_section(shown: &audit::StrategyPage) -> Markup {
    let Some(compare) = &shown.compare else {
        return html! {};
    };
    html! {
        section aria-labelledby="andringar" {
            h2 id="andringar" { "Vad som ändrades från " (compare.as_of.label()) " till " (shown.as_of.label()) }
            @if compare.changes.is_empty() { (nothing("Ingenting ändrades.")) } @else {
                div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" { table {
                    thead { tr { th scope="col" { "Vad" } th scope="col" { "Före" } th scope="col" { "Efter" } } }
                    tbody { @for change in &compare.changes { tr { th scope="row" { (change.what) } td { (change.before) } td { (change.after) } } } }
                } }
            }
        }
    }
}

/// The events up to the moment (the latest of them), with the exports of them all.
fn events_section(id: &str, shown: &audit::StrategyPage, per: &str, names: &Names) -> Markup {
    html! {
        section aria-labelledby="handelser" {
            h2 id="handelser" { "Händelserna (" (shown.upto) ")" }
            p {
                "Exportera hela historiken med hashar och sigill: "
                a href={ "/api/v1/audit/strategies/" (id) "/export.csv" } { "CSV" } " · "
                a href={ "/api/v1/audit/strategies/" (id) "/export.json" } { "JSON" } " · "
                a href={ (paths::AuditReport { id: id.to_string() }) "?per=" (per) } { "Utskrivbar rapport" }
                ". Kontrollera en export utan databas med " code { "insats audit verify-export FIL" } "."
            }
            @if shown.upto > shown.listed.len() as i64 { p { "Visar de senaste " (shown.listed.len()) " av " (shown.upto) " händelser; exporterna har alla." } }
            (events_table(&shown.listed, names))
        }
    }
}

/// `/granskning/strategier/{id}/rapport?per=…`: a printable report in Swedish.
pub async fn report(
    paths::AuditReport { id }: paths::AuditReport,
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<Moment>,
) -> Response {
    if let Some(refusal) = unless_auditor(&user) {
        return refusal;
    }
    let (loaded, report, _) = match loaded(&state, &id, &query).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let names = Names::of(&state).await;
    let title = loaded.state.title.clone().unwrap_or_else(|| id.clone());
    let now = time::OffsetDateTime::now_utc();
    let markup = html! {
        (DOCTYPE)
        html lang="sv" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Granskningsrapport: " (title) }
                link rel="stylesheet" href="/static/insats.css";
            }
            body.report {
                main {
                    h1 { "Granskningsrapport: " (title) }
                    p { "Strategi " code { (id) } ". Läget " (loaded.as_of.label()) ". Rapporten skapades " (crate::clock::datetime(now)) " av " (user.user.name) "." }
                    h2 { "Verifiering" }
                    (integrity(&report))
                    h2 { "Läget " (loaded.as_of.label()) }
                    (state_view(&loaded.state, &names))
                    h2 { "Händelserna" }
                    (events_table(&loaded.opened[..loaded.upto], &names))
                    p { "Hasharna är SHA-256 över varje händelse och föregående händelse i samma ström (se docs/event-log.md). Exporten i CSV eller JSON kan kontrolleras utan databas med " code { "insats audit verify-export" } "." }
                }
            }
        }
    };
    markup.into_response()
}

fn integrity(report: &Integrity) -> Markup {
    html! {
        div class=(if report.verified { "notice" } else { "error-summary" }) role="status" {
            p { strong { (if report.verified {
                "Allt är intakt: historiken är komplett och ingen händelse har ändrats."
            } else {
                "Något stämmer inte: en händelse har ändrats eller saknas. Det som hittades står nedan."
            }) } }
            p { (report.summary) }
            details {
                summary { "Tekniska detaljer" }
                p {
                    (report.events_checked) " händelser och " (report.streams_checked) " strömmar kontrollerade mot sina hashar, "
                    (report.seals_checked) " sigill. "
                    @match report.sealed_up_to_position {
                        Some(position) => { "Sigillen visar att ingenting har tagits bort till och med position " (position) "." }
                        None => { "Inget sigill täcker ännu historiken." }
                    }
                }
            }
            @if !report.problems.is_empty() {
                ul { @for problem in &report.problems { li { (problem.message) } } }
            }
        }
    }
}

/// Names for the ids a replayed state holds: processes by their plan title, areas by name.
#[derive(Default)]
struct Names {
    processes: std::collections::HashMap<String, String>,
    areas: std::collections::HashMap<String, String>,
    strategies: std::collections::HashMap<String, String>,
    /// The plan and the areas (id, name), for what the events say.
    plan: std::sync::Arc<crate::domain::plan::Plan>,
    area_names: Vec<(String, String)>,
}

impl Names {
    async fn of(state: &AppState) -> Names {
        let mut names = Names::default();
        if let Ok(plan) = state.services.plan().await {
            for process in plan.nodes(NodeKind::Process) {
                names
                    .processes
                    .insert(process.id.clone(), process.text("title").to_owned());
            }
            for strategy in plan.nodes(NodeKind::Strategy) {
                names
                    .strategies
                    .insert(strategy.id.clone(), strategy.text("title").to_owned());
            }
            names.plan = plan;
        }
        if let Ok(areas) = components::area_names(state).await {
            names.areas.extend(areas.iter().cloned());
            names.area_names = areas;
        }
        names
    }

    /// What an event says, with processes and areas named.
    fn describe(&self, event: &crate::event_log::RecordedEvent) -> String {
        audit::describe(event, &self.plan, &self.area_names)
    }

    fn process(&self, id: &str) -> String {
        self.processes
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    fn area(&self, id: &str) -> String {
        self.areas.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }
}

fn state_view(state: &StrategyState, names: &Names) -> Markup {
    let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "–".into());
    html! {
        @if state.title.is_none() { (nothing("Strategin fanns inte ännu i planen vid den tidpunkten.")) } @else {
            dl {
                dt { "Lydelse" } dd { (or_dash(&state.title)) @if !state.in_force { " " span.tag { "Borttagen ur planen" } } }
                dt { "Process" } dd { (state.process.as_deref().map(|p| names.process(p)).unwrap_or_else(|| "–".into())) }
                dt { "Processägare" } dd { (state.process_owner.as_deref().unwrap_or("Ingen utsedd")) }
                dt { "Senaste lägesrapport" } dd {
                    @match &state.latest_report {
                        Some(report) => {
                            (crate::domain::strategy::StrategyStatus::label_of(&report.status)) " för " (report.period_start) " – " (report.period_end)
                            @if !report.comment.is_empty() { ": " (report.comment) }
                        }
                        None => { "Ingen" }
                    }
                }
                dt { "Beslut" } dd { (state.decisions) }
                dt { "Senaste händelse" } dd { @if let (Some(position), Some(at)) = (state.last_position, state.last_recorded_at) { "Position " (position) ", " (crate::clock::datetime(at)) } @else { "–" } }
            }
            h3 { "Insatser per område" }
            @if state.activities.is_empty() { (nothing("Inga insatser.")) } @else {
                div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" { table {
                    thead { tr { th scope="col" { "Område" } th.number scope="col" { "Insatser" } th.number scope="col" { "Deltagare" } th scope="col" { "Senast" } } }
                    tbody { @for (area, row) in &state.activities { tr { th scope="row" { (names.area(area)) } td.number { (row.activities) } td.number { (row.participants) } td { (row.last_date.clone().unwrap_or_default()) } } } }
                } }
            }
            h3 { "Öppna ärenden (" (state.open_cases.len()) ")" }
            @if state.open_cases.is_empty() { (nothing("Inga öppna ärenden.")) } @else {
                ul { @for (case_id, case) in state.open_cases.iter().take(50) { li { a href=(paths::case(case_id)) { (case.title) } " (" (case.area.as_deref().map(|a| names.area(a)).unwrap_or_default()) ", position " (case.position) ")" } } }
            }
            h3 { "Öppna frågor mellan forum (" (state.open_items.len()) ")" }
            @if state.open_items.is_empty() { (nothing("Inga öppna frågor.")) } @else {
                ul { @for (item_id, item) in state.open_items.iter().take(50) { li { a href=(paths::item(item_id)) { (item.title) } " (" (item.route.clone().unwrap_or_default()) ", position " (item.position) ")" } } }
            }
        }
    }
}

fn events_table(events: &[crate::event_log::RecordedEvent], names: &Names) -> Markup {
    html! {
        @if events.is_empty() { (nothing("Inga händelser.")) } @else {
            div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" {
                table {
                    thead { tr { th.number scope="col" { "Position" } th scope="col" { "Tid" } th scope="col" { "Vem" } th scope="col" { "Vad" } th scope="col" { "Ström, version" } th scope="col" { "Hash" } } }
                    tbody {
                        @for event in events.iter().rev() {
                            tr {
                                td.number { (event.position) }
                                td { (crate::clock::datetime(event.recorded_at)) }
                                td { (audit::actor(event)) }
                                td { (names.describe(event)) }
                                td { code { (event.stream_id) } ", " (event.stream_version) }
                                td { code title=(hex::encode(&event.hash)) { (hex::encode(&event.hash[..event.hash.len().min(6)])) "…" } }
                            }
                        }
                    }
                }
            }
        }
    }
}
