//! An area: its timeline with filters, paging and exports, the council's review of it, and
//! logging an activity.

use crate::web::extract::FormBody;
use crate::web::extract::Query;
use crate::web::paths;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;

use super::components::{
    self, FormErrors, csrf, first, form_fields, input, refused, see_other, select, textarea,
};
use super::rendered::Standing;
use super::{PageUser, nothing, page, settle};
use crate::access::{Action, authorize, permits};
use crate::domain::activity::ActivityInput;
use crate::domain::actor::Role;
use crate::domain::plan::{NodeKind, Plan};
use crate::queries::timeline::{KINDS, PageCursor, Reading, TimelineFilter, TimelineItem};
use crate::web::AppState;

pub async fn list(_: paths::Areas, State(state): State<AppState>, user: PageUser) -> Response {
    let areas = match state.services.areas().await {
        Ok(areas) => areas,
        Err(error) => return refused(error),
    };
    page(
        "Områden",
        Some(&user.viewer()),
        html! {
            h1 { "Områden" }
            ul.cards {
                @for area in areas.all() {
                    li {
                        h2 { a href=(paths::area_timeline(area.id.to_string())) { (area.name) } }
                        p { a href=(paths::AreaCases { area: area.id.to_string() }) { "Ärenden i " (area.name) } }
                    }
                }
            }
        },
    )
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct TimelineQuery {
    pub fran: Option<String>,
    pub till: Option<String>,
    pub strategi: Option<String>,
    pub process: Option<String>,
    pub typ: Option<String>,
    pub sida: Option<String>,
    pub efter: Option<i64>,
    pub klart: Option<String>,
}

impl TimelineQuery {
    fn filter(&self) -> (TimelineFilter, Vec<String>) {
        let mut problems = Vec::new();
        let date = |field: &str, text: &Option<String>, problems: &mut Vec<String>| {
            let text = text.as_deref().filter(|t| !t.is_empty())?;
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match time::Date::parse(text, &format) {
                Ok(date) => Some(date),
                Err(_) => {
                    problems.push(format!("{field}: skriv datumet som ÅÅÅÅ-MM-DD."));
                    None
                }
            }
        };
        // Ids of the plan only: anything else is a hand-made address.
        let slug = |field: &str, text: &Option<String>, problems: &mut Vec<String>| {
            let text = text.as_deref().filter(|t| !t.is_empty())?;
            match crate::domain::values::Slug::parse(field, text) {
                Ok(_) => Some(text.to_owned()),
                Err(_) => {
                    problems.push(format!("{field}: välj ur listan."));
                    None
                }
            }
        };
        let filter = TimelineFilter {
            from: date("Från", &self.fran, &mut problems),
            to: date("Till", &self.till, &mut problems),
            strategy: slug("Strategi", &self.strategi, &mut problems),
            process: slug("Process", &self.process, &mut problems),
            kind: self
                .typ
                .clone()
                .filter(|k| KINDS.iter().any(|(known, _)| known == k)),
            case_id: None,
            activity_id: None,
        };
        (filter, problems)
    }

    /// The query string of the filters (for paging and export links).
    fn filters(&self) -> String {
        let pairs = [
            ("fran", &self.fran),
            ("till", &self.till),
            ("strategi", &self.strategi),
            ("process", &self.process),
            ("typ", &self.typ),
        ];
        let mut encoder = form_urlencoded::Serializer::new(String::new());
        for (key, value) in pairs {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                encoder.append_pair(key, value);
            }
        }
        encoder.finish()
    }
}

use crate::queries::timeline::READS as TIMELINE_READS;
const PAGE_SIZE: i64 = 50;

