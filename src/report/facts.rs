//! The report's figures, folded from the events it was compiled from. Pure: the same
//! events give the same report, which is what lets an issued report be compiled again
//! byte for byte.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use time::Date;
use uuid::Uuid;

use super::{
    AreaPart, CaseCounts, DecisionLine, ItemLine, ProcessPart, Report, StatusChange, StatusLine,
    StrategyPart, Summary,
};
use crate::domain::activity::ActivityEvent;
use crate::domain::area::AreaEvent;
use crate::domain::case::CaseEvent;
use crate::domain::catalogue::DomainEvent;
use crate::domain::follow_up::ReportPeriod;
use crate::domain::item::{Forum, ItemEvent, NewItem};
use crate::domain::plan::{NodeKind, Plan};
use crate::domain::process::ProcessEvent;
use crate::domain::review::ReviewEvent;
use crate::domain::strategy::{StrategyEvent, StrategyStatus};
use crate::domain::values::Period;

/// One event as the report reads it.
pub struct Fact<'a> {
    /// The day it was recorded, in Växjö.
    pub recorded_on: Date,
    /// Who recorded it, by name.
    pub actor: &'a str,
    pub tags: &'a [String],
    pub event: &'a DomainEvent,
    /// A status report's comment, opened (or the erasure marker).
    pub comment: Option<&'a str>,
}

/// How many titles of activities a strategy or an area shows.
const TITLES: usize = 3;
/// How many of the items waiting longest the summary names.
const WAITING: usize = 5;

fn overlaps(a: &Period, start: Date, end: Date) -> bool {
    a.start <= end && start <= a.end
}

fn tagged<'a>(tags: &'a [String], prefix: &str) -> impl Iterator<Item = &'a str> {
    tags.iter().filter_map(move |tag| {
        tag.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix(':'))
    })
}

struct ActivityRow {
    area: String,
    date: Date,
    title: String,
    strategies: Vec<String>,
    participants: u32,
    retracted: bool,
}

struct ItemRow {
    item: NewItem,
    raised_on: Date,
    answered_on: Option<Date>,
    closed: bool,
}

struct StatusRow {
    period: Period,
    status: StrategyStatus,
    comment: String,
    by: String,
    on: Date,
}

/// Counts of activities in one place: how many, how many took part, the titles used.
#[derive(Default)]
struct Tally {
    activities: u32,
    participants: u64,
    titles: BTreeMap<String, u32>,
    strategies: BTreeSet<String>,
}

impl Tally {
    fn add(&mut self, activity: &ActivityRow) {
        self.activities += 1;
        self.participants += u64::from(activity.participants);
        *self.titles.entry(activity.title.clone()).or_default() += 1;
        self.strategies.extend(activity.strategies.iter().cloned());
    }

    /// The most used titles, most used first (ties alphabetically).
    fn top_titles(&self) -> Vec<String> {
        let mut titles: Vec<(&String, &u32)> = self.titles.iter().collect();
        titles.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        titles
            .into_iter()
            .take(TITLES)
            .map(|(title, _)| title.clone())
            .collect()
    }
}

/// Everything the report needs besides the events: the plan and the period.
pub struct Frame<'a> {
    pub plan: &'a Plan,
    pub period: ReportPeriod,
    /// The day of the last event the report reads (what "now" is for waiting times).
    pub as_of: Date,
}

