//! The key indicators (nyckeltal): `/planen/nyckeltal` lists them with their latest figure,
//! trend and target; each indicator's page draws its figures over the years (the
//! municipality against its comparison units, women and men where split), lists them as a
//! table, names the source, and lets the coordinator enter a figure.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::collections::{BTreeMap, HashMap};

use super::components::{
    FormErrors, csrf, first, form_fields, input, refused, see_other, select, textarea,
};
use super::{After, PageUser, nothing, page, settle};
use crate::access::{Action, permits};
use crate::app::{IndicatorValueInput, Units};
use crate::domain::plan::{NodeKind, Plan};
use crate::queries::indicators::{INDICATOR_READS, IndicatorView, Trend};
use crate::web::AppState;
use crate::web::extract::{FormBody, Query};
use crate::web::paths;

pub use crate::queries::indicators::{figure, unit_name};

/// The latest figure with its year and the trend arrow, or a dash.
pub fn latest_with_trend(view: &IndicatorView) -> Markup {
    html! {
        @match view.latest {
            Some(latest) => {
                (figure(latest.value)) " " span.hint { "(" (latest.year) ")" } " "
                span class={ "trend trend-" (trend_class(view.trend)) } title=(view.trend.label()) {
                    span aria-hidden="true" { (view.trend.arrow()) } " " (view.trend.label())
                }
            }
            None => { span.hint { "Inga värden än" } }
        }
    }
}

fn trend_class(trend: Trend) -> &'static str {
    match trend {
        Trend::Better => "better",
        Trend::Worse => "worse",
        Trend::Unchanged => "same",
        Trend::Unknown => "unknown",
    }
}

/// `/planen/nyckeltal`
pub async fn list(_: paths::Indicators, State(state): State<AppState>, user: PageUser) -> Response {
    let units = &state.settings.units;
    let (views, plan) = match (
        state.queries.indicators(units).await,
        state.services.plan().await,
    ) {
        (Ok(views), Ok(plan)) => (views, plan),
        (Err(error), _) | (_, Err(error)) => return refused(error),
    };
    page(
        "Nyckeltal",
        Some(&user.viewer()),
        html! {
            h1 { "Nyckeltal" }
            p { "Planens nyckeltal följer de tre målen. Senaste värdet gäller " (unit_name(&units.municipality, units)) ", för alla (inte uppdelat på kön); pilen visar om det blev bättre eller sämre än året innan." }
            (indicator_table(&views, &plan))
        },
    )
    .into_response()
}

/// The indicators with their goals, latest figures, targets and sources.
fn indicator_table(views: &[IndicatorView], plan: &Plan) -> Markup {
    html! {
        div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" {
            table {
                thead { tr {
                    th scope="col" { "Nyckeltal" } th scope="col" { "Mål" } th scope="col" { "Senaste värdet" }
                    th scope="col" { "Målvärde" } th scope="col" { "Källa" }
                } }
                tbody {
                    @for view in views {
                        tr {
                            th scope="row" { a href=(paths::Indicator { id: view.definition.id.clone() }) { (view.definition.text) } }
                            td { @for goal in &view.definition.goals {
                                div { (plan.node(NodeKind::Goal, goal).map(|g| g.text("text")).unwrap_or(goal)) }
                            } }
                            td { (latest_with_trend(view)) }
                            td { @match (view.definition.target_value, view.definition.target_year) {
                                (Some(value), Some(year)) => { (figure(value)) " år " (year) }
                                (Some(value), None) => { (figure(value)) }
                                _ => { span.hint { "Inget" } }
                            } }
                            td { (view.definition.source_label()) }
                        }
                    }
                }
            }
        }
    }
}

/// `/planen/nyckeltal/{id}`
pub async fn show(
    paths::Indicator { id }: paths::Indicator,
    State(state): State<AppState>,
    user: PageUser,
    Query(after): Query<After>,
) -> Response {
    settle(&state, after.efter, &INDICATOR_READS).await;
    let notice = after.efter.map(|_| "Värdet är sparat.");
    render(
        &state,
        &user,
        &id,
        &HashMap::new(),
        &FormErrors::default(),
        StatusCode::OK,
        notice,
    )
    .await
}

