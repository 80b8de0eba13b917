//! The council's information flow: a diagram of the forums and area teams with arrows
//! weighted by items and coloured by the age of the open ones, the open items oldest first,
//! the area × strategy heat map, the silent strategies and the last reviews.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use time::Date;

use super::diagram::{diagram, legend};
use crate::app::AppError;
use crate::domain::plan::{NodeKind, Plan};
use crate::queries::council::{COUNCIL_READS, Edge, OpenItem};
use crate::queries::period;
use crate::queries::strategies::{Cell, SILENT_DAYS};
use crate::queries::timeline::item_kind_label;
use crate::web::AppState;
use crate::web::extract::Query;
use crate::web::pages::components::{self, FormErrors, forum_name, input, refused};
use crate::web::pages::rendered::Standing;
use crate::web::pages::{PageUser, nothing, page, settle};
use crate::web::paths;

#[derive(Debug, Default, Deserialize)]
pub struct FlowQuery {
    pub fran: Option<String>,
    pub till: Option<String>,
    pub efter: Option<i64>,
}

/// The period the council asked for, as it asked.
struct Asked {
    from: Option<String>,
    to: Option<String>,
}

/// How many of the newest open items the flow page lists (the rest are on their own page).
const OPEN_ITEMS_SHOWN: i64 = 25;

pub async fn flow(
    _: paths::CouncilFlow,
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<FlowQuery>,
) -> Response {
    let asked = Asked {
        from: query.fran.clone().filter(|s| !s.is_empty()),
        to: query.till.clone().filter(|s| !s.is_empty()),
    };
    let Ok((from, to)) = period(
        asked.from.as_deref(),
        asked.to.as_deref(),
        state.queries.today(),
    ) else {
        return crate::web::pages::error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ogiltig period",
            "Skriv datumen som ÅÅÅÅ-MM-DD, och slutet efter början.",
        );
    };
    settle(&state, query.efter, &COUNCIL_READS).await;
    // The view is the same for everyone who may see it. Its parts depend on the period, on
    // whether every open item is listed, and on the day (ages, silent strategies); the flow
    // of items and the reviews come from the council's read model, the matrix and the
    // silent strategies from the strategies' (which every activity changes).
    let today = state.services.today();
    let parts = async {
        let standing = Standing::now(&state).await?;
        let rendered = &state.rendered;
        let flow = rendered
            .get_or_render(
                &standing,
                &["council_flow"],
                format!(
                    "rad flöde {today} {} {}",
                    asked.from.as_deref().unwrap_or(""),
                    asked.to.as_deref().unwrap_or("")
                ),
                || flow_part(&state, from, to),
            )
            .await?;
        let activity = rendered
            .get_or_render(
                &standing,
                &["strategy_overview"],
                format!("rad insatser {today} {from} {to}"),
                || activity_part(&state, from, to),
            )
            .await?;
        let reviews = rendered
            .get_or_render(
                &standing,
                &["council_flow"],
                format!("rad granskningar {today}"),
                || reviews_part(&state),
            )
            .await?;
        // The indicators that got worse change only with their figures (and the plan).
        let worse = rendered
            .get_or_render(
                &standing,
                &["indicator_values"],
                "rad nyckeltal".to_owned(),
                || async {
                    let indicators = state.queries.indicators(&state.settings.units).await?;
                    Ok::<_, AppError>(
                        crate::web::pages::indicators::moved_the_wrong_way(&indicators)
                            .into_string(),
                    )
                },
            )
            .await?;
        Ok::<_, AppError>(html! { (flow) (activity) (reviews) (worse) })
    };
    match parts.await {
        Ok(view) => {
            page("Informationsflödet", Some(&user.viewer()), html! { (view) }).into_response()
        }
        Err(error) => refused(error),
    }
}

