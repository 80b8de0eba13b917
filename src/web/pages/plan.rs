//! The plan: processes → challenges → focus areas → strategies, and each strategy's page
//! with its overview and a link to its audit history.

use crate::web::extract::Query;
use crate::web::paths;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::components::{self, refused};
use super::rendered::Standing;
use super::{After, PageUser, nothing, page, settle};
use crate::app::AppError;
use crate::domain::plan::{NodeKind, Plan, PlanNode};
use crate::domain::strategy::StrategyStatus;
use crate::queries::period;
use crate::queries::strategies::{OVERVIEW_READS, known};
use crate::queries::timeline::{item_kind_label, status_label};
use crate::web::AppState;

pub async fn plan(_: paths::Plan, State(state): State<AppState>, user: PageUser) -> Response {
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let header = plan.header();
    // The indicators' figures are shown under the goals; the plan's page is whole without them.
    let indicators = state
        .queries
        .indicators(&state.settings.units)
        .await
        .unwrap_or_default();
    page(
        "Integrationsplanen",
        Some(&user.viewer()),
        html! {
            h1 { (header.map(|h| h.text("title")).unwrap_or("Integrationsplanen")) }
            @if let Some(header) = header { (about_plan(header, &plan)) }
            h2 { "Mål" }
            ul { @for goal in plan.nodes(NodeKind::Goal) {
                li { (goal.text("text")) (super::indicators::for_goal(&goal.id, &indicators)) }
            } }
            h2 { "Processer och strategier" }
            @for (process, challenges) in tree(&plan) {
                section aria-labelledby={ "p-" (process.id) } {
                    h3 id={ "p-" (process.id) } { (process.text("title")) }
                    @for (challenge, focus_areas) in challenges {
                        h4 { "Utmaning: " (plan.node(NodeKind::Challenge, challenge).map(|c| c.text("title")).unwrap_or(challenge)) }
                        @for (focus, strategies) in focus_areas {
                            p { strong { "Vad behöver stärkas: " } (plan.node(NodeKind::FocusArea, focus).map(|f| f.text("title")).unwrap_or(focus)) }
                            ul {
                                @for strategy in strategies {
                                    li {
                                        a href=(paths::strategy(strategy.id.to_string())) { (strategy.text("title")) }
                                        @let partners: Vec<&str> = strategy.list("partners").into_iter().filter_map(|p| plan.node(NodeKind::Partner, p)).map(|p| p.text("name")).collect();
                                        @if !partners.is_empty() { span.hint { " – samverkan: " (partners.join(", ")) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (challenges_without_strategies(&plan))
            h2 { "Nyckeltal" }
            p { "Alla nyckeltal med värden över tid: " a href=(paths::Indicators) { "Nyckeltal" } "." }
            ul { @for indicator in plan.nodes(NodeKind::KeyIndicator) { li { a href=(paths::Indicator { id: indicator.id.clone() }) { (indicator.text("text")) } } } }
            h2 { (header.map(|h| h.text("principles_intro")).unwrap_or("Bärande principer")) }
            dl { @for principle in plan.nodes(NodeKind::Principle) { dt { (principle.text("title")) } dd { (principle.text("text")) } } }
            h2 { "Värdegrund" }
            dl { @for value in plan.nodes(NodeKind::Value) { dt { (value.text("title")) } dd { (value.text("text")) } } }
            h2 { "Organisation" }
            dl { @for forum in plan.nodes(NodeKind::Forum) { dt { (forum.text("name")) } dd { (forum.text("mandate")) br; span.hint { (forum.text("members")) } } } }
        },
    )
    .into_response()
}

/// The challenges the plan names (in its overview "VAD behöver stärkas?") that no strategy
/// table takes up, with what needs strengthening under them.
fn challenges_without_strategies(plan: &Plan) -> Markup {
    let strategies = plan.nodes(NodeKind::Strategy);
    let untaken: Vec<&PlanNode> = plan
        .nodes(NodeKind::Challenge)
        .into_iter()
        .filter(|challenge| {
            !strategies
                .iter()
                .any(|s| s.text("challenge") == challenge.id)
        })
        .collect();
    html! {
        @if !untaken.is_empty() {
            h2 { "Utmaningar utan egen strategitabell" }
            p { "Planen nämner de här utmaningarna i sin översikt men har inga strategier under dem." }
            ul {
                @for challenge in untaken {
                    li {
                        (challenge.text("title"))
                        @let focus: Vec<&str> = challenge.list("focus_areas").into_iter().filter_map(|f| plan.node(NodeKind::FocusArea, f)).map(|f| f.text("title")).collect();
                        @if !focus.is_empty() { span.hint { " – vad som behöver stärkas: " (focus.join(", ")) } }
                    }
                }
            }
        }
    }
}

/// What the plan says before its tables: its purpose, scope and who is responsible, its
/// definitions and the budget's strategic direction.
fn about_plan(header: &PlanNode, plan: &Plan) -> Markup {
    let background = header.fields.get("background");
    let text = |field: &str| {
        background
            .and_then(|b| b.get(field))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let qualities: Vec<String> = background
        .and_then(|b| b.get("qualities"))
        .and_then(|q| q.as_array())
        .map(|q| {
            q.iter()
                .filter_map(|v| v.as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let quote = header.fields.get("budget_quote");
    let quoted = |field: &str| {
        quote
            .and_then(|q| q.get(field))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    html! {
        section aria-labelledby="om-planen" {
            h2 id="om-planen" { "Syfte" }
            p { (text("purpose")) }
            @if !qualities.is_empty() { ul { @for quality in &qualities { li { (quality) } } } }
            h3 { "Definition och avgränsningar" }
            p { (text("scope")) }
            dl { @for definition in plan.nodes(NodeKind::Definition) { dt { (definition.text("term")) } dd { (definition.text("text")) } } }
            h3 { "Ansvar" }
            p { (text("responsibility")) }
            @if quote.is_some() {
                h3 { (quoted("source")) }
                blockquote { p { (quoted("text")) } }
            }
            p.hint {
                "Så har planen lästs in: strategierna och vad som behöver stärkas följer planens tabeller. "
                "Där planen inte säger allt har Insats tolkat: att fokusområdet Nätverk hör till utmaningen "
                "Lång etableringstid arbete (som strategitabellen anger), vilka mål nyckeltalen följer och "
                "var deras värden hämtas. Tolkningarna finns beskrivna i Insats dokumentation (docs/plan.md)."
            }
        }
    }
}

/// A focus area (by id) and its strategies.
type FocusArea<'a> = (&'a str, Vec<&'a PlanNode>);
/// A challenge (by id) and its focus areas.
type Challenge<'a> = (&'a str, Vec<FocusArea<'a>>);
/// Process → challenge → focus area → strategies, in the plan's reading order.
type Tree<'a> = Vec<(&'a PlanNode, Vec<Challenge<'a>>)>;

fn tree(plan: &Plan) -> Tree<'_> {
    let strategies = plan.nodes(NodeKind::Strategy);
    plan.nodes(NodeKind::Process)
        .into_iter()
        .map(|process| {
            let mut challenges: Vec<Challenge> = Vec::new();
            for strategy in strategies
                .iter()
                .copied()
                .filter(|s| s.text("process") == process.id)
            {
                let challenge = strategy.text("challenge");
                let index = match challenges.iter().position(|(c, _)| *c == challenge) {
                    Some(index) => index,
                    None => {
                        challenges.push((challenge, Vec::new()));
                        challenges.len() - 1
                    }
                };
                let focus_areas = &mut challenges[index].1;
                let focus = strategy.text("focus_area");
                match focus_areas.iter_mut().find(|(f, _)| *f == focus) {
                    Some((_, list)) => list.push(strategy),
                    None => focus_areas.push((focus, vec![strategy])),
                }
            }
            (process, challenges)
        })
        .collect()
}

pub async fn strategy(
    paths::Strategy { id }: paths::Strategy,
    State(state): State<AppState>,
    user: PageUser,
    Query(after): Query<After>,
) -> Response {
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let title = match known(&plan, &id) {
        Ok(strategy) => strategy.title().to_owned(),
        Err(error) => return refused(error),
    };
    settle(&state, after.efter, &OVERVIEW_READS).await;
    let may_audit = crate::access::may_audit(&user.actor());
    // The same for everyone but for the link to the audit history. The activity, the open
    // cases and the open items each come from a read model of their own, and are kept
    // apart: a note on a case changes only the open cases, a new activity only the first.
    let today = state.services.today();
    let parts = async {
        let standing = Standing::now(&state).await?;
        let rendered = &state.rendered;
        let activity = rendered
            .get_or_render(
                &standing,
                &["strategy_overview"],
                format!("strategi {id} {today} {may_audit}"),
                || activity_part(&state, &id, may_audit),
            )
            .await?;
        let cases = rendered
            .get_or_render(
                &standing,
                &["cases"],
                format!("strategi ärenden {id} {today}"),
                || cases_part(&state, &id),
            )
            .await?;
        let items = rendered
            .get_or_render(
                &standing,
                &["council_flow"],
                format!("strategi forum {id} {today}"),
                || items_part(&state, &id),
            )
            .await?;
        Ok::<_, AppError>(html! { (activity) (cases) (items) })
    };
    match parts.await {
        Ok(view) => page(&title, Some(&user.viewer()), view).into_response(),
        Err(error) => refused(error),
    }
}

/// A strategy's heading, process and owner, last activity, activity per area over the
/// last year and status reports.
async fn activity_part(state: &AppState, id: &str, may_audit: bool) -> Result<String, AppError> {
    let (from, to) = period(None, None, state.queries.today())?;
    let overview = state.queries.activity_overview(id, from, to).await?;
    let areas = components::area_names(state).await?;
    let area_name = |id: &str| {
        areas
            .iter()
            .find(|(a, _)| a == id)
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    Ok(html! {
        p { a href=(paths::Plan) { "← Planen" } }
        h1 { (overview.title) }
        dl {
            dt { "Process" } dd { (overview.process.title) }
            dt { "Processägare" } dd { (overview.process_owner.as_deref().unwrap_or("Ingen utsedd")) }
            dt { "Senaste insats" } dd { (overview.last_activity.as_deref().unwrap_or("Ingen ännu")) @if overview.silent { " " span.tag { "Tyst strategi" } } }
        }
        @if may_audit { p { a href=(paths::audit_strategy(overview.id.to_string())) { "Strategins historik och granskning" } } }
        h2 { "Insatser per område " (overview.from) " – " (overview.to) }
        @if overview.activities_by_area.is_empty() { (nothing("Inga insatser under perioden.")) } @else {
            div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" { table {
                thead { tr { th scope="col" { "Område" } th.number scope="col" { "Insatser" } th.number scope="col" { "Deltagare" } th scope="col" { "Senast" } } }
                tbody { @for row in &overview.activities_by_area { tr { th scope="row" { a href={ (paths::area_timeline(row.area.to_string())) "?strategi=" (overview.id) } { (area_name(&row.area)) } } td.number { (row.activities) } td.number { (row.participants) } td { (row.last_date.map(crate::clock::date).unwrap_or_default()) } } } }
            } }
        }
        h2 { "Statusrapporter" }
        @if overview.status_reports.is_empty() { (nothing("Ingen rapport ännu.")) } @else {
            div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" { table {
                thead { tr { th scope="col" { "Period" } th scope="col" { "Status" } th scope="col" { "Kommentar" } th scope="col" { "Rapporterad" } } }
                tbody {
                    @for report in &overview.status_reports {
                        @let label = StrategyStatus::label_of(&report.status);
                        tr {
                            td { (report.period_start) " – " (report.period_end) }
                            td { span class={ "status-" (report.status) } { (label) } }
                            td { (report.comment) }
                            td { (crate::clock::datetime(report.reported_at)) " " (report.reporter.as_deref().unwrap_or("")) }
                        }
                    }
                }
            } }
        }
    }
    .into_string())
}

/// A strategy's open cases.
async fn cases_part(state: &AppState, id: &str) -> Result<String, AppError> {
    let open = state.queries.open_cases(id).await?;
    Ok(html! {
        h2 { "Öppna ärenden" }
        @if open.is_empty() { (nothing("Inga öppna ärenden.")) } @else {
            ul { @for case in &open { li { a href=(paths::case(case.id)) { (case.title.as_deref().unwrap_or("")) } " – " (status_label(case.status.as_deref().unwrap_or(""))) ", " (case.age_days) " dagar" } } }
        }
    }
    .into_string())
}

/// The items about a strategy waiting for an answer between the forums.
async fn items_part(state: &AppState, id: &str) -> Result<String, AppError> {
    let open = state.queries.open_items_for_strategy(id).await?;
    let plan = state.services.plan().await?;
    let areas = components::area_names(state).await?;
    Ok(html! {
        h2 { "Öppna skrivelser mellan forumen" }
        @if open.is_empty() { (nothing("Inga öppna.")) } @else {
            ul { @for item in &open { li { a href=(paths::item(item.item_id)) { (item.title.as_deref().unwrap_or("")) } " – " (item_kind_label(item.kind.as_deref().unwrap_or(""))) " till " (components::forum_name(item.to_forum.as_deref().unwrap_or(""), &plan, &areas)) } } }
        }
    }
    .into_string())
}