async fn render(
    state: &AppState,
    user: &PageUser,
    id: &str,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let units = &state.settings.units;
    let view = match state.queries.indicator(id, units).await {
        Ok(view) => view,
        Err(error) => return refused(error),
    };
    let may_enter = permits(&user.actor(), &Action::Administer);
    let title = view.definition.text.clone();
    let body = page(
        &title,
        Some(&user.viewer()),
        html! {
            p { a href=(paths::Indicators) { "← Nyckeltal" } }
            h1 { (title) }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            (super::layout::error_summary(&errors.0))
            (about(&view, units))
            section aria-labelledby="diagram" {
                h2 id="diagram" { "Över tid" }
                @if view.figures.is_empty() { (nothing("Inga värden är registrerade än.")) } @else { (chart(&view, units)) }
            }
            section aria-labelledby="varden" {
                h2 id="varden" { "Värdena" }
                (figures_table(&view, units))
                @if view.definition.source == "kolada" {
                    p.hint { "Källa: Kolada (RKA), " a href="https://www.kolada.se" { "kolada.se" } ". Koladas data är fria att använda med angivande av källa (CC BY 4.0)." }
                }
            }
            @if may_enter { (entry_form(&view, units, &user.csrf, values, errors)) }
        },
    );
    (status, body).into_response()
}

/// What the indicator is, where its figures come from, what it follows.
fn about(view: &IndicatorView, units: &Units) -> Markup {
    let definition = &view.definition;
    html! {
        dl {
            dt { "Senaste värdet för " (unit_name(&units.municipality, units)) } dd { (latest_with_trend(view)) }
            dt { "Enhet" } dd { (if definition.unit.is_empty() { "–" } else { definition.unit.as_str() }) }
            dt { "Bättre är" } dd { (if definition.better == "lower" { "ett lägre värde" } else { "ett högre värde" }) }
            @if let Some(target) = definition.target_value {
                dt { "Målvärde" } dd { (figure(target)) @if let Some(year) = definition.target_year { " år " (year) } }
            }
            dt { "Källa" } dd {
                (definition.source_label())
                @if let Some(kpi) = &definition.kpi { " (nyckeltal " (kpi) ")" }
                @if !definition.source_note.is_empty() { br; span.hint { (definition.source_note) } }
            }
        }
    }
}

