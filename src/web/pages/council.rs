//! The council's information flow (`/rad/informationsflode`): a server-rendered diagram of
//! the forums and area teams with arrows weighted by items and coloured by the age of the
//! open ones, the open items oldest first, the area × strategy heat map, the silent
//! strategies and the last reviews. Also an item's own page and raising a new item.

use crate::web::extract::FormBody;
use crate::web::extract::{Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

use super::components::{
    self, FormErrors, csrf, first, form_fields, forum_name, input, refused, see_other, select,
    textarea,
};
use super::rendered::Standing;
use super::{After, PageUser, nothing, page, settle};
use crate::access::{Action, authorize};
use crate::app::AppError;
use crate::app::ItemInput;
use crate::domain::item::{Forum, ItemKind};
use crate::domain::plan::{NodeKind, Plan};
use crate::queries::council::{COUNCIL_READS, Edge, ItemView, OpenItem, Step};
use crate::queries::period;
use crate::queries::strategies::{Cell, SILENT_DAYS};
use crate::queries::timeline::item_kind_label;
use crate::web::AppState;
use time::Date;

#[derive(Debug, Default, Deserialize)]
pub struct FlowQuery {
    pub fran: Option<String>,
    pub till: Option<String>,
    pub efter: Option<i64>,
    /// `alla` lists every open item (up to 200), not only the oldest few.
    pub oppna: Option<String>,
}

/// The period the council asked for, as it asked.
struct Asked {
    from: Option<String>,
    to: Option<String>,
}

/// How many of the open items the flow page lists unless asked for all.
const OPEN_ITEMS_SHOWN: usize = 25;

pub async fn flow(
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
        return super::error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ogiltig period",
            "Skriv datumen som ÅÅÅÅ-MM-DD, och slutet efter början.",
        );
    };
    settle(&state, query.efter, &COUNCIL_READS).await;
    let all_open = query.oppna.as_deref() == Some("alla");
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
                    "rad flöde {today} {} {} {all_open}",
                    asked.from.as_deref().unwrap_or(""),
                    asked.to.as_deref().unwrap_or("")
                ),
                || flow_part(&state, &asked, from, to, all_open),
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
        Ok::<_, AppError>(html! { (flow) (activity) (reviews) })
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
async fn flow_part(
    state: &AppState,
    asked: &Asked,
    from: Date,
    to: Date,
    all_open: bool,
) -> Result<String, AppError> {
    let edges = state.queries.edges(from, to).await?;
    let open = state.queries.open_items(200).await?;
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
        p { a href="/forum/nytt" { "Skicka ett ärende till ett annat forum" } }
        section aria-labelledby="diagram" {
            h2 id="diagram" { "Ärenden mellan forumen " (from) " – " (to) }
            (diagram(&edges, &areas, &plan))
            (legend())
            (edge_table(&edges, &plan, &areas))
        }
        section aria-labelledby="oppna" {
            h2 id="oppna" { "Öppna ärenden, äldst först" }
            @let shown = if all_open { open.len() } else { OPEN_ITEMS_SHOWN.min(open.len()) };
            (open_items(&open[..shown], &plan, &areas))
            @if shown < open.len() {
                p {
                    "Visar de " (shown) " äldsta. "
                    a href={ "?" (serde_urlencoded::to_string([("fran", asked.from.as_deref().unwrap_or("")), ("till", asked.to.as_deref().unwrap_or("")), ("oppna", "alla")]).unwrap_or_default()) "#oppna" } { "Visa alla öppna ärenden" }
                }
            }
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
                        a href={ "/planen/strategier/" (strategy.id) } { (strategy.title) }
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
            table {
                thead { tr { th scope="col" { "Område" } th scope="col" { "Senast granskad" } th scope="col" { "Period" } th scope="col" { "Återkoppling" } } }
                tbody {
                    @for (id, name) in &areas {
                        @let review = reviews.iter().find(|r| &r.area == id);
                        tr {
                            th scope="row" { a href={ "/omraden/" (id) } { (name) } }
                            td { (review.map(|r| crate::clock::datetime(r.reviewed_at)).unwrap_or_else(|| "Aldrig".into())) }
                            td { (review.map(|r| format!("{} – {}", r.period_start, r.period_end)).unwrap_or_default()) }
                            td { (review.map(|r| feedback_text(&r.feedback)).unwrap_or_default()) }
                        }
                    }
                }
            }
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

/// The colour class of an edge by the age of its oldest open item.
fn age_class(edge: &Edge) -> &'static str {
    match edge.oldest_open_days {
        None => "none",
        Some(days) if days < 14.0 => "fresh",
        Some(days) if days < 60.0 => "old",
        Some(_) => "stale",
    }
}

fn age_colour(class: &str) -> &'static str {
    match class {
        "fresh" => "#1f6b30",
        "old" => "#7a4b00",
        "stale" => "#a4000f",
        _ => "#767676",
    }
}