/// Folds the facts into the report's parts (indicators and the period's heading are
/// added by the caller).
pub fn fold(frame: &Frame<'_>, facts: &[Fact<'_>]) -> Report {
    let (start, end) = (frame.period.start(), frame.period.end());
    let previous = frame.period.previous();
    let (previous_start, previous_end) = (previous.start(), previous.end());
    let in_period = |day: Date| start <= day && day <= end;

    let mut areas: Vec<(String, String)> = Vec::new();
    let mut owners: HashMap<String, String> = HashMap::new();
    let mut activities: HashMap<Uuid, ActivityRow> = HashMap::new();
    let mut items: BTreeMap<Uuid, ItemRow> = BTreeMap::new();
    let mut item_order: Vec<Uuid> = Vec::new();
    let mut statuses: HashMap<String, Vec<StatusRow>> = HashMap::new();
    let mut reviews: HashMap<String, (Date, String)> = HashMap::new();
    let mut decisions: Vec<(String, Option<String>, DecisionLine)> = Vec::new();
    let mut cases_by_strategy: HashMap<String, CaseCounts> = HashMap::new();
    let mut cases_by_area: HashMap<String, CaseCounts> = HashMap::new();
    let mut cases_total = CaseCounts::default();

    for fact in facts {
        match fact.event {
            DomainEvent::Area(AreaEvent::AreaAdded { id, name, .. })
                if !areas.iter().any(|(known, _)| known == id.as_str()) =>
            {
                areas.push((id.to_string(), name.clone()));
            }
            DomainEvent::Process(ProcessEvent::ProcessOwnerAssigned {
                process,
                owner_name,
                ..
            }) => {
                owners.insert(process.to_string(), owner_name.as_str().to_owned());
            }
            DomainEvent::Process(ProcessEvent::DecisionRecorded {
                process,
                strategy,
                title,
                decided_on,
                ..
            }) if in_period(*decided_on) => decisions.push((
                process.to_string(),
                strategy.as_ref().map(|s| s.to_string()),
                DecisionLine {
                    on: *decided_on,
                    title: title.as_str().to_owned(),
                },
            )),
            DomainEvent::Activity(ActivityEvent::ActivityLogged {
                activity_id,
                area,
                details,
            }) => {
                activities.insert(
                    *activity_id,
                    ActivityRow {
                        area: area.to_string(),
                        date: details.date,
                        title: details.title.as_str().to_owned(),
                        strategies: details.strategies.iter().map(|s| s.to_string()).collect(),
                        participants: details.participants,
                        retracted: false,
                    },
                );
            }
            DomainEvent::Activity(ActivityEvent::ActivityCorrected {
                activity_id,
                details,
                ..
            }) => {
                let area = tagged(fact.tags, "area").next().unwrap_or("").to_owned();
                let row = activities.entry(*activity_id).or_insert(ActivityRow {
                    area,
                    date: details.date,
                    title: String::new(),
                    strategies: Vec::new(),
                    participants: 0,
                    retracted: false,
                });
                row.date = details.date;
                row.title = details.title.as_str().to_owned();
                row.strategies = details.strategies.iter().map(|s| s.to_string()).collect();
                row.participants = details.participants;
            }
            DomainEvent::Activity(ActivityEvent::ActivityRetracted { activity_id, .. }) => {
                if let Some(row) = activities.get_mut(activity_id) {
                    row.retracted = true;
                }
            }
            DomainEvent::Case(event) if in_period(fact.recorded_on) => {
                let bump = |counts: &mut CaseCounts| match event {
                    CaseEvent::CaseOpened { .. } => counts.opened += 1,
                    CaseEvent::CaseClosed { .. } => counts.closed += 1,
                    CaseEvent::CaseEscalated { .. } => counts.escalated += 1,
                    _ => {}
                };
                bump(&mut cases_total);
                for strategy in tagged(fact.tags, "strategy") {
                    bump(cases_by_strategy.entry(strategy.to_owned()).or_default());
                }
                for area in tagged(fact.tags, "area") {
                    bump(cases_by_area.entry(area.to_owned()).or_default());
                }
            }
            DomainEvent::Item(ItemEvent::ItemRaised { item_id, item }) => {
                item_order.push(*item_id);
                items.insert(
                    *item_id,
                    ItemRow {
                        item: item.clone(),
                        raised_on: fact.recorded_on,
                        answered_on: None,
                        closed: false,
                    },
                );
            }
            DomainEvent::Item(ItemEvent::ItemAnswered { item_id, .. }) => {
                if let Some(row) = items.get_mut(item_id) {
                    row.answered_on.get_or_insert(fact.recorded_on);
                }
            }
            DomainEvent::Item(ItemEvent::ItemClosed { item_id }) => {
                if let Some(row) = items.get_mut(item_id) {
                    row.closed = true;
                }
            }
            DomainEvent::Strategy(StrategyEvent::StrategyStatusReported {
                strategy,
                period,
                status,
                ..
            }) => statuses
                .entry(strategy.to_string())
                .or_default()
                .push(StatusRow {
                    period: *period,
                    status: *status,
                    comment: fact.comment.unwrap_or_default().to_owned(),
                    by: fact.actor.to_owned(),
                    on: fact.recorded_on,
                }),
            DomainEvent::Review(ReviewEvent::TimelineReviewed { area, period, .. })
                if overlaps(period, start, end) =>
            {
                reviews.insert(area.to_string(), (fact.recorded_on, fact.actor.to_owned()));
            }
            _ => {}
        }
    }

    let area_name = |id: &str| -> String {
        areas
            .iter()
            .find(|(known, _)| known == id)
            .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
    };
    let forum = |forum: &Forum| crate::domain::item::forum_name(forum, frame.plan, &areas);
    let strategy_title = |id: &str| {
        frame
            .plan
            .strategy(id)
            .map_or_else(|| id.to_owned(), |s| s.title().to_owned())
    };
    let item_line = |row: &ItemRow| ItemLine {
        title: row.item.title.as_str().to_owned(),
        kind: row.item.kind.label().to_owned(),
        from: forum(&row.item.from),
        to: forum(&row.item.to),
        strategy: row
            .item
            .strategy
            .as_ref()
            .map(|s| strategy_title(s.as_str())),
        raised_on: row.raised_on,
        answered_on: row.answered_on,
        days: (row.answered_on.unwrap_or(frame.as_of) - row.raised_on).whole_days(),
    };

    // Activities in the period, by strategy and by area.
    let mut by_strategy: HashMap<&str, BTreeMap<String, Tally>> = HashMap::new();
    let mut strategy_tally: HashMap<&str, Tally> = HashMap::new();
    let mut by_area: HashMap<&str, Tally> = HashMap::new();
    let mut total = Tally::default();
    let mut counted: Vec<&ActivityRow> = activities
        .values()
        .filter(|row| !row.retracted && in_period(row.date))
        .collect();
    counted.sort_by(|a, b| (a.date, &a.title).cmp(&(b.date, &b.title)));
    for row in &counted {
        total.add(row);
        by_area.entry(row.area.as_str()).or_default().add(row);
        for strategy in &row.strategies {
            strategy_tally
                .entry(strategy.as_str())
                .or_default()
                .add(row);
            by_strategy
                .entry(strategy.as_str())
                .or_default()
                .entry(area_name(&row.area))
                .or_default()
                .add(row);
        }
    }

    // Items: those raised or answered in the period, and those still waiting.
    let item_rows: Vec<&ItemRow> = item_order.iter().filter_map(|id| items.get(id)).collect();
    let period_items: Vec<&ItemRow> = item_rows
        .iter()
        .copied()
        .filter(|row| in_period(row.raised_on) || row.answered_on.is_some_and(in_period))
        .collect();
    let mut waiting: Vec<&ItemRow> = item_rows
        .iter()
        .copied()
        .filter(|row| row.answered_on.is_none() && !row.closed)
        .collect();
    waiting.sort_by_key(|row| row.raised_on);
    let mut response_days: Vec<i64> = period_items
        .iter()
        .filter_map(|row| {
            row.answered_on
                .filter(|day| in_period(*day))
                .map(|day| (day - row.raised_on).whole_days())
        })
        .collect();
    response_days.sort_unstable();

    // Status: the latest report for this period and for the one before.
    let latest_for = |strategy: &str, from: Date, to: Date| -> Option<&StatusRow> {
        statuses
            .get(strategy)?
            .iter()
            .rfind(|row| overlaps(&row.period, from, to))
    };

    let mut summary = Summary {
        activities: total.activities,
        participants: total.participants,
        cases: cases_total,
        items_raised: period_items
            .iter()
            .filter(|row| in_period(row.raised_on))
            .count(),
        items_answered: response_days.len(),
        median_response_days: response_days.get(response_days.len() / 2).copied(),
        waiting: waiting
            .iter()
            .take(WAITING)
            .map(|row| item_line(row))
            .collect(),
        waiting_count: waiting.len(),
        ..Summary::default()
    };

    let mut processes = Vec::new();
    for process in frame.plan.nodes(NodeKind::Process) {
        let mut part = ProcessPart {
            id: process.id.clone(),
            title: process.text("title").to_owned(),
            owner: owners.get(&process.id).cloned(),
            strategies: Vec::new(),
        };
        for strategy in frame.plan.nodes(NodeKind::Strategy) {
            if strategy.text("process") != process.id {
                continue;
            }
            let id = strategy.id.as_str();
            let status = latest_for(id, start, end);
            let before = latest_for(id, previous_start, previous_end);
            match status.map(|row| row.status) {
                Some(StrategyStatus::EnligtPlan) => summary.on_plan += 1,
                Some(StrategyStatus::Risk) => summary.at_risk += 1,
                Some(StrategyStatus::Avvikelse) => summary.deviating += 1,
                None => summary.unreported.push(strategy_title(id)),
            }
            if let (Some(now), Some(then)) = (status, before)
                && now.status != then.status
            {
                summary.changes.push(StatusChange {
                    strategy: strategy_title(id),
                    from: then.status,
                    to: now.status,
                });
            }
            let cases = cases_by_strategy.get(id).copied().unwrap_or_default();
            let activity = strategy_tally.get(id);
            let strategy_items: Vec<ItemLine> = period_items
                .iter()
                .filter(|row| row.item.strategy.as_ref().is_some_and(|s| s.as_str() == id))
                .map(|row| item_line(row))
                .collect();
            if activity.is_none() && cases == CaseCounts::default() && status.is_none() {
                summary.silent.push(strategy_title(id));
            }
            part.strategies.push(StrategyPart {
                id: id.to_owned(),
                title: strategy_title(id),
                status: status.map(|row| StatusLine {
                    status: row.status,
                    period: row.period,
                    comment: row.comment.clone(),
                    by: row.by.clone(),
                    on: row.on,
                }),
                previous: before.map(|row| row.status),
                activities: by_strategy
                    .get(id)
                    .map(|areas| {
                        areas
                            .iter()
                            .map(|(area, tally)| {
                                (area.clone(), tally.activities, tally.participants)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                titles: activity.map(Tally::top_titles).unwrap_or_default(),
                cases,
                decisions: decisions
                    .iter()
                    .filter(|(_, strategy, _)| strategy.as_deref() == Some(id))
                    .map(|(_, _, line)| line.clone())
                    .collect(),
                items: strategy_items,
            });
        }
        processes.push(part);
    }

    let area_parts: Vec<AreaPart> = areas
        .iter()
        .map(|(id, name)| {
            let tally = by_area.get(id.as_str());
            AreaPart {
                id: id.clone(),
                name: name.clone(),
                activities: tally.map_or(0, |t| t.activities),
                participants: tally.map_or(0, |t| t.participants),
                strategies: tally.map_or(0, |t| t.strategies.len()),
                titles: tally.map(Tally::top_titles).unwrap_or_default(),
                cases: cases_by_area.get(id).copied().unwrap_or_default(),
                review: reviews.get(id).cloned(),
                items: period_items
                    .iter()
                    .filter(|row| {
                        row.item.area.as_ref().is_some_and(|a| a.as_str() == id)
                            || [&row.item.from, &row.item.to]
                                .iter()
                                .any(|f| f.area().is_some_and(|a| a.as_str() == id))
                    })
                    .count(),
            }
        })
        .collect();
    summary.reviews_done = area_parts.iter().filter(|a| a.review.is_some()).count();
    summary.reviews_missing = area_parts
        .iter()
        .filter(|a| a.review.is_none())
        .map(|a| a.name.clone())
        .collect();

    Report {
        summary,
        processes,
        areas: area_parts,
        items: period_items.iter().map(|row| item_line(row)).collect(),
        general_decisions: decisions
            .iter()
            .filter(|(_, strategy, _)| strategy.is_none())
            .map(|(process, _, line)| (frame.plan.process_title(process).to_owned(), line.clone()))
            .collect(),
        ..Report::default()
    }
}
