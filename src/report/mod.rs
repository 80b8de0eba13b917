//! The follow-up report (uppföljningsrapport) for one period: compiled from the log as of
//! one place in its commit order, for the Integrationsberedning and the Integrationsråd.
//!
//! Like the auditor's tools, the report reads the log itself, not the read models: it
//! must come out the same, byte for byte, whenever it is compiled again as of the same
//! place, so that an issued report can be checked against the log. It reads the few kinds
//! of event it needs over the whole log (the plan, areas, process owners, status reports,
//! items between forums, reviews, decisions, indicator figures) and the many activities
//! and cases only in a window around its period (see [`window`]).
//!
//! No free text that people typed about newcomers appears in a report: activities,
//! cases and items are shown by their titles and counts, never by descriptions, notes,
//! escalation texts or answers, whether or not those are marked secret. The one free text
//! shown is a process owner's comment on a status report, opened like any sealed text (an
//! erased comment shows the erasure marker).

mod facts;
pub mod pdf;

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use time::{Date, Duration, OffsetDateTime};

use crate::app::{AppError, Services, Units};
use crate::domain::catalogue::{self, DomainEvent, Family};
use crate::domain::follow_up::ReportPeriod;
use crate::domain::plan::{self as plan_domain, Plan};
use crate::domain::strategy::StrategyStatus;
use crate::domain::values::Period;
use crate::event_log::Cursor;
use crate::queries::indicators::{self as indicator_queries, Figure, IndicatorView};

pub use facts::{Fact, Frame};

/// Cases opened, closed and escalated in the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseCounts {
    pub opened: u32,
    pub closed: u32,
    pub escalated: u32,
}

/// A status report as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusLine {
    pub status: StrategyStatus,
    pub period: Period,
    pub comment: String,
    pub by: String,
    pub on: Date,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub strategy: String,
    pub from: StrategyStatus,
    pub to: StrategyStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecisionLine {
    pub on: Date,
    pub title: String,
}

/// An item between forums, by its title and dates (never its text).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemLine {
    pub title: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub strategy: Option<String>,
    pub raised_on: Date,
    pub answered_on: Option<Date>,
    /// Days until it was answered, or that it has waited so far.
    pub days: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub on_plan: usize,
    pub at_risk: usize,
    pub deviating: usize,
    /// Strategies with no status report for the period, by title.
    pub unreported: Vec<String>,
    /// Strategies with no activity, case or status report in the period.
    pub silent: Vec<String>,
    /// Strategies whose status differs from the period before.
    pub changes: Vec<StatusChange>,
    pub activities: u32,
    pub participants: u64,
    pub cases: CaseCounts,
    pub items_raised: usize,
    pub items_answered: usize,
    pub median_response_days: Option<i64>,
    /// The items that have waited longest for an answer.
    pub waiting: Vec<ItemLine>,
    pub waiting_count: usize,
    pub reviews_done: usize,
    /// Areas whose timeline the council has not reviewed for the period.
    pub reviews_missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StrategyPart {
    pub id: String,
    pub title: String,
    pub status: Option<StatusLine>,
    pub previous: Option<StrategyStatus>,
    /// Activities per area: the area's name, how many, how many took part.
    pub activities: Vec<(String, u32, u64)>,
    pub titles: Vec<String>,
    pub cases: CaseCounts,
    pub decisions: Vec<DecisionLine>,
    pub items: Vec<ItemLine>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessPart {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    pub strategies: Vec<StrategyPart>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AreaPart {
    pub id: String,
    pub name: String,
    pub activities: u32,
    pub participants: u64,
    /// How many strategies the area's activities worked on.
    pub strategies: usize,
    pub titles: Vec<String>,
    pub cases: CaseCounts,
    /// The council's review of the area's timeline for the period: when, by whom.
    pub review: Option<(Date, String)>,
    pub items: usize,
}

/// A follow-up report for one period.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub period: Option<ReportPeriod>,
    pub plan_title: String,
    /// The place in the log it was compiled as of, and when that event was recorded.
    pub as_of: Cursor,
    pub as_of_time: Option<OffsetDateTime>,
    pub summary: Summary,
    pub processes: Vec<ProcessPart>,
    pub areas: Vec<AreaPart>,
    /// Items raised or answered in the period.
    pub items: Vec<ItemLine>,
    /// Decisions not about one strategy: the process's title and the decision.
    pub general_decisions: Vec<(String, DecisionLine)>,
    pub indicators: Vec<IndicatorView>,
    /// The municipality and its comparison units, for the indicators.
    pub units: Units,
}

impl Report {
    pub fn period(&self) -> ReportPeriod {
        self.period.expect("a compiled report has its period")
    }

    /// The heading of every page: "Uppföljningsrapport – Tertial 2 2026".
    pub fn title(&self) -> String {
        format!("Uppföljningsrapport – {}", self.period().label())
    }

    /// Where and when it was compiled from, in words.
    pub fn provenance(&self) -> String {
        format!(
            "Sammanställd ur Insats logg till och med händelse {}{}.",
            self.as_of.position,
            self.as_of_time
                .map(|at| format!(", registrerad {}", crate::clock::datetime(at)))
                .unwrap_or_default()
        )
    }

    /// The indicators whose latest figure moved, better or worse.
    pub fn indicators_moved(&self) -> Vec<&IndicatorView> {
        use crate::queries::indicators::Trend;
        self.indicators
            .iter()
            .filter(|view| matches!(view.trend, Trend::Better | Trend::Worse))
            .collect()
    }
}

/// The kinds of event read over the whole log, up to the report's place.
fn whole_log_types() -> Vec<&'static str> {
    catalogue::CATALOGUE
        .iter()
        .filter(|kind| {
            matches!(
                kind.family,
                Family::Plan
                    | Family::Area
                    | Family::Process
                    | Family::Strategy
                    | Family::Item
                    | Family::Review
                    | Family::Indicator
            )
        })
        .map(|kind| kind.name)
        .collect()
}

