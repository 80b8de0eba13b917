//! `/rad/oppna`: every item between forums still waiting for an answer, newest first, with
//! filters (type, sender, area, age) and pages, and what arrived since the viewer's last
//! visit marked new.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::flow::open_items;
use crate::domain::item::ItemKind;
use crate::queries::council::{COUNCIL_READS, OpenItemFilter};
use crate::queries::timeline::item_kind_label;
use crate::web::AppState;
use crate::web::extract::Query;
use crate::web::pages::components::{self, FormErrors, forum_name, refused, select};
use crate::web::pages::{PageUser, page, settle};
use crate::web::paths;

/// How many items a page lists.
const PER_PAGE: i64 = 25;

/// The ages one can choose, in days: (value, label, from, below).
const AGES: [(&str, &str, Option<f64>, Option<f64>); 3] = [
    ("ny", "Under 14 dagar", None, Some(14.0)),
    ("14-60", "14–60 dagar", Some(14.0), Some(60.0)),
    ("60", "Över 60 dagar", Some(60.0), None),
];

#[derive(Debug, Default, Deserialize)]
pub struct OpenItemsQuery {
    pub typ: Option<String>,
    pub fran: Option<String>,
    pub omrade: Option<String>,
    pub alder: Option<String>,
    pub sida: Option<i64>,
    pub efter: Option<i64>,
}

impl OpenItemsQuery {
    fn filter(&self) -> OpenItemFilter {
        let chosen = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let age = AGES
            .iter()
            .find(|(value, ..)| Some(*value) == self.alder.as_deref());
        OpenItemFilter {
            kind: chosen(&self.typ),
            from_forum: chosen(&self.fran),
            area: chosen(&self.omrade),
            min_days: age.and_then(|(_, _, from, _)| *from),
            max_days: age.and_then(|(_, _, _, below)| *below),
        }
    }

    /// The query string of the same filters on page `page`.
    fn on_page(&self, page: i64) -> String {
        serde_urlencoded::to_string([
            ("typ", self.typ.as_deref().unwrap_or("")),
            ("fran", self.fran.as_deref().unwrap_or("")),
            ("omrade", self.omrade.as_deref().unwrap_or("")),
            ("alder", self.alder.as_deref().unwrap_or("")),
            ("sida", &page.to_string()),
        ])
        .unwrap_or_default()
    }
}

pub async fn list(
    _: paths::OpenItems,
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<OpenItemsQuery>,
) -> Response {
    settle(&state, query.efter, &COUNCIL_READS).await;
    let page_number = query.sida.unwrap_or(1).clamp(1, 10_000);
    let listed = state
        .queries
        .open_items_page(&query.filter(), (page_number - 1) * PER_PAGE, PER_PAGE)
        .await;
    let ((items, total), plan, areas) = match (
        listed,
        state.services.plan().await,
        components::area_names(&state).await,
    ) {
        (Ok(listed), Ok(plan), Ok(areas)) => (listed, plan, areas),
        (Err(error), ..) | (_, Err(error), _) | (.., Err(error)) => return refused(error),
    };
    let now = state.services.clock().now();
    let last_visit = state
        .accounts
        .visit(user.user.user_id, "rad/oppna", now)
        .await
        .unwrap_or(None);
    let new = last_visit.map(|since| {
        items
            .iter()
            .filter(|item| item.raised_at.is_some_and(|raised| raised > since))
            .count()
    });
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    page(
        "Öppna skrivelser mellan forumen",
        Some(&user.viewer()),
        html! {
            p { a href=(paths::CouncilFlow) { "← Informationsflödet" } }
            h1 { "Öppna skrivelser mellan forumen" }
            p role="status" {
                (total) " skrivelser väntar på svar. Nyast först."
                @match (new, last_visit) {
                    (Some(new), Some(since)) => { " " (new) " på den här sidan har kommit sedan ditt senaste besök (" (crate::clock::datetime(since)) ") och är märkta Nytt." }
                    _ => {}
                }
            }
            (filters(&query, &plan, &areas))
            (open_items(&items, &plan, &areas, last_visit))
            (paging(&query, page_number, pages))
        },
    )
    .into_response()
}

/// The filters: type, sender, area and age.
fn filters(
    query: &OpenItemsQuery,
    plan: &crate::domain::plan::Plan,
    areas: &[(String, String)],
) -> Markup {
    let none = FormErrors::default();
    let mut kinds = vec![(String::new(), "Alla typer".to_owned())];
    kinds.extend(ItemKind::ALL.iter().map(|kind| {
        let value = serde_json::to_value(kind).ok();
        let value = value.as_ref().and_then(|v| v.as_str()).unwrap_or_default();
        (value.to_owned(), item_kind_label(value).to_owned())
    }));
    let mut senders = vec![(String::new(), "Alla avsändare".to_owned())];
    let mut forums: Vec<String> = vec![
        "integrationsrad".into(),
        "integrationsberedning".into(),
        "samordnare".into(),
    ];
    forums.extend(areas.iter().map(|(id, _)| format!("omradesteam:{id}")));
    forums.extend(
        plan.nodes(crate::domain::plan::NodeKind::Process)
            .into_iter()
            .map(|p| format!("processagare:{}", p.id)),
    );
    senders.extend(
        forums
            .into_iter()
            .map(|forum| (forum.clone(), forum_name(&forum, plan, areas))),
    );
    let mut area_options = vec![(String::new(), "Alla områden".to_owned())];
    area_options.extend(areas.iter().cloned());
    let mut ages = vec![(String::new(), "Alla åldrar".to_owned())];
    ages.extend(
        AGES.iter()
            .map(|(value, label, ..)| ((*value).to_owned(), (*label).to_owned())),
    );
    html! {
        form.filters method="get" aria-label="Filtrera de öppna skrivelserna" {
            (select("typ", "Typ", &kinds, query.typ.as_deref().unwrap_or(""), &none))
            (select("fran", "Från", &senders, query.fran.as_deref().unwrap_or(""), &none))
            (select("omrade", "Område", &area_options, query.omrade.as_deref().unwrap_or(""), &none))
            (select("alder", "Har väntat", &ages, query.alder.as_deref().unwrap_or(""), &none))
            button type="submit" { "Visa" }
        }
    }
}

/// Links to the page before and after, and where this page is.
fn paging(query: &OpenItemsQuery, page: i64, pages: i64) -> Markup {
    html! {
        nav aria-label="Sidor" {
            p {
                @if page > 1 { a href={ (paths::OpenItems) "?" (query.on_page(page - 1)) } rel="prev" { "Föregående sida" } " · " }
                "Sida " (page) " av " (pages)
                @if page < pages { " · " a href={ (paths::OpenItems) "?" (query.on_page(page + 1)) } rel="next" { "Nästa sida" } }
            }
        }
    }
}
