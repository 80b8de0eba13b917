//! `/sok?q=…`: search across every area's activities, cases and items between forums, by
//! their titles and partners (Swedish full-text search). Free text is sealed and never
//! indexed, so a search never finds what the viewer may not read.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::components::{self, refused};
use super::{PageUser, nothing, page};
use crate::web::AppState;
use crate::web::extract::Query;
use crate::web::paths;

/// How many results a search shows.
const RESULTS: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
}

pub async fn search(
    _: paths::Search,
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<SearchQuery>,
) -> Response {
    let words: String = query
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect();
    let found = if words.is_empty() {
        Vec::new()
    } else {
        match state.queries.search(&user.actor(), &words, RESULTS).await {
            Ok(found) => found,
            Err(error) => return refused(error),
        }
    };
    let (plan, areas) = match (
        state.services.plan().await,
        components::area_names(&state).await,
    ) {
        (Ok(plan), Ok(areas)) => (plan, areas),
        (Err(error), _) | (_, Err(error)) => return refused(error),
    };
    let area_name = |id: &str| {
        areas
            .iter()
            .find(|(area, _)| area == id)
            .map_or(id.to_owned(), |(_, name)| name.clone())
    };
    page(
        "Sök",
        Some(&user.viewer()),
        html! {
            h1 { "Sök" }
            form.filters role="search" method="get" action=(paths::Search) {
                div.field {
                    label for="q" { "Sök bland insatser, ärenden och skrivelser mellan forumen" }
                    p.hint id="q-tips" { "Sökningen letar i rubriker och samverkanspartner, till exempel ”språkcafé” eller ”Arbetsförmedlingen”." }
                    input id="q" name="q" type="search" value=(words) aria-describedby="q-tips";
                }
                button type="submit" { "Sök" }
            }
            @if !words.is_empty() {
                p role="status" {
                    @match found.len() {
                        0 => { "Inget hittades för ”" (words) "”." }
                        1 => { "1 träff för ”" (words) "”." }
                        n => { (n) " träffar för ”" (words) "”" @if n as i64 == RESULTS { ", de senaste visas" } "." }
                    }
                }
                @if found.is_empty() { (nothing("Prova andra ord, eller färre.")) }
                @for item in &found {
                    div.result {
                        ol.timeline { (super::area::entry(item, &plan)) }
                        p.hint {
                            "I " a href={ (paths::area_timeline(item.area.clone())) "?fran=" (item.date) "&till=" (item.date) "#h-" (item.position) } {
                                "tidslinjen för " (area_name(&item.area))
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}