/// The series a chart draws: (label, unit, gender, dashed).
fn series_of(view: &IndicatorView, units: &Units) -> Vec<(String, String, &'static str, bool)> {
    let mut series: Vec<(String, String, &'static str, bool)> = units
        .all()
        .into_iter()
        .map(|unit| (unit_name(&unit, units), unit, "T", false))
        .collect();
    if view.definition.gender_split {
        for (gender, word) in [("K", "kvinnor"), ("M", "män")] {
            series.push((
                format!("{}, {word}", unit_name(&units.municipality, units)),
                units.municipality.clone(),
                gender,
                true,
            ));
        }
    }
    series.retain(|(_, unit, gender, _)| !view.series(unit, gender).is_empty());
    series
}

/// Colours that keep 3:1 against white and apart from one another.
const COLOURS: [&str; 5] = ["#003b5c", "#a4000f", "#1f6b30", "#6b3fa0", "#7a4b00"];

const W: f64 = 720.0;
const H: f64 = 300.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 40.0;

/// A series drawn: its label, its figures by year, and whether its line is dashed.
type Line = (String, BTreeMap<i32, f64>, bool);

/// Where years and values fall in the chart.
struct Scale {
    first: i32,
    last: i32,
    low: f64,
    high: f64,
}

impl Scale {
    /// The years and values of `lines` (and the target), with zero always in view.
    fn of(lines: &[Line], target: Option<f64>) -> Option<Self> {
        let years = lines.iter().flat_map(|(_, s, _)| s.keys().copied());
        let (first, last) = years.clone().min().zip(years.max())?;
        let values: Vec<f64> = lines
            .iter()
            .flat_map(|(_, s, _)| s.values().copied())
            .chain(target)
            .collect();
        let low = values.iter().copied().fold(0.0, f64::min);
        let mut high = values.iter().copied().fold(0.0, f64::max);
        if (high - low).abs() < 1e-9 {
            high = low + 1.0;
        }
        Some(Self {
            first,
            last,
            low,
            high,
        })
    }

    fn x(&self, year: i32) -> f64 {
        let span = f64::from((self.last - self.first).max(1));
        LEFT + f64::from(year - self.first) / span * (W - LEFT - RIGHT)
    }

    fn y(&self, value: f64) -> f64 {
        TOP + (self.high - value) / (self.high - self.low) * (H - TOP - BOTTOM)
    }

    /// The grid with its values, the years, and the target as a dotted line.
    fn axes(&self, target: Option<f64>) -> Markup {
        let ticks: Vec<f64> = (0..=4)
            .map(|i| self.low + (self.high - self.low) * f64::from(i) / 4.0)
            .collect();
        html! {
            @for tick in &ticks {
                line x1=(LEFT) x2=(W - RIGHT) y1=(format!("{:.1}", self.y(*tick))) y2=(format!("{:.1}", self.y(*tick))) stroke="#d0d0d0" stroke-width="1" {}
                text x=(LEFT - 6.0) y=(format!("{:.1}", self.y(*tick) + 4.0)) text-anchor="end" font-size="12" fill="#333" { (figure(*tick)) }
            }
            @for year in self.first..=self.last {
                text x=(format!("{:.1}", self.x(year))) y=(H - BOTTOM + 18.0) text-anchor="middle" font-size="12" fill="#333" { (year) }
            }
            @if let Some(target) = target {
                line x1=(LEFT) x2=(W - RIGHT) y1=(format!("{:.1}", self.y(target))) y2=(format!("{:.1}", self.y(target))) stroke="#767676" stroke-width="1.5" stroke-dasharray="2 4" {}
                text x=(W - RIGHT) y=(format!("{:.1}", self.y(target) - 4.0)) text-anchor="end" font-size="12" fill="#333" { "Målvärde" }
            }
        }
    }

    /// One series as a line with a dot per year.
    fn line(&self, points: &BTreeMap<i32, f64>, colour: &str, dashed: bool) -> Markup {
        let path: Vec<String> = points
            .iter()
            .map(|(year, value)| format!("{:.1},{:.1}", self.x(*year), self.y(*value)))
            .collect();
        html! {
            polyline fill="none" stroke=(colour) stroke-width="2.5" stroke-dasharray=[dashed.then_some("6 4")] points=(path.join(" ")) {}
            @for (year, value) in points {
                circle cx=(format!("{:.1}", self.x(*year))) cy=(format!("{:.1}", self.y(*value))) r="3.5" fill=(colour) {}
            }
        }
    }
}

/// An SVG line chart of the figures by year: accessible by its title, description and the
/// table beside it, and drawn in vectors so it prints sharp.
pub fn chart(view: &IndicatorView, units: &Units) -> Markup {
    let lines: Vec<Line> = series_of(view, units)
        .into_iter()
        .map(|(label, unit, gender, dashed)| (label, view.series(&unit, gender), dashed))
        .collect();
    let target = view.definition.target_value;
    let Some(scale) = Scale::of(&lines, target) else {
        return html! {};
    };
    let labels: Vec<&str> = lines.iter().map(|(label, ..)| label.as_str()).collect();
    let description = format!(
        "Linjediagram över {} från {} till {}: {}. Samma värden finns i tabellen nedan.",
        view.definition.text,
        scale.first,
        scale.last,
        labels.join(", ")
    );
    let colour = |index: usize| COLOURS[index % COLOURS.len()];
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {W} {H}")) role="img" aria-labelledby="diagram-titel diagram-beskrivning" xmlns="http://www.w3.org/2000/svg" {
                title id="diagram-titel" { (view.definition.text) }
                desc id="diagram-beskrivning" { (description) }
                (scale.axes(target))
                @for (index, (_, points, dashed)) in lines.iter().enumerate() {
                    (scale.line(points, colour(index), *dashed))
                }
            }
            figcaption {
                ul.legend {
                    @for (index, (label, _, dashed)) in lines.iter().enumerate() {
                        li {
                            svg width="28" height="10" aria-hidden="true" { line x1="0" y1="5" x2="28" y2="5" stroke=(colour(index)) stroke-width="3" stroke-dasharray=[dashed.then_some("6 4")] {} }
                            " " (label)
                        }
                    }
                }
            }
        }
    }
}