pub async fn timeline(
    paths::AreaTimeline { area: area_id }: paths::AreaTimeline,
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<TimelineQuery>,
) -> Response {
    let area = match state.services.require_area(&area_id).await {
        Ok(area) => area,
        Err(error) => return refused(error),
    };
    settle(&state, query.efter, &TIMELINE_READS).await;
    let (filter, problems) = query.filter();
    let cursor = query.sida.as_deref().and_then(PageCursor::decode);
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let filters = query.filters();
    let actor = user.actor();
    let listing = match listing(&state, &actor, &area, &filter, cursor, &filters).await {
        Ok(listing) => listing,
        Err(error) => return refused(error),
    };
    let areas = state.services.areas().await.ok();
    let name = areas
        .as_ref()
        .and_then(|areas| areas.get(area.as_str()))
        .map(|a| a.name.clone())
        .unwrap_or_else(|| area.to_string());
    let may_write = permits(
        &actor,
        &Action::WriteActivity {
            area: area.as_str(),
        },
    );
    let may_review = permits(&actor, &Action::ReviewTimeline);
    page(
        &format!("Tidslinje {name}"),
        Some(&user.viewer()),
        html! {
            h1 { "Tidslinje: " (name) }
            @if let Some(done) = &query.klart {
                p.notice role="status" {
                    (match done.as_str() { "insats" => "Insatsen är loggad.", "granskning" => "Granskningen är sparad.", _ => "Klart." })
                    @if let (Some(position), "insats") = (query.efter, done.as_str()) {
                        " " a href={ "#h-" (position) } { "Visa insatsen i tidslinjen" }
                    }
                }
            }
            p.actions {
                @if may_write {
                    a.button href=(paths::NewActivity { area: area.to_string() }) { "Logga en insats" }
                }
                a.button.secondary href=(paths::AreaCases { area: area.to_string() }) { "Ärenden" }
                a.button.secondary href=(paths::AreaFollowUps { area: area.to_string() }) { "Behöver följas upp" }
                @if may_review {
                    a.button.secondary href=(paths::AreaReview { area: area.to_string() }) { "Granska tidslinjen" }
                }
            }
            (filter_form(&plan, &query))
            @for problem in &problems { p.field-error { (problem) } }
            p {
                "Exportera det som visas: "
                a href={ (paths::AreaExportCsv { area: area.to_string() }) "?" (filters) } { "CSV" }
                " · "
                a href={ (paths::AreaExportJson { area: area.to_string() }) "?" (filters) } { "JSON" }
            }
            (listing)
        },
    )
    .into_response()
}

/// One page of the timeline as shown, kept rendered while the read models it comes from
/// stand still. The entries shown depend on the area, the filters, the page and which of the
/// area's secret texts the viewer reads; nothing else about the viewer.
async fn listing(
    state: &AppState,
    actor: &crate::domain::actor::Actor,
    area: &crate::domain::values::Slug,
    filter: &crate::queries::timeline::TimelineFilter,
    cursor: Option<PageCursor>,
    filters: &str,
) -> Result<maud::PreEscaped<std::sync::Arc<str>>, crate::app::AppError> {
    let reading = crate::privacy::visibility::reading_class(actor, Some(area.as_str()));
    let key = format!(
        "tidslinje {area} {reading} {} {filters}",
        cursor.map(|c| c.encode()).unwrap_or_default()
    );
    // One connection for where the read models stand and for the page's entries, taken
    // after the plan and the areas (whose caches may take one of their own).
    let naming = state.queries.naming().await?;
    let mut connection = state.pool.acquire().await?;
    let standing = Standing::read(&mut *connection, &naming).await?;
    state
        .rendered
        .get_or_render(&standing, &TIMELINE_READS, key, || async {
            let (items, next) = state
                .queries
                .timeline_on(
                    &mut connection,
                    &naming,
                    actor,
                    Reading::Shown,
                    area.as_str(),
                    filter,
                    cursor,
                    PAGE_SIZE,
                )
                .await?;
            Ok(timeline_listing(area.as_str(), &items, next, filters, &naming.plan).into_string())
        })
        .await
}

/// The entries of one page of a timeline, newest first, and the link to the next page.
fn timeline_listing(
    area: &str,
    items: &[TimelineItem],
    next: Option<PageCursor>,
    filters: &str,
    plan: &Plan,
) -> Markup {
    html! {
        @if items.is_empty() {
            (nothing("Inga händelser matchar filtret."))
        } @else {
            ol.timeline aria-label="Händelser, nyast först" {
                @for item in items { (entry(item, plan)) }
            }
        }
        @if let Some(next) = next {
            p { a href={ (paths::area_timeline(area.to_string())) "?" (filters) "&sida=" (next.encode()) } rel="next" { "Äldre händelser" } }
        }
    }
}