/// The heading, the period's form, the diagram and table of the flow between the forums,
/// and the open items.
async fn flow_part(state: &AppState, from: Date, to: Date) -> Result<String, AppError> {
    let edges = state.queries.edges(from, to).await?;
    let (open, _) = state
        .queries
        .open_items_page(&Default::default(), 0, OPEN_ITEMS_SHOWN)
        .await?;
    let plan = state.services.plan().await?;
    let areas = components::area_names(state).await?;
    let none = FormErrors::default();
    let (from, to) = (from.to_string(), to.to_string());
    Ok(html! {
        h1 { "Informationsflödet" }
        form.filters method="get" aria-label="Välj period" {
            (input("fran", "Från", "date", &from, &none, None))
            (input("till", "Till", "date", &to, &none, None))
            button type="submit" { "Visa" }
        }
        p { a href=(paths::NewItem) { "Skicka en skrivelse till ett annat forum" } }
        section aria-labelledby="diagram" {
            h2 id="diagram" { "Skrivelser mellan forumen " (from) " – " (to) }
            // On a phone the drawing is too small to read: the table, with the same
            // figures, stands in its place.
            div.flow-diagram {
                (diagram(&edges, &areas, &plan))
                (legend())
            }
            p.phone-only { "På en liten skärm visas flödet som tabell. Diagrammet finns på en större skärm." }
            (edge_table(&edges, &plan, &areas))
        }
        section aria-labelledby="oppna" {
            h2 id="oppna" { "Öppna skrivelser, nyast först" }
            (open_items(&open, &plan, &areas, None))
            p { a href=(paths::OpenItems) { "Alla öppna skrivelser, med filter och det som är nytt för dig" } }
        }
    }
    .into_string())
}

/// The area × strategy heat map of the period and the silent strategies.
async fn activity_part(state: &AppState, from: Date, to: Date) -> Result<String, AppError> {
    let matrix = state.queries.matrix(from, to).await?;
    let silent = state.queries.silent_strategies(SILENT_DAYS).await?;
    let plan = state.services.plan().await?;
    let areas = components::area_names(state).await?;
    Ok(html! {
        section aria-labelledby="matris" {
            h2 id="matris" { "Insatser per strategi och område" }
            (heat_map(&matrix, &areas, &plan))
        }
        section aria-labelledby="tysta" {
            h2 id="tysta" { "Tysta strategier" }
            p.hint { "Strategier utan insatser de senaste 90 dagarna." }
            @if silent.is_empty() { (nothing("Inga tysta strategier.")) }
            ul {
                @for strategy in &silent {
                    li {
                        a href=(paths::strategy(strategy.id.to_string())) { (strategy.title) }
                        " – " (strategy.last_activity.as_deref().map(|d| format!("senaste insats {d}")).unwrap_or_else(|| "ingen insats ännu".into()))
                    }
                }
            }
        }
    }
    .into_string())
}

/// When the council last reviewed each area's timeline, and its feedback.
async fn reviews_part(state: &AppState) -> Result<String, AppError> {
    let reviews = state.queries.last_reviews().await?;
    let areas = components::area_names(state).await?;
    Ok(html! {
        section aria-labelledby="granskningar" {
            h2 id="granskningar" { "Rådets granskning av områdenas tidslinjer" }
            div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" { table {
                thead { tr { th scope="col" { "Område" } th scope="col" { "Senast granskad" } th scope="col" { "Period" } th scope="col" { "Återkoppling" } th scope="col" { "Granska" } } }
                tbody {
                    @for (id, name) in &areas {
                        @let review = reviews.iter().find(|r| &r.area == id);
                        tr {
                            th scope="row" { a href=(paths::area_timeline(id.to_string())) { (name) } }
                            td { (review.map(|r| crate::clock::datetime(r.reviewed_at)).unwrap_or_else(|| "Aldrig".into())) }
                            td { (review.map(|r| format!("{} – {}", r.period_start, r.period_end)).unwrap_or_default()) }
                            td { (review.map(|r| feedback_text(&r.feedback)).unwrap_or_default()) }
                            td { a href=(paths::AreaReview { area: id.to_string() }) { "Granska " (name) } }
                        }
                    }
                }
            } }
        }
    }
    .into_string())
}

/// A review's feedback as read: the text (or the erasure marker in its place).
fn feedback_text(feedback: &serde_json::Value) -> String {
    match feedback {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        _ => "(kan inte visas)".into(),
    }
}

