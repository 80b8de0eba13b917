//! The diagram of the information flow: the committee above the council with the
//! coordinator beside it, area teams to the left, process owners to the right, one arrow per direction that carried items in the
//! period, its width by how many, its colour by the age of the oldest still open.

use maud::{Markup, html};
use std::collections::HashMap;

use crate::domain::plan::Plan;
use crate::queries::council::Edge;

const WIDTH: f64 = 1000.0;
// Half the width and height of a forum's box.
const HALF_W: f64 = 115.0;
const HALF_H: f64 = 24.0;

/// Where each forum's box is centred, with its label in one or two lines, and how tall the
/// drawing is.
struct Layout {
    positions: HashMap<String, (f64, f64, Vec<String>)>,
    height: f64,
}

impl Layout {
    /// The committee at the top, the council in the middle, the area teams down the left and
    /// the process owners that carried items down the right.
    fn of(edges: &[Edge], areas: &[(String, String)], plan: &Plan) -> Self {
        let mut processes: Vec<&String> = edges
            .iter()
            .flat_map(|e| [&e.from_forum, &e.to_forum])
            .filter(|f| f.starts_with("processagare:"))
            .collect();
        processes.sort();
        processes.dedup();
        let rows = areas.len().max(processes.len()).max(1) as f64;
        let height = (160.0 + rows * 80.0).max(380.0);
        let spread = |index: usize, count: usize| {
            140.0 + index as f64 * (height - 180.0) / (count.max(2) - 1) as f64
        };
        let mut positions = HashMap::new();
        positions.insert(
            "integrationsberedning".into(),
            (WIDTH / 2.0, 50.0, vec!["Integrationsberedningen".into()]),
        );
        // The coordinator presents to the committee (föredragande): beside it, at the top.
        positions.insert(
            "samordnare".into(),
            (
                WIDTH - HALF_W - 10.0,
                50.0,
                vec!["Verksamhetsutvecklaren".into(), "för integration".into()],
            ),
        );
        positions.insert(
            "integrationsrad".into(),
            (
                WIDTH / 2.0,
                height / 2.0 + 40.0,
                vec!["Integrationsrådet".into()],
            ),
        );
        for (index, (id, name)) in areas.iter().enumerate() {
            let label = vec!["Områdesteam".into(), name.clone()];
            positions.insert(
                format!("omradesteam:{id}"),
                (HALF_W + 10.0, spread(index, areas.len()), label),
            );
        }
        for (index, forum) in processes.iter().enumerate() {
            let process = forum.trim_start_matches("processagare:");
            let label = vec![
                "Processägare".into(),
                shortened(plan.process_title(process), 27),
            ];
            positions.insert(
                (*forum).clone(),
                (WIDTH - HALF_W - 10.0, spread(index, processes.len()), label),
            );
        }
        Self { positions, height }
    }

    /// The arrow of one direction between two forums, on its own side of the line between
    /// them, from box edge to box edge, its width by how many items it carried.
    fn arrow(&self, edge: &Edge) -> Option<Markup> {
        let (x1, y1, _) = self.positions.get(&edge.from_forum)?;
        let (x2, y2, _) = self.positions.get(&edge.to_forum)?;
        let (dx, dy) = (x2 - x1, y2 - y1);
        let length = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / length, dy / length);
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
    }
}

/// How far from a box's centre, along the unit direction (dx, dy), its edge is.
fn to_edge(dx: f64, dy: f64) -> f64 {
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
}

/// One forum's box with its label.
fn forum_box(x: f64, y: f64, label: &[String]) -> Markup {
    html! {
        rect x=(format!("{:.1}", x - HALF_W)) y=(format!("{:.1}", y - HALF_H)) width=(HALF_W * 2.0) height=(HALF_H * 2.0) rx="6" fill="#ffffff" stroke="#003b5c" stroke-width="2" {}
        @if label.len() == 1 {
            text.node-name x=(format!("{x:.1}")) y=(format!("{:.1}", y + 5.0)) text-anchor="middle" { (label[0]) }
        } @else {
            text.node-kind x=(format!("{x:.1}")) y=(format!("{:.1}", y - 4.0)) text-anchor="middle" { (label[0]) }
            text.node-name x=(format!("{x:.1}")) y=(format!("{:.1}", y + 14.0)) text-anchor="middle" { (label[1]) }
        }
    }
}

/// The diagram: the committee above the council, area teams to the left, process owners
/// to the right; one arrow per direction that carried items.
pub(super) fn diagram(edges: &[Edge], areas: &[(String, String)], plan: &Plan) -> Markup {
    let layout = Layout::of(edges, areas, plan);
    let mut nodes: Vec<_> = layout.positions.iter().collect();
    nodes.sort_by(|a, b| a.0.cmp(b.0));
    let description = format!(
        "{} riktningar mellan forumen bar skrivelser under perioden; tabellen nedan har samma siffror.",
        edges.len()
    );
    html! {
        svg.flow-diagram viewBox=(format!("0 0 {WIDTH} {}", layout.height)) role="img" aria-labelledby="flode-titel flode-beskrivning" xmlns="http://www.w3.org/2000/svg" {
            title id="flode-titel" { "Informationsflödet mellan forumen" }
            desc id="flode-beskrivning" { (description) }
            defs {
                @for class in ["none", "fresh", "old", "stale"] {
                    marker id={ "pil-" (class) } viewBox="0 0 10 10" refX="8" refY="5" markerUnits="userSpaceOnUse" markerWidth="14" markerHeight="14" orient="auto-start-reverse" {
                        path d="M 0 0 L 10 5 L 0 10 z" fill=(age_colour(class)) {}
                    }
                }
            }
            @for edge in edges { @if let Some(arrow) = layout.arrow(edge) { (arrow) } }
            @for (_, (x, y, label)) in &nodes { (forum_box(*x, *y, label)) }
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

/// The colour class of an edge by the age of its oldest open item.
pub(super) fn age_class(edge: &Edge) -> &'static str {
    match edge.oldest_open_days {
        None => "none",
        Some(days) if days < 14.0 => "fresh",
        Some(days) if days < 60.0 => "old",
        Some(_) => "stale",
    }
}

pub(super) fn age_colour(class: &str) -> &'static str {
    match class {
        "fresh" => "#1f6b30",
        "old" => "#7a4b00",
        "stale" => "#a4000f",
        _ => "#767676",
    }
}

pub(super) fn legend() -> Markup {
    html! {
        p.legend {
            span { span.swatch.swatch-none {} "Inga öppna" }
            span { span.swatch.swatch-fresh {} "Äldsta öppna under 14 dagar" }
            span { span.swatch.swatch-old {} "14–60 dagar" }
            span { span.swatch.swatch-stale {} "Över 60 dagar" }
            span { "Tjockare pil: fler skrivelser." }
        }
    }
}