fn filter_form(plan: &Plan, query: &TimelineQuery) -> Markup {
    let mut strategies = vec![(String::new(), "Alla strategier".to_owned())];
    strategies.extend(
        plan.nodes(NodeKind::Strategy)
            .into_iter()
            .map(|node| (node.id.clone(), node.text("title").to_owned())),
    );
    let mut processes = vec![(String::new(), "Alla processer".to_owned())];
    processes.extend(
        plan.nodes(NodeKind::Process)
            .into_iter()
            .map(|node| (node.id.clone(), node.text("title").to_owned())),
    );
    let mut kinds = vec![(String::new(), "Alla slag".to_owned())];
    kinds.extend(
        KINDS
            .iter()
            .map(|(value, label)| (value.to_string(), label.to_string())),
    );
    let none = FormErrors::default();
    html! {
        form.filters method="get" role="search" aria-label="Filtrera tidslinjen" {
            (input("fran", "Från", "date", query.fran.as_deref().unwrap_or(""), &none, None))
            (input("till", "Till", "date", query.till.as_deref().unwrap_or(""), &none, None))
            (select("strategi", "Strategi", &strategies, query.strategi.as_deref().unwrap_or(""), &none))
            (select("process", "Process", &processes, query.process.as_deref().unwrap_or(""), &none))
            (select("typ", "Typ", &kinds, query.typ.as_deref().unwrap_or(""), &none))
            button type="submit" { "Filtrera" }
        }
    }
}

/// The free text an entry carries (description, note, answer…), in the order shown.
fn free_texts(item: &TimelineItem) -> Vec<&str> {
    item.texts
        .iter()
        .map(|text| text.shown())
        .filter(|text| !text.is_empty())
        .collect()
}

/// One entry of a timeline.
pub fn entry(item: &TimelineItem, plan: &Plan) -> Markup {
    let texts = free_texts(item);
    let role_label = item
        .actor
        .role
        .as_deref()
        .and_then(|role| role.parse::<Role>().ok())
        .map(|role| role.label())
        .unwrap_or("");
    html! {
        li id={ "h-" (item.position) } {
            p.what { (item.summary) }
            @for text in &texts { p { (text) } }
            @if let Some(activity) = item.activity.as_ref().filter(|a| a.follow_up || !a.partners.is_empty()) {
                p.facts {
                    @if !activity.partners.is_empty() { "Samverkan: " (activity.partners.join(", ")) " " }
                    @if activity.follow_up { span.tag { "Behöver följas upp" } }
                }
            }
            @if item.secret { p { span.tag { "Sekretessmarkerad" } } }
            p.meta {
                time datetime=(item.date) { (item.date) }
                @let name = item.actor.name.as_deref().unwrap_or("");
                " · " (name)
                @if components::role_adds_to(name, role_label) { " (" (role_label) ")" }
                @if let Some(activity) = &item.activity {
                    " · " a href=(paths::Activity { id: activity.activity_id.to_string() }) { "Insatsens sida" }
                }
                @if let Some(case_id) = item.case_id {
                    " · " a href=(paths::case(case_id)) { "Ärendet" }
                }
                @if let Some(item_id) = item.item_id.filter(|_| item.kind == "forum") {
                    " · " a href=(paths::item(item_id)) { "Skrivelsen" }
                }
            }
            @if !item.strategies.is_empty() {
                p {
                    span.visually-hidden { "Strategier: " }
                    @for strategy in &item.strategies {
                        (components::tag(plan.strategy(strategy).map(|s| s.title()).unwrap_or(strategy)))
                    }
                }
            }
        }
    }
}

fn review_form(
    area: &str,
    token: &str,
    errors: &FormErrors,
    values: &HashMap<String, Vec<String>>,
) -> Markup {
    html! {
        section aria-labelledby="granska" {
            h2 id="granska" { "Granskningen" }
            (super::layout::error_summary(&errors.0))
            form.stack method="post" action=(paths::AreaReview { area: area.to_string() }) {
                (csrf(token))
                (input("period_start", "Periodens första dag", "date", first(values, "period_start"), errors, None))
                (input("period_end", "Periodens sista dag", "date", first(values, "period_end"), errors, None))
                (textarea("feedback", "Återkoppling till områdesteamet", first(values, "feedback"), errors, None))
                button type="submit" { "Spara granskningen" }
            }
        }
    }
}