fn legend() -> Markup {
    html! {
        p.legend {
            span { span.swatch.swatch-none {} "Inga öppna" }
            span { span.swatch.swatch-fresh {} "Äldsta öppna under 14 dagar" }
            span { span.swatch.swatch-old {} "14–60 dagar" }
            span { span.swatch.swatch-stale {} "Över 60 dagar" }
            span { "Tjockare pil: fler ärenden." }
        }
    }
}

/// The diagram: the committee above the council, area teams to the left, process owners
/// to the right; one arrow per direction that carried items.
fn diagram(edges: &[Edge], areas: &[(String, String)], plan: &Plan) -> Markup {
    const WIDTH: f64 = 1000.0;
    // Half the width and height of a forum's box.
    const HALF_W: f64 = 115.0;
    const HALF_H: f64 = 24.0;
    // A forum: where its box is centred, and its label in one or two lines.
    let mut positions: HashMap<String, (f64, f64, Vec<String>)> = HashMap::new();
    positions.insert(
        "integrationsberedning".into(),
        (WIDTH / 2.0, 50.0, vec!["Integrationsberedningen".into()]),
    );
    let processes: Vec<String> = {
        let mut seen: Vec<String> = edges
            .iter()
            .flat_map(|e| [&e.from_forum, &e.to_forum])
            .filter(|f| f.starts_with("processagare:"))
            .cloned()
            .collect();
        seen.sort();
        seen.dedup();
        seen
    };
    let rows = areas.len().max(processes.len()).max(1) as f64;
    let height = (160.0 + rows * 80.0).max(380.0);
    positions.insert(
        "integrationsrad".into(),
        (
            WIDTH / 2.0,
            height / 2.0 + 40.0,
            vec!["Integrationsrådet".into()],
        ),
    );
    let spread = |index: usize, count: usize| {
        140.0 + index as f64 * (height - 180.0) / (count.max(2) - 1) as f64
    };
    for (index, (id, name)) in areas.iter().enumerate() {
        positions.insert(
            format!("omradesteam:{id}"),
            (
                HALF_W + 10.0,
                spread(index, areas.len()),
                vec!["Områdesteam".into(), name.clone()],
            ),
        );
    }
    for (index, forum) in processes.iter().enumerate() {
        let process = forum.trim_start_matches("processagare:");
        let title = plan
            .node(NodeKind::Process, process)
            .map(|p| p.text("title").to_owned())
            .unwrap_or_else(|| process.to_owned());
        positions.insert(
            forum.clone(),
            (
                WIDTH - HALF_W - 10.0,
                spread(index, processes.len()),
                vec!["Processägare".into(), shortened(&title, 27)],
            ),
        );
    }
    // How far from a box's centre, along (dx, dy), its edge is.
    let to_edge = |dx: f64, dy: f64| {
        let across = if dx.abs() > f64::EPSILON {
            HALF_W / dx.abs()
        } else {
            f64::INFINITY
        };
        let up = if dy.abs() > f64::EPSILON {
            HALF_H / dy.abs()
        } else {
            f64::INFINITY
        };
        across.min(up)
    };
    let arrows: Vec<Markup> = edges
        .iter()
        .filter_map(|edge| {
            let (x1, y1, _) = positions.get(&edge.from_forum)?;
            let (x2, y2, _) = positions.get(&edge.to_forum)?;
            let (dx, dy) = (x2 - x1, y2 - y1);
            let length = (dx * dx + dy * dy).sqrt().max(1.0);
            let (ux, uy) = (dx / length, dy / length);
            // Each direction on its own side of the line between the two forums.
            let (ox, oy) = (-uy * 8.0, ux * 8.0);
            let gap = to_edge(ux, uy) + 4.0;
            let (sx, sy) = (x1 + ux * gap + ox, y1 + uy * gap + oy);
            let (ex, ey) = (x2 - ux * gap + ox, y2 - uy * gap + oy);
            let width = 1.5 + (1.0 + edge.raised as f64).log2() * 1.2;
            let class = age_class(edge);
            Some(html! {
                line x1=(format!("{sx:.1}")) y1=(format!("{sy:.1}")) x2=(format!("{ex:.1}")) y2=(format!("{ey:.1}"))
                    stroke=(age_colour(class)) stroke-width=(format!("{width:.1}")) marker-end={ "url(#pil-" (class) ")" } {}
                text.edge-count x=(format!("{:.1}", sx + (ex - sx) * 0.4 + ox * 1.8)) y=(format!("{:.1}", sy + (ey - sy) * 0.4 + oy * 1.8 + 4.0)) text-anchor="middle" {
                    (edge.raised)
                }
            })
        })
        .collect();
    let mut nodes: Vec<_> = positions.iter().collect();
    nodes.sort_by(|a, b| a.0.cmp(b.0));
    let description = format!(
        "{} riktningar mellan forumen bar ärenden under perioden; tabellen nedan har samma siffror.",
        edges.len()
    );
    html! {
        svg.flow-diagram viewBox=(format!("0 0 {WIDTH} {height}")) role="img" aria-labelledby="flode-titel flode-beskrivning" xmlns="http://www.w3.org/2000/svg" {
            title id="flode-titel" { "Informationsflödet mellan forumen" }
            desc id="flode-beskrivning" { (description) }
            defs {
                @for class in ["none", "fresh", "old", "stale"] {
                    marker id={ "pil-" (class) } viewBox="0 0 10 10" refX="8" refY="5" markerUnits="userSpaceOnUse" markerWidth="14" markerHeight="14" orient="auto-start-reverse" {
                        path d="M 0 0 L 10 5 L 0 10 z" fill=(age_colour(class)) {}
                    }
                }
            }
            @for arrow in &arrows { (arrow) }
            @for (_, (x, y, label)) in &nodes {
                rect x=(format!("{:.1}", x - HALF_W)) y=(format!("{:.1}", y - HALF_H)) width=(HALF_W * 2.0) height=(HALF_H * 2.0) rx="6" fill="#ffffff" stroke="#003b5c" stroke-width="2" {}
                @if label.len() == 1 {
                    text.node-name x=(format!("{x:.1}")) y=(format!("{:.1}", y + 5.0)) text-anchor="middle" { (label[0]) }
                } @else {
                    text.node-kind x=(format!("{x:.1}")) y=(format!("{:.1}", y - 4.0)) text-anchor="middle" { (label[0]) }
                    text.node-name x=(format!("{x:.1}")) y=(format!("{:.1}", y + 14.0)) text-anchor="middle" { (label[1]) }
                }
            }
        }
    }
}