fn edge_table(edges: &[Edge], plan: &Plan, areas: &[(String, String)]) -> Markup {
    let hours = |value: Option<f64>| {
        value
            .map(|h| {
                if h < 48.0 {
                    format!("{h:.0} tim")
                } else {
                    format!("{:.0} dagar", h / 24.0)
                }
            })
            .unwrap_or_else(|| "–".into())
    };
    html! {
        @if edges.is_empty() { (nothing("Inga skrivelser mellan forumen under perioden.")) } @else {
            div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" {
                table {
                    caption { "Per riktning: skickade, besvarade och öppna skrivelser, och tid till svar" }
                    thead { tr {
                        th scope="col" { "Från" } th scope="col" { "Till" } th.number scope="col" { "Skickade" } th.number scope="col" { "Besvarade" }
                        th.number scope="col" { "Öppna" } th.number scope="col" { "Median till svar" } th.number scope="col" { "Längst till svar" } th.number scope="col" { "Äldsta öppna (dagar)" }
                    } }
                    tbody {
                        @for edge in edges {
                            tr {
                                td { (forum_name(&edge.from_forum, plan, areas)) } td { (forum_name(&edge.to_forum, plan, areas)) }
                                td.number { (edge.raised) } td.number { (edge.answered) } td.number { (edge.open) }
                                td.number { (hours(edge.median_answer_hours)) } td.number { (hours(edge.longest_answer_hours)) }
                                td.number { (edge.oldest_open_days.map(|d| format!("{d:.0}")).unwrap_or_else(|| "–".into())) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The open items as a table; those raised after `new_since` (the viewer's last visit) are
/// marked new.
pub(super) fn open_items(
    items: &[OpenItem],
    plan: &Plan,
    areas: &[(String, String)],
    new_since: Option<time::OffsetDateTime>,
) -> Markup {
    html! {
        @if items.is_empty() { (nothing("Inga öppna skrivelser.")) } @else {
            div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" {
                table {
                    thead { tr { th scope="col" { "Skrivelse" } th scope="col" { "Typ" } th scope="col" { "Från" } th scope="col" { "Till" } th scope="col" { "Strategi" } th.number scope="col" { "Ålder (dagar)" } } }
                    tbody {
                        @for item in items {
                            tr {
                                td {
                                    a href=(paths::item(item.item_id)) { (item.title.as_deref().unwrap_or("(utan rubrik)")) }
                                    @if new_since.zip(item.raised_at).is_some_and(|(since, raised)| raised > since) { " " span.tag { "Nytt" } }
                                }
                                td { (item_kind_label(item.kind.as_deref().unwrap_or(""))) }
                                td { (forum_name(item.from_forum.as_deref().unwrap_or(""), plan, areas)) }
                                td { (forum_name(item.to_forum.as_deref().unwrap_or(""), plan, areas)) }
                                td { (item.strategy.as_deref().and_then(|s| plan.strategy(s)).map(|s| s.title()).unwrap_or("")) }
                                td.number { (format!("{:.0}", item.age_days)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Strategies as rows, areas as columns; the colour steps by quartile of the counts, and
/// every cell also says its number.
fn heat_map(cells: &[Cell], areas: &[(String, String)], plan: &Plan) -> Markup {
    let counts: HashMap<(&str, &str), i64> = cells
        .iter()
        .map(|c| ((c.strategy.as_str(), c.area.as_str()), c.activities))
        .collect();
    let mut values: Vec<i64> = counts.values().copied().filter(|v| *v > 0).collect();
    values.sort_unstable();
    let quartile = |q: f64| {
        values
            .get(((values.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0)
    };
    let (q1, q2, q3) = (quartile(0.25), quartile(0.5), quartile(0.75));
    let level = |v: i64| match v {
        0 => 0,
        v if v <= q1 => 1,
        v if v <= q2 => 2,
        v if v <= q3 => 3,
        _ => 4,
    };
    let by_process: BTreeMap<usize, Vec<_>> = plan
        .nodes(NodeKind::Strategy)
        .into_iter()
        .map(|s| {
            let order = plan
                .nodes(NodeKind::Process)
                .iter()
                .position(|p| p.id == s.text("process"))
                .unwrap_or(0);
            (order, s)
        })
        .fold(BTreeMap::new(), |mut map, (order, s)| {
            map.entry(order).or_insert_with(Vec::new).push(s);
            map
        });
    html! {
        div.table-scroll tabindex="0" role="region" aria-label="Tabell som kan rullas i sidled" {
            table.heat {
                caption.visually-hidden { "Antal insatser per strategi (rader) och område (kolumner) under perioden" }
                thead { tr { th scope="col" { "Strategi" } @for (_, name) in areas { th scope="col" { (name) } } } }
                tbody {
                    @for strategies in by_process.values() {
                        @for strategy in strategies {
                            tr {
                                th scope="row" { a href=(paths::strategy(strategy.id.to_string())) { (strategy.text("title")) } }
                                @for (area, _) in areas {
                                    @let count = counts.get(&(strategy.id.as_str(), area.as_str())).copied().unwrap_or(0);
                                    td class={ "heat-" (level(count)) } { (count) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