/// `/omraden/{area}/granskning`: the council reviews an area's timeline, for the first
/// period it has not reviewed unless it chooses another.
pub async fn review_page(
    paths::AreaReview { area }: paths::AreaReview,
    State(state): State<AppState>,
    user: PageUser,
) -> Response {
    review_page_with(
        &state,
        &user,
        &area,
        &HashMap::new(),
        &FormErrors::default(),
    )
    .await
}

async fn review_page_with(
    state: &AppState,
    user: &PageUser,
    area: &str,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Response {
    if let Err(error) = state.services.require_area(area).await {
        return refused(error);
    }
    if let Err(refusal) = authorize(&user.actor(), &Action::ReviewTimeline) {
        return refused(crate::app::AppError::Forbidden(refusal.0));
    }
    let last = match state.queries.last_reviews().await {
        Ok(reviews) => reviews.into_iter().find(|r| r.area == area),
        Err(error) => return refused(error),
    };
    let today = state.services.today();
    let cycle = match state.services.follow_up().await {
        Ok(follow_up) => follow_up.cycle,
        Err(error) => return refused(error),
    };
    let (start, end) = crate::domain::strategy::first_unreviewed(
        cycle,
        last.as_ref().map(|r| r.period_end),
        today,
    );
    let mut shown = HashMap::from([
        ("period_start".to_owned(), vec![start.to_string()]),
        ("period_end".to_owned(), vec![end.to_string()]),
    ]);
    shown.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
    let name = components::area_name(state, area).await;
    let status = if errors.0.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = page(
        &format!("Granska {name}"),
        Some(&user.viewer()),
        html! {
            p { a href=(paths::area_timeline(area.to_string())) { "← Tidslinjen för " (name) } }
            h1 { "Granska tidslinjen för " (name) }
            p id="forslag" {
                @match &last {
                    Some(review) => {
                        "Senast granskade period: " (review.period_start) " – " (review.period_end)
                        " (granskad " (crate::clock::datetime(review.reviewed_at)) "). "
                        "Förslaget nedan är den första perioden efter den: " (start) " – " (end) "."
                    }
                    None => {
                        "Tidslinjen har inte granskats förut. Förslaget nedan är den senaste avslutade perioden (uppföljningen görs per " (cycle.label()) "): "
                        (start) " – " (end) "."
                    }
                }
                " Ändra datumen för att granska en annan period."
            }
            p { a href={ (paths::area_timeline(area.to_string())) "?fran=" (start) "&till=" (end) } { "Se tidslinjen för perioden" } }
            (review_form(area, &user.csrf, errors, &shown))
        },
    );
    (status, body).into_response()
}

pub async fn review(
    paths::AreaReview { area }: paths::AreaReview,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let input = crate::app::ReviewInput {
        period_start: first(&fields, "period_start").to_owned(),
        period_end: first(&fields, "period_end").to_owned(),
        feedback: first(&fields, "feedback").to_owned(),
    };
    match state
        .services
        .review_timeline(&user.ctx(&fields), &area, &input)
        .await
    {
        Ok(done) => see_other(&format!(
            "{}?efter={}&klart=granskning",
            paths::area_timeline(area.to_string()),
            done.position
        )),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => review_page_with(&state, &user, &area, &fields, &errors).await,
            None => refused(error),
        },
    }
}

const EXPORT_LIMIT: i64 = 10_000;

async fn export_items(
    state: &AppState,
    user: &PageUser,
    area: &str,
    query: &TimelineQuery,
) -> Result<Vec<TimelineItem>, Response> {
    state.services.require_area(area).await.map_err(refused)?;
    let (filter, _) = query.filter();
    let (items, _) = state
        .queries
        .timeline(
            &user.actor(),
            Reading::WithData,
            area,
            &filter,
            None,
            EXPORT_LIMIT,
        )
        .await
        .map_err(refused)?;
    Ok(items)
}

/// The filtered timeline as JSON (at most 10 000 entries), as the viewer may see it.
pub async fn export_json(
    paths::AreaExportJson { area }: paths::AreaExportJson,
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<TimelineQuery>,
) -> Response {
    match export_items(&state, &user, &area, &query).await {
        Ok(items) => (
            [(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"tidslinje-{area}.json\""),
            )],
            axum::Json(items),
        )
            .into_response(),
        Err(response) => response,
    }
}