/// The kinds of event read only in the period's window.
const WINDOW_TYPES: [&str; 6] = [
    "ActivityLogged",
    "ActivityCorrected",
    "ActivityRetracted",
    "CaseOpened",
    "CaseClosed",
    "CaseEscalated",
];

/// The window of recording time in which a period's activities and cases are read: from
/// a month before the period begins (an activity logged ahead of its date) to half a year
/// after it ends (one logged late). Cases count by the day they were recorded, within the
/// period; activities by their own date. Activities recorded further from their date
/// than this are not in the report of their period.
pub fn window(period: &ReportPeriod) -> (OffsetDateTime, OffsetDateTime) {
    (
        crate::clock::start_of_day(period.start() - Duration::days(31)),
        crate::clock::start_of_day(period.end() + Duration::days(184)),
    )
}

/// Compiles the report for `period` as of the place `as_of` in the log (the last final
/// event when `None`).
pub async fn compile(
    services: &Services,
    units: &Units,
    period: ReportPeriod,
    as_of: Option<Cursor>,
) -> Result<Report, AppError> {
    let store = services.store();
    let (as_of, as_of_time) = match as_of {
        Some(cursor) => (cursor, store.recorded_at(cursor).await?),
        None => match store.last_final().await? {
            Some((cursor, at)) => (cursor, Some(at)),
            None => (Cursor::START, None),
        },
    };
    // The two reads at once, each decoding its rows on its own task (two cores: one read
    // is decoded while PostgreSQL sends the other).
    let windowed = {
        let store = store.clone();
        let window = window(&period);
        tokio::spawn(async move {
            store
                .read_types_as_of(&WINDOW_TYPES, as_of, Some(window))
                .await
        })
    };
    let mut events = store
        .read_types_as_of(&whole_log_types(), as_of, None)
        .await?;
    let windowed = windowed
        .await
        .map_err(|error| AppError::Internal(anyhow::Error::new(error)))??;
    events.extend(windowed);
    events.sort_by_key(|event| event.cursor());

    // Decode each event; open the comments of status reports.
    let mut decoded = Vec::with_capacity(events.len());
    let mut comments: Vec<Value> = Vec::new();
    for event in &mut events {
        let data = std::mem::take(&mut event.data);
        let mut one = catalogue::decode(&event.event_type, event.schema_version, data)?;
        let comment = match one.event {
            DomainEvent::Strategy(_) => {
                let mut texts = Map::new();
                texts.insert(
                    "comment".into(),
                    one.texts.remove("comment").unwrap_or_default(),
                );
                comments.push(Value::Object(texts));
                Some(comments.len() - 1)
            }
            _ => None,
        };
        decoded.push((one.event, comment));
    }
    services.privacy().open_all(comments.iter_mut()).await?;

    let mut plan_events = Vec::new();
    let mut figures: BTreeMap<String, BTreeMap<(String, i32, String), Figure>> = BTreeMap::new();
    for (event, (domain, _)) in events.iter().zip(&decoded) {
        match domain {
            DomainEvent::Plan(plan_event) => plan_events.push(plan_event.clone()),
            DomainEvent::Indicator(indicator) => {
                add_figure(&mut figures, event.recorded_at, indicator)
            }
            _ => {}
        }
    }
    let plan: Plan = plan_domain::fold(&plan_events);
    let actors: Vec<String> = events
        .iter()
        .map(|event| {
            event
                .metadata
                .get("actor_name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    let facts: Vec<Fact<'_>> = events
        .iter()
        .zip(&decoded)
        .zip(&actors)
        .map(|((event, (domain, comment)), actor)| Fact {
            recorded_on: crate::clock::local(event.recorded_at).date(),
            actor,
            tags: &event.tags,
            event: domain,
            comment: comment.and_then(|index| comments[index].get("comment")?.as_str()),
        })
        .collect();
    let as_of_day = as_of_time
        .map(|at| crate::clock::local(at).date())
        .unwrap_or(period.end());
    let mut report = facts::fold(
        &Frame {
            plan: &plan,
            period,
            as_of: as_of_day,
        },
        &facts,
    );
    report.period = Some(period);
    report.as_of = as_of;
    report.as_of_time = as_of_time;
    report.units = units.clone();
    report.plan_title = plan
        .header()
        .map(|header| header.text("title").to_owned())
        .filter(|title| !title.is_empty())
        .unwrap_or_else(|| "Integrationsplanen".into());
    report.indicators = indicator_queries::definitions(&plan)
        .into_iter()
        .map(|definition| {
            let rows = figures
                .remove(&definition.id)
                .map(|rows| rows.into_values().collect())
                .unwrap_or_default();
            IndicatorView::summarise(definition, rows, units)
        })
        .collect();
    Ok(report)
}

/// Adds an indicator event's figure to the figures as they stand.
fn add_figure(
    figures: &mut BTreeMap<String, BTreeMap<(String, i32, String), Figure>>,
    recorded_at: OffsetDateTime,
    event: &crate::domain::indicator::IndicatorEvent,
) {
    use crate::domain::indicator::IndicatorEvent;
    let (indicator, observation, source, reference, previous) = match event {
        IndicatorEvent::IndicatorValueRecorded {
            indicator,
            observation,
            source,
            reference,
            ..
        } => (indicator, observation, source, reference, None),
        IndicatorEvent::IndicatorValueRevised {
            indicator,
            observation,
            source,
            reference,
            previous,
            ..
        } => (indicator, observation, source, reference, Some(*previous)),
    };
    let key = (
        observation.unit.clone(),
        observation.year,
        observation.gender.code().to_owned(),
    );
    let by_key = figures.entry(indicator.to_string()).or_default();
    let revisions =
        by_key.get(&key).map_or(0, |figure| figure.revisions) + i32::from(previous.is_some());
    by_key.insert(
        key,
        Figure {
            unit: observation.unit.clone(),
            year: observation.year,
            gender: observation.gender.code().to_owned(),
            value: observation.value,
            previous,
            revisions,
            source: serde_json::to_value(source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            reference: reference.clone(),
            recorded_at,
        },
    );
}

/// The report's figures as CSV for a spreadsheet: one row per figure, with the part of
/// the report it belongs to, what it is about and what it counts.
pub fn csv(report: &Report) -> Vec<u8> {
    let mut sheet = crate::spreadsheet::Sheet::new(&["Del", "Gäller", "Uppgift", "Värde"]);
    let mut row = |part: &str, about: &str, what: &str, value: String| {
        sheet.row([part, about, what, value.as_str()]);
    };
    let period = report.period();
    row(
        "Rapporten",
        &period.label(),
        "Från",
        crate::clock::date(period.start()),
    );
    row(
        "Rapporten",
        &period.label(),
        "Till",
        crate::clock::date(period.end()),
    );
    row(
        "Rapporten",
        &period.label(),
        "Sammanställd till och med händelse",
        report.as_of.position.to_string(),
    );
    let summary = &report.summary;
    for (what, value) in [
        ("Strategier enligt plan", summary.on_plan),
        ("Strategier med risk", summary.at_risk),
        ("Strategier med avvikelse", summary.deviating),
        ("Strategier utan statusrapport", summary.unreported.len()),
        ("Strategier utan aktivitet", summary.silent.len()),
        ("Skrivelser som väntar på svar", summary.waiting_count),
        ("Skrivelser skickade", summary.items_raised),
        ("Skrivelser besvarade", summary.items_answered),
    ] {
        row("Sammanfattning", "Hela planen", what, value.to_string());
    }
    row(
        "Sammanfattning",
        "Hela planen",
        "Insatser",
        summary.activities.to_string(),
    );
    row(
        "Sammanfattning",
        "Hela planen",
        "Deltagare",
        summary.participants.to_string(),
    );
    if let Some(days) = summary.median_response_days {
        row(
            "Sammanfattning",
            "Hela planen",
            "Svarstid i mitten av fördelningen (dagar)",
            days.to_string(),
        );
    }
    for process in &report.processes {
        for strategy in &process.strategies {
            let about = &strategy.title;
            row("Strategi", about, "Process", process.title.clone());
            row(
                "Strategi",
                about,
                "Status",
                strategy
                    .status
                    .as_ref()
                    .map_or("Ingen rapport".into(), |s| s.status.label().to_owned()),
            );
            for (area, count, people) in &strategy.activities {
                row(
                    "Strategi",
                    about,
                    &format!("Insatser i {area}"),
                    count.to_string(),
                );
                row(
                    "Strategi",
                    about,
                    &format!("Deltagare i {area}"),
                    people.to_string(),
                );
            }
            row(
                "Strategi",
                about,
                "Ärenden öppnade",
                strategy.cases.opened.to_string(),
            );
            row(
                "Strategi",
                about,
                "Ärenden avslutade",
                strategy.cases.closed.to_string(),
            );
            row(
                "Strategi",
                about,
                "Ärenden eskalerade",
                strategy.cases.escalated.to_string(),
            );
        }
    }
    for area in &report.areas {
        let about = &area.name;
        row("Område", about, "Insatser", area.activities.to_string());
        row("Område", about, "Deltagare", area.participants.to_string());
        row(
            "Område",
            about,
            "Strategier med insatser",
            area.strategies.to_string(),
        );
        row(
            "Område",
            about,
            "Ärenden öppnade",
            area.cases.opened.to_string(),
        );
        row(
            "Område",
            about,
            "Ärenden avslutade",
            area.cases.closed.to_string(),
        );
        row(
            "Område",
            about,
            "Ärenden eskalerade",
            area.cases.escalated.to_string(),
        );
        row(
            "Område",
            about,
            "Rådets granskning",
            area.review
                .as_ref()
                .map_or("Saknas".into(), |(on, _)| crate::clock::date(*on)),
        );
    }
    for item in &report.items {
        row(
            "Skrivelse",
            &item.title,
            &format!("{} → {}", item.from, item.to),
            match item.answered_on {
                Some(_) => format!("Besvarad efter {} dagar", item.days),
                None => format!("Väntar sedan {} dagar", item.days),
            },
        );
    }
    for view in &report.indicators {
        if let Some(latest) = view.latest {
            row(
                "Nyckeltal",
                &view.definition.text,
                &format!("Värde {}", latest.year),
                crate::queries::indicators::figure(latest.value),
            );
            row(
                "Nyckeltal",
                &view.definition.text,
                "Trend",
                view.trend.label().to_owned(),
            );
        }
    }
    sheet.finish()
}

/// What checking a PDF against the log found, in one Swedish sentence.
pub fn check_sentence(check: &crate::app::ReportCheck) -> String {
    use crate::app::ReportCheck;
    match check {
        ReportCheck::Issued { issued, same: true } => format!(
            "Rapporten är den fastställda rapporten för {}, och den stämmer med loggen: sammanställd på nytt ur loggen till och med händelse {} blir den byte för byte densamma.",
            issued.period.label().to_lowercase(),
            issued.position
        ),
        ReportCheck::Issued { issued, same: false } => format!(
            "Rapporten är den fastställda rapporten för {}, men sammanställd på nytt ur loggen till och med händelse {} blir den inte densamma. Text i den kan ha raderats sedan den fastställdes.",
            issued.period.label().to_lowercase(),
            issued.position
        ),
        ReportCheck::Compiled { period, as_of, same: true } => format!(
            "Rapporten är inte fastställd, men den stämmer med loggen: rapporten för {} sammanställd till och med händelse {} blir byte för byte densamma.",
            period.label().to_lowercase(),
            as_of.position
        ),
        ReportCheck::Compiled { period, as_of, same: false } => format!(
            "Rapporten stämmer inte med loggen: rapporten för {} sammanställd till och med händelse {} blir inte densamma. Filen kan ha ändrats.",
            period.label().to_lowercase(),
            as_of.position
        ),
        ReportCheck::Unknown => "Filen är ingen rapport som Insats har sammanställt, eller så har den ändrats så att det inte går att se vilken.".into(),
    }
}