/// The figures as a table: a row per year, a column per series.
fn figures_table(view: &IndicatorView, units: &Units) -> Markup {
    let series = series_of(view, units);
    let mut years: Vec<i32> = view.figures.iter().map(|f| f.year).collect();
    years.sort_unstable();
    years.dedup();
    let cell = |unit: &str, gender: &str, year: i32| {
        view.figures
            .iter()
            .find(|f| f.unit == unit && f.gender == gender && f.year == year)
    };
    html! {
        @if years.is_empty() { (nothing("Inga värden.")) } @else {
            div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" {
                table {
                    caption { (view.definition.text) @if !view.definition.unit.is_empty() { " (" (view.definition.unit) ")" } }
                    thead { tr { th scope="col" { "År" } @for (label, ..) in &series { th scope="col" { (label) } } } }
                    tbody {
                        @for year in years.iter().rev() {
                            tr {
                                th scope="row" { (year) }
                                @for (_, unit, gender, _) in &series {
                                    td { @if let Some(found) = cell(unit, gender, *year) {
                                        (figure(found.value))
                                        @if let Some(previous) = found.previous {
                                            " " span.hint { "(rättat från " (figure(previous)) ")" }
                                        }
                                        @if found.source == "manual" { " " span.hint { "inmatat" } }
                                    } @else { "–" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The coordinator's form for a figure: a new year, or a correction with its reason.
fn entry_form(
    view: &IndicatorView,
    units: &Units,
    token: &str,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Markup {
    let unit_options: Vec<(String, String)> = units
        .all()
        .into_iter()
        .map(|unit| (unit.clone(), unit_name(&unit, units)))
        .collect();
    let genders: Vec<(String, String)> = [("T", "Alla"), ("K", "Kvinnor"), ("M", "Män")]
        .into_iter()
        .map(|(code, label)| (code.to_owned(), label.to_owned()))
        .collect();
    let value = |name: &str| first(values, name).to_owned();
    html! {
        section aria-labelledby="nytt-varde" {
            h2 id="nytt-varde" { "Registrera ett värde" }
            p { "För in ett värde från källan. Finns det redan ett värde för året rättas det: skriv då varför. Det tidigare värdet finns kvar i historiken." }
            form.stack method="post" action=(paths::IndicatorValues { id: view.definition.id.clone() }) {
                (csrf(token))
                (input("year", "År", "text", &value("year"), errors, Some("Till exempel 2025.")))
                (input("value", "Värde", "text", &value("value"), errors, Some("Decimalkomma går bra, till exempel 42,5.")))
                (select("unit", "För", &unit_options, first(values, "unit"), errors))
                @if view.definition.gender_split { (select("gender", "Gäller", &genders, first(values, "gender"), errors)) }
                (input("reference", "Källa", "text", &value("reference"), errors, Some("Var värdet kommer ifrån, till exempel SCB och datum.")))
                (textarea("comment", "Kommentar", &value("comment"), errors, None))
                (textarea("reason", "Skäl till rättelsen", &value("reason"), errors, Some("Behövs bara när ett värde för året redan finns.")))
                button type="submit" { "Spara värdet" }
            }
        }
    }
}

/// `POST /planen/nyckeltal/{id}/varden`
pub async fn enter(
    paths::IndicatorValues { id }: paths::IndicatorValues,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let input = IndicatorValueInput {
        year: first(&fields, "year").to_owned(),
        value: first(&fields, "value").to_owned(),
        unit: first(&fields, "unit").to_owned(),
        gender: first(&fields, "gender").to_owned(),
        reference: first(&fields, "reference").to_owned(),
        comment: first(&fields, "comment").to_owned(),
        reason: first(&fields, "reason").to_owned(),
    };
    let outcome = state
        .services
        .enter_indicator_value(&user.ctx(&fields), &id, &state.settings.units, &input)
        .await;
    match outcome {
        Ok(done) => see_other(&format!(
            "{}?efter={}",
            paths::Indicator { id: id.clone() },
            done.position
        )),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                render(
                    &state,
                    &user,
                    &id,
                    &fields,
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                )
                .await
            }
            None => refused(error),
        },
    }
}

/// Under a goal on the plan's page: the indicators that follow it, each with its latest
/// figure and trend.
pub fn for_goal(goal: &str, views: &[IndicatorView]) -> Markup {
    let following: Vec<&IndicatorView> = views
        .iter()
        .filter(|view| view.definition.goals.iter().any(|g| g == goal))
        .collect();
    html! {
        @if !following.is_empty() {
            ul.indicators {
                @for view in following {
                    li {
                        a href=(paths::Indicator { id: view.definition.id.clone() }) { (view.definition.text) }
                        ": " (latest_with_trend(view))
                    }
                }
            }
        }
    }
}

/// The indicators whose latest figure is worse than the year before's, for the council's
/// view and the coordinator's overview; nothing when none is.
pub fn moved_the_wrong_way(views: &[IndicatorView]) -> Markup {
    let worse: Vec<&IndicatorView> = views
        .iter()
        .filter(|view| view.trend == Trend::Worse)
        .collect();
    html! {
        @if !worse.is_empty() {
            section aria-labelledby="nyckeltal-samre" {
                h2 id="nyckeltal-samre" { "Nyckeltal som blev sämre" }
                ul {
                    @for view in worse {
                        li {
                            a href=(paths::Indicator { id: view.definition.id.clone() }) { (view.definition.text) }
                            ": " (latest_with_trend(view))
                        }
                    }
                }
            }
        }
    }
}