/// The filtered timeline as CSV (semicolon-separated, as Swedish spreadsheets expect).
pub async fn export_csv(
    paths::AreaExportCsv { area }: paths::AreaExportCsv,
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<TimelineQuery>,
) -> Response {
    let items = match export_items(&state, &user, &area, &query).await {
        Ok(items) => items,
        Err(response) => return response,
    };
    let mut sheet = crate::spreadsheet::Sheet::new(&[
        "datum",
        "registrerad",
        "typ",
        "händelse",
        "text",
        "vem",
        "roll",
        "strategier",
        "samverkan",
        "deltagare",
        "behöver följas upp",
        "ärende",
        "sekretess",
    ]);
    for item in items {
        let text = free_texts(&item);
        let activity = item.activity.as_ref();
        sheet.row([
            item.date.clone(),
            item.recorded_at.clone(),
            item.kind.clone(),
            item.summary.clone(),
            text.join(" / "),
            item.actor.name.clone().unwrap_or_default(),
            item.actor.role.clone().unwrap_or_default(),
            item.strategies.join(", "),
            activity.map(|a| a.partners.join(", ")).unwrap_or_default(),
            activity
                .map(|a| a.participants.to_string())
                .unwrap_or_default(),
            match activity {
                Some(a) if a.follow_up => "ja".into(),
                Some(_) => "nej".into(),
                None => String::new(),
            },
            item.case_id.map(|id| id.to_string()).unwrap_or_default(),
            if item.secret {
                "ja".into()
            } else {
                String::new()
            },
        ]);
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"tidslinje-{area}.csv\""),
            ),
        ],
        sheet.finish(),
    )
        .into_response()
}

// ---------------------------------------------------------------------- logging an activity