/// `text` cut at a word boundary to at most `max` characters, with an ellipsis when cut.
fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    let at_word = cut.rfind(' ').map(|i| &cut[..i]).unwrap_or(&cut);
    format!("{at_word}…")
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
        @if edges.is_empty() { (nothing("Inga ärenden mellan forumen under perioden.")) } @else {
            div.table-scroll {
                table {
                    caption { "Per riktning: skickade, besvarade och öppna ärenden, och tid till svar" }
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

fn open_items(items: &[OpenItem], plan: &Plan, areas: &[(String, String)]) -> Markup {
    html! {
        @if items.is_empty() { (nothing("Inga öppna ärenden.")) } @else {
            div.table-scroll {
                table {
                    thead { tr { th scope="col" { "Ärende" } th scope="col" { "Slag" } th scope="col" { "Från" } th scope="col" { "Till" } th scope="col" { "Strategi" } th.number scope="col" { "Ålder (dagar)" } } }
                    tbody {
                        @for item in items {
                            tr {
                                td { a href={ "/forum/" (item.item_id) } { (item.title.as_deref().unwrap_or("(utan rubrik)")) } }
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
        div.table-scroll {
            table.heat {
                caption.visually-hidden { "Antal insatser per strategi (rader) och område (kolumner) under perioden" }
                thead { tr { th scope="col" { "Strategi" } @for (_, name) in areas { th scope="col" { (name) } } } }
                tbody {
                    @for strategies in by_process.values() {
                        @for strategy in strategies {
                            tr {
                                th scope="row" { a href={ "/planen/strategier/" (strategy.id) } { (strategy.text("title")) } }
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

// ---------------------------------------------------------------------- one item

pub async fn item(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
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
        super::error_page(
            StatusCode::NOT_FOUND,
            "Finns inte",
            "Ärendet mellan forumen finns inte.",
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
    let may_answer = authorize(&actor, &settle_as(false)).is_ok();
    let may_close = authorize(&actor, &settle_as(true)).is_ok();
    let body = page(
        &item.title,
        Some(&user.viewer()),
        item_body(&item, user, errors, may_answer, may_close),
    );
    (status, body).into_response()
}

/// An item's page: what it says, where it stands, what may be done with it, its history.
fn item_body(
    item: &ItemView,
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
        p { a href="/rad/informationsflode" { "← Informationsflödet" } }
        h1 { (item.title) }
        dl {
            dt { "Slag" } dd { (item_kind_label(&item.kind)) }
            dt { "Från" } dd { (item.from.label()) }
            dt { "Till" } dd { (item.to.label()) }
            @if let Some(case_id) = item.case_id { dt { "Gäller ärendet" } dd { a href={ "/arenden/" (case_id) } { "Öppna ärendet" } } }
            dt { "Status" } dd { (match status_now { ItemStatus::Raised => "Skickat", ItemStatus::Acknowledged => "Mottaget", ItemStatus::Answered => "Besvarat", ItemStatus::Closed => "Stängt" }) }
        }
        @if !item.text.is_empty() { h2 { "Text" } p { (item.text) } }
        @if let (Some(answer), Some(answered)) = (&item.answer, &item.answered) {
            h2 { "Svar" }
            p { (answer) }
            p.meta { (answered.by.as_deref().unwrap_or("")) ", " (crate::clock::datetime(answered.at)) }
        }
        (super::layout::error_summary(&errors.0))
        div.actions {
            @if may_answer && status_now == ItemStatus::Raised {
                form method="post" action={ "/forum/" (item_id) "/mottaget" } { (csrf(&user.csrf)) button.secondary type="submit" { "Bekräfta mottagandet" } }
            }
            @if may_answer && matches!(status_now, ItemStatus::Raised | ItemStatus::Acknowledged) {
                form.stack method="post" action={ "/forum/" (item_id) "/svara" } {
                    (csrf(&user.csrf))
                    (textarea("answer", "Svar", "", errors, None))
                    button type="submit" { "Skicka svaret" }
                }
            }
            @if may_close && status_now != ItemStatus::Closed {
                form method="post" action={ "/forum/" (item_id) "/stang" } { (csrf(&user.csrf)) button.secondary type="submit" { "Stäng ärendet" } }
            }
        }
        h2 { "Händelser" }
        ol.timeline {
            (step(&format!("{} från {} till {}: {}", item_kind_label(&item.kind), item.from.label(), item.to.label(), item.title), &item.raised))
            @if let Some(acknowledged) = &item.acknowledged { (step("Mottagandet bekräftades", acknowledged)) }
            @if let Some(answered) = &item.answered { (step("Ärendet besvarades", answered)) }
            @if let Some(closed) = &item.closed { (step("Ärendet stängdes", closed)) }
        }
    }
}

pub async fn act_on_item(
    State(state): State<AppState>,
    user: PageUser,
    Path((id, action)): Path<(String, String)>,
    FormBody(body): FormBody,
) -> Response {
    let Ok(item_id) = Uuid::parse_str(&id) else {
        return super::error_page(StatusCode::NOT_FOUND, "Finns inte", "Ärendet finns inte.");
    };
    let fields = form_fields(&body);
    let ctx = user.ctx(&fields);
    let outcome = match action.as_str() {
        "mottaget" => state.services.acknowledge_item(&ctx, item_id).await,
        "svara" => {
            state
                .services
                .answer_item(&ctx, item_id, first(&fields, "answer"))
                .await
        }
        "stang" => state.services.close_item(&ctx, item_id).await,
        _ => {
            return super::error_page(
                StatusCode::NOT_FOUND,
                "Finns inte",
                "Den åtgärden finns inte.",
            );
        }
    };
    match outcome {
        Ok(done) => see_other(&format!("/forum/{item_id}?efter={}", done.position)),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                render_item(
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

// ---------------------------------------------------------------------- raising an item

fn item_form(
    user: &PageUser,
    plan: &Plan,
    areas: &[(String, String)],
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Markup {
    let mut forums: Vec<(String, String)> = vec![
        ("integrationsrad".into(), "Integrationsrådet".into()),
        (
            "integrationsberedning".into(),
            "Integrationsberedningen".into(),
        ),
    ];
    forums.extend(
        areas
            .iter()
            .map(|(id, name)| (format!("omradesteam:{id}"), format!("Områdesteam {name}"))),
    );
    forums.extend(plan.nodes(NodeKind::Process).into_iter().map(|p| {
        (
            format!("processagare:{}", p.id),
            format!("Processägare: {}", p.text("title")),
        )
    }));
    let actor = user.actor();
    let mine: Vec<(String, String)> = forums
        .iter()
        .filter(|(id, _)| {
            id.parse::<Forum>()
                .is_ok_and(|forum| authorize(&actor, &Action::SendAs { forum: &forum }).is_ok())
        })
        .cloned()
        .collect();
    let kinds: Vec<(String, String)> = ItemKind::ALL
        .iter()
        .map(|k| {
            (
                serde_json::to_value(k)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                k.label().to_owned(),
            )
        })
        .collect();
    let mut strategies = vec![(String::new(), "Ingen särskild".to_owned())];
    strategies.extend(
        plan.nodes(NodeKind::Strategy)
            .into_iter()
            .map(|s| (s.id.clone(), s.text("title").to_owned())),
    );
    html! {
        (super::layout::error_summary(&errors.0))
        form.stack method="post" action="/forum/nytt" novalidate {
            (csrf(&user.csrf))
            (select("from", "Från", &mine, first(values, "from"), errors))
            (select("to", "Till", &forums, first(values, "to"), errors))
            (select("kind", "Slag", &kinds, first(values, "kind"), errors))
            (input("title", "Rubrik", "text", first(values, "title"), errors, Some("Kort, utan namn på personer.")))
            (textarea("text", "Text", first(values, "text"), errors, None))
            (select("strategy", "Strategi", &strategies, first(values, "strategy"), errors))
            button type="submit" { "Skicka" }
        }
    }
}

async fn item_form_page(
    state: &AppState,
    user: &PageUser,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
    status: StatusCode,
) -> Response {
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let areas = match components::area_names(state).await {
        Ok(areas) => areas,
        Err(error) => return refused(error),
    };
    (status, page("Nytt ärende mellan forum", Some(&user.viewer()), html! { h1 { "Skicka ett ärende till ett annat forum" } (item_form(user, &plan, &areas, values, errors)) })).into_response()
}

pub async fn new_item(State(state): State<AppState>, user: PageUser) -> Response {
    item_form_page(
        &state,
        &user,
        &HashMap::new(),
        &FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn raise_item(
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let kind = serde_json::from_value::<ItemKind>(serde_json::json!(first(&fields, "kind"))).ok();
    let input = ItemInput {
        from: first(&fields, "from").to_owned(),
        to: first(&fields, "to").to_owned(),
        kind,
        title: first(&fields, "title").to_owned(),
        text: first(&fields, "text").to_owned(),
        strategy: Some(first(&fields, "strategy").to_owned()),
        area: None,
    };
    match state.services.raise_item(&user.ctx(&fields), &input).await {
        Ok(done) => see_other(&format!("/forum/{}?efter={}", done.id, done.position)),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                item_form_page(
                    &state,
                    &user,
                    &fields,
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            None => refused(error),
        },
    }
}