/// The activity form: strategies grouped by process with a filter box, partners from the
/// plan as checkboxes, today's date preset.
fn activity_form(
    plan: &Plan,
    area: &str,
    token: &str,
    values: &HashMap<String, Vec<String>>,
    errors: &FormErrors,
) -> Markup {
    let chosen = |name: &str, value: &str| {
        values
            .get(name)
            .is_some_and(|values| values.iter().any(|v| v == value))
    };
    let strategy_error = errors.get("strategies");
    let partner_error = errors.get("partners");
    html! {
        (super::layout::error_summary(&errors.0))
        form.stack method="post" action=(paths::AreaActivities { area: area.to_string() }) novalidate {
            (csrf(token))
            (input("title", "Rubrik", "text", first(values, "title"), errors, Some("Kort, utan namn på personer.")))
            (input("date", "Datum", "date", first(values, "date"), errors, None))
            (input("participants", "Antal deltagare", "number", first(values, "participants"), errors, Some("Bara antal, aldrig namn.")))
            fieldset.field id="strategies" aria-describedby=[strategy_error.map(|_| "strategies-fel")] {
                legend { "Strategier (minst en)" }
                (super::layout::field_error("strategies", strategy_error))
                div.field {
                    label for="strategi-filter" { "Sök bland strategierna" }
                    input id="strategi-filter" type="search" data-filter="#strategilista" data-filter-status="#filter-status" autocomplete="off";
                    p.hint id="filter-status" role="status" aria-live="polite" {}
                }
                p.hint { "Strategierna står under sina processer. Öppna en process för att välja." }
                div id="strategilista" {
                    @for process in plan.nodes(NodeKind::Process) {
                        @let strategies: Vec<_> = plan.nodes(NodeKind::Strategy).into_iter().filter(|s| s.text("process") == process.id).collect();
                        @let picked = strategies.iter().filter(|s| chosen("strategies", &s.id)).count();
                        details.strategy-group open[picked > 0] {
                            summary {
                                (process.text("title"))
                                @if picked > 0 { " " span.hint { "(" (picked) " vald" @if picked > 1 { "a" } ")" } }
                            }
                            ul.checks {
                                @for strategy in &strategies {
                                    li data-filter-text={ (strategy.text("title")) " " (process.text("title")) } {
                                        input type="checkbox" id={ "s-" (strategy.id) } name="strategies" value=(strategy.id) checked[chosen("strategies", &strategy.id)];
                                        label for={ "s-" (strategy.id) } { (strategy.text("title")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (textarea("description", "Beskrivning", first(values, "description"), errors, Some("Vad gjordes, och vad blev resultatet?")))
            @let partners_picked = plan.nodes(NodeKind::Partner).iter().any(|p| chosen("partners", &p.id)) || !first(values, "other_partners").is_empty() || partner_error.is_some();
            details.field open[partners_picked] {
                summary { "Samverkan (om ni gjorde insatsen med andra)" }
                fieldset.field {
                    legend.visually-hidden { "Samverkan" }
                    (super::layout::field_error("partners", partner_error))
                    ul.checks {
                        @for partner in plan.nodes(NodeKind::Partner) {
                            li {
                                input type="checkbox" id={ "p-" (partner.id) } name="partners" value=(partner.id) checked[chosen("partners", &partner.id)];
                                label for={ "p-" (partner.id) } { (partner.text("name")) }
                            }
                        }
                    }
                    (input("other_partners", "Andra samverkansparter", "text", first(values, "other_partners"), errors, Some("Skriv flera med komma emellan.")))
                }
            }
            div.field.check {
                input type="checkbox" id="follow_up" name="follow_up" value="ja" checked[chosen("follow_up", "ja")];
                label for="follow_up" { "Behöver följas upp" }
            }
            button type="submit" { "Logga insatsen" }
        }
    }
}

pub async fn new_activity(
    paths::NewActivity { area }: paths::NewActivity,
    State(state): State<AppState>,
    user: PageUser,
) -> Response {
    let area = match state.services.require_area(&area).await {
        Ok(area) => area,
        Err(error) => return refused(error),
    };
    if let Err(refusal) = authorize(
        &user.actor(),
        &Action::WriteActivity {
            area: area.as_str(),
        },
    ) {
        return refused(crate::app::AppError::Forbidden(refusal.0));
    }
    let plan = match state.services.plan().await {
        Ok(plan) => plan,
        Err(error) => return refused(error),
    };
    let today = state.services.today().to_string();
    // The number of participants starts empty (read as none): a "0" there became "140" when
    // someone typed 14 after it.
    let values = HashMap::from([("date".to_owned(), vec![today])]);
    page(
        "Logga en insats",
        Some(&user.viewer()),
        html! {
            h1 { "Logga en insats" }
            (activity_form(&plan, area.as_str(), &user.csrf, &values, &FormErrors::default()))
        },
    )
    .into_response()
}

pub async fn log_activity(
    paths::AreaActivities { area }: paths::AreaActivities,
    State(state): State<AppState>,
    user: PageUser,
    FormBody(body): FormBody,
) -> Response {
    let fields = form_fields(&body);
    let participants_text = first(&fields, "participants").trim();
    let mut partners: Vec<String> = fields.get("partners").cloned().unwrap_or_default();
    partners.extend(
        first(&fields, "other_partners")
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty()),
    );
    let participants = if participants_text.is_empty() {
        Some(0)
    } else {
        participants_text.parse::<i64>().ok()
    };
    let input = ActivityInput {
        date: first(&fields, "date").to_owned(),
        title: first(&fields, "title").to_owned(),
        description: first(&fields, "description").to_owned(),
        strategies: fields.get("strategies").cloned().unwrap_or_default(),
        partners,
        participants: participants.unwrap_or(-1),
        follow_up: first(&fields, "follow_up") == "ja",
    };
    match state
        .services
        .log_activity(&user.ctx(&fields), &area, &input)
        .await
    {
        // The browser lands on the new activity, which the page highlights (`:target`).
        Ok(done) => see_other(&format!(
            "{}?efter={}&klart=insats#h-{}",
            paths::area_timeline(area.to_string()),
            done.position,
            done.position
        )),
        Err(error) => match FormErrors::from_refusal(&error) {
            Some(errors) => {
                let plan = match state.services.plan().await {
                    Ok(plan) => plan,
                    Err(error) => return refused(error),
                };
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    page(
                        "Logga en insats",
                        Some(&user.viewer()),
                        html! { h1 { "Logga en insats" } (activity_form(&plan, &area, &user.csrf, &fields, &errors)) },
                    ),
                )
                    .into_response()
            }
            None => refused(error),
        },
    }
}
