//! A strategy's state, folded from its history, and the difference between two states:
//! the auditor's replay. Pure: the history comes from whoever calls (the log itself, or
//! the strategy history's read model), as [`Step`]s of what the fold reads of each event.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

use super::activity::ActivityEvent;
use super::case::CaseEvent;
use super::catalogue::DomainEvent;
use super::item::ItemEvent;
use super::plan::{NodeKind, PlanEvent};
use super::process::ProcessEvent;
use super::strategy::StrategyEvent;

/// One event of a strategy's history as the fold reads it.
#[derive(Debug, Clone)]
pub struct Step {
    pub position: i64,
    pub recorded_at: OffsetDateTime,
    pub input: Input,
    /// The area the event is tagged with, if any: an activity corrected into the strategy
    /// is in its history from the correction on, without the event that logged it (and
    /// named its area).
    pub area: Option<String>,
}

/// What the fold reads of an event of a strategy's history, typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Input {
    /// The strategy was defined or revised: its wording and place in the plan.
    Defined {
        title: String,
        process: String,
        challenge: String,
        focus_area: String,
        partners: Vec<String>,
    },
    Retired,
    /// The owner of a process was assigned.
    OwnerAssigned {
        process: String,
        owner: String,
    },
    Decision,
    /// An activity was logged (with its area) or corrected; `counted` when it names the
    /// strategy.
    Activity {
        id: Uuid,
        area: Option<String>,
        date: String,
        participants: u64,
        counted: bool,
    },
    Retracted {
        id: Uuid,
    },
    Report {
        period_start: String,
        period_end: String,
        status: String,
        /// As stored: sealed, or (after opening) the text.
        comment: Value,
    },
    CaseOpened {
        id: Uuid,
        title: String,
        area: String,
    },
    CaseClosed {
        id: Uuid,
    },
    CaseReopened {
        id: Uuid,
    },
    ItemRaised {
        id: Uuid,
        title: String,
        area: Option<String>,
        route: String,
    },
    ItemSettled {
        id: Uuid,
    },
    /// Nothing the fold reads, but counted as an event of the history.
    Other,
}

impl Input {
    /// What the fold of `strategy`'s history reads of an event (decoded through the
    /// catalogue, its free text apart in `texts`).
    pub fn of(strategy: &str, event: &DomainEvent, texts: &Map<String, Value>) -> Input {
        match event {
            DomainEvent::Plan(PlanEvent::Defined { node } | PlanEvent::Revised { node, .. })
                if node.kind == NodeKind::Strategy && node.id == strategy =>
            {
                Input::Defined {
                    title: node.text("title").to_owned(),
                    process: node.text("process").to_owned(),
                    challenge: node.text("challenge").to_owned(),
                    focus_area: node.text("focus_area").to_owned(),
                    partners: node
                        .list("partners")
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                }
            }
            DomainEvent::Plan(PlanEvent::Retired {
                kind: NodeKind::Strategy,
                id,
            }) if id == strategy => Input::Retired,
            DomainEvent::Process(ProcessEvent::ProcessOwnerAssigned {
                process,
                owner_name,
                ..
            }) => Input::OwnerAssigned {
                process: process.to_string(),
                owner: owner_name.as_str().to_owned(),
            },
            DomainEvent::Process(ProcessEvent::DecisionRecorded { .. }) => Input::Decision,
            DomainEvent::Activity(ActivityEvent::ActivityRetracted { activity_id, .. }) => {
                Input::Retracted { id: *activity_id }
            }
            DomainEvent::Activity(
                ActivityEvent::ActivityLogged {
                    activity_id,
                    details,
                    ..
                }
                | ActivityEvent::ActivityCorrected {
                    activity_id,
                    details,
                    ..
                },
            ) => Input::Activity {
                id: *activity_id,
                area: match event {
                    DomainEvent::Activity(ActivityEvent::ActivityLogged { area, .. }) => {
                        Some(area.to_string())
                    }
                    _ => None,
                },
                date: details.date.to_string(),
                participants: u64::from(details.participants),
                counted: details.strategies.iter().any(|s| s.as_str() == strategy),
            },
            DomainEvent::Strategy(StrategyEvent::StrategyStatusReported {
                period, status, ..
            }) => Input::Report {
                period_start: period.start.to_string(),
                period_end: period.end.to_string(),
                status: serde_json::to_value(status)
                    .ok()
                    .and_then(|status| status.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                comment: texts.get("comment").cloned().unwrap_or(Value::Null),
            },
            DomainEvent::Case(CaseEvent::CaseOpened {
                case_id,
                area,
                title,
                ..
            }) => Input::CaseOpened {
                id: *case_id,
                title: title.as_str().to_owned(),
                area: area.to_string(),
            },
            DomainEvent::Case(CaseEvent::CaseClosed { case_id, .. }) => {
                Input::CaseClosed { id: *case_id }
            }
            DomainEvent::Case(CaseEvent::CaseReopened { case_id, .. }) => {
                Input::CaseReopened { id: *case_id }
            }
            DomainEvent::Item(ItemEvent::ItemRaised { item_id, item }) => Input::ItemRaised {
                id: *item_id,
                title: item.title.as_str().to_owned(),
                area: item.area.as_ref().map(|area| area.to_string()),
                route: format!("{} → {}", item.from, item.to),
            },
            DomainEvent::Item(
                ItemEvent::ItemAnswered { item_id, .. } | ItemEvent::ItemClosed { item_id },
            ) => Input::ItemSettled { id: *item_id },
            _ => Input::Other,
        }
    }

    /// A short name of the kind of input (as the read model files it).
    pub fn kind(&self) -> &'static str {
        match self {
            Input::Defined { .. } => "defined",
            Input::Retired => "retired",
            Input::OwnerAssigned { .. } => "owner_assigned",
            Input::Decision => "decision",
            Input::Activity { .. } => "activity",
            Input::Retracted { .. } => "retracted",
            Input::Report { .. } => "report",
            Input::CaseOpened { .. } => "case_opened",
            Input::CaseClosed { .. } => "case_closed",
            Input::CaseReopened { .. } => "case_reopened",
            Input::ItemRaised { .. } => "item_raised",
            Input::ItemSettled { .. } => "item_settled",
            Input::Other => "other",
        }
    }
}

/// A strategy as the log showed it at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StrategyState {
    pub strategy: String,
    /// Events of the history folded in.
    pub events: usize,
    /// The last of them: its position and time.
    pub last_position: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_recorded_at: Option<OffsetDateTime>,
    /// Its wording and place in the plan then (`None` before it was defined).
    pub title: Option<String>,
    pub process: Option<String>,
    pub challenge: Option<String>,
    pub focus_area: Option<String>,
    pub partners: Vec<String>,
    pub in_force: bool,
    /// The owner of its process then.
    pub process_owner: Option<String>,
    /// Activities per area (retracted ones and ones corrected away from it not counted).
    pub activities: BTreeMap<String, AreaActivities>,
    pub latest_report: Option<Report>,
    pub open_cases: BTreeMap<Uuid, Open>,
    pub open_items: BTreeMap<Uuid, Open>,
    pub decisions: usize,
    #[serde(skip)]
    activity_index: BTreeMap<Uuid, Activity>,
    #[serde(skip)]
    cases: BTreeMap<Uuid, Open>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AreaActivities {
    pub activities: u64,
    pub participants: u64,
    pub last_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub period_start: String,
    pub period_end: String,
    pub status: String,
    /// The comment as read (empty while it is sealed: whoever shows it opens
    /// `sealed_comment`).
    pub comment: String,
    #[serde(skip)]
    pub sealed_comment: Value,
    pub position: i64,
}

/// An open case or item: its title, its area or route, and where it was opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Open {
    pub title: String,
    pub area: Option<String>,
    pub route: Option<String>,
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Activity {
    area: String,
    date: String,
    participants: u64,
    counted: bool,
}

impl StrategyState {
    pub fn new(strategy: &str) -> Self {
        Self {
            strategy: strategy.to_owned(),
            ..Self::default()
        }
    }

    /// One more event of the history; the activities per area are recounted by the caller.
    fn fold(&mut self, step: &Step) {
        self.events += 1;
        self.last_position = Some(step.position);
        self.last_recorded_at = Some(step.recorded_at);
        match &step.input {
            Input::Defined {
                title,
                process,
                challenge,
                focus_area,
                partners,
            } => {
                self.title = Some(title.clone());
                self.process = Some(process.clone());
                self.challenge = Some(challenge.clone()).filter(|s| !s.is_empty());
                self.focus_area = Some(focus_area.clone()).filter(|s| !s.is_empty());
                self.partners = partners.clone();
                self.in_force = true;
            }
            Input::Retired => self.in_force = false,
            Input::OwnerAssigned { process, owner }
                if self.process.as_deref() == Some(process.as_str()) =>
            {
                self.process_owner = Some(owner.clone());
            }
            Input::Decision => self.decisions += 1,
            Input::Retracted { id } => {
                if let Some(activity) = self.activity_index.get_mut(id) {
                    activity.counted = false;
                }
            }
            Input::Activity {
                id,
                area,
                date,
                participants,
                counted,
            } => {
                let area = area
                    .clone()
                    .or_else(|| self.activity_index.get(id).map(|a| a.area.clone()))
                    .or_else(|| step.area.clone())
                    .unwrap_or_default();
                self.activity_index.insert(
                    *id,
                    Activity {
                        area,
                        date: date.clone(),
                        participants: *participants,
                        counted: *counted,
                    },
                );
            }
            Input::Report {
                period_start,
                period_end,
                status,
                comment,
            } => {
                self.latest_report = Some(Report {
                    period_start: period_start.clone(),
                    period_end: period_end.clone(),
                    status: status.clone(),
                    comment: comment.as_str().unwrap_or_default().to_owned(),
                    sealed_comment: comment.clone(),
                    position: step.position,
                });
            }
            Input::CaseOpened { id, title, area } => {
                let open = Open {
                    title: title.clone(),
                    area: Some(area.clone()),
                    route: None,
                    position: step.position,
                };
                self.cases.insert(*id, open.clone());
                self.open_cases.insert(*id, open);
            }
            Input::CaseClosed { id } => {
                self.open_cases.remove(id);
            }
            Input::CaseReopened { id } => {
                if let Some(case) = self.cases.get(id) {
                    self.open_cases.insert(*id, case.clone());
                }
            }
            Input::ItemRaised {
                id,
                title,
                area,
                route,
            } => {
                self.open_items.insert(
                    *id,
                    Open {
                        title: title.clone(),
                        area: area.clone(),
                        route: Some(route.clone()),
                        position: step.position,
                    },
                );
            }
            Input::ItemSettled { id } => {
                self.open_items.remove(id);
            }
            Input::OwnerAssigned { .. } | Input::Other => {}
        }
    }

    fn recount(&mut self) {
        let mut activities: BTreeMap<String, AreaActivities> = BTreeMap::new();
        for activity in self.activity_index.values().filter(|a| a.counted) {
            let area = activities.entry(activity.area.clone()).or_default();
            area.activities += 1;
            area.participants += activity.participants;
            if area.last_date.as_deref() < Some(activity.date.as_str()) {
                area.last_date = Some(activity.date.clone());
            }
        }
        self.activities = activities;
    }

    pub fn total_activities(&self) -> u64 {
        self.activities.values().map(|a| a.activities).sum()
    }
}

/// The state of `strategy` after `steps` (a prefix of its history, in commit order).
pub fn replay<'a>(strategy: &str, steps: impl IntoIterator<Item = &'a Step>) -> StrategyState {
    let mut state = StrategyState::new(strategy);
    for step in steps {
        state.fold(step);
    }
    // Counting per area once at the end, not after every activity, keeps a replay linear.
    state.recount();
    state
}

/// One difference between two states, in Swedish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub what: String,
    pub before: String,
    pub after: String,
}

/// What changed from `before` to `after`.
pub fn diff(before: &StrategyState, after: &StrategyState) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut change = |what: &str, a: String, b: String| {
        if a != b {
            changes.push(Change {
                what: what.to_owned(),
                before: a,
                after: b,
            });
        }
    };
    let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "–".into());
    change("Lydelse", or_dash(&before.title), or_dash(&after.title));
    change("Process", or_dash(&before.process), or_dash(&after.process));
    change(
        "Processägare",
        or_dash(&before.process_owner),
        or_dash(&after.process_owner),
    );
    change(
        "I kraft",
        yes_no(before.in_force).into(),
        yes_no(after.in_force).into(),
    );
    let areas: std::collections::BTreeSet<&String> = before
        .activities
        .keys()
        .chain(after.activities.keys())
        .collect();
    for area in areas {
        let count = |state: &StrategyState| {
            state
                .activities
                .get(area)
                .map_or(0, |a| a.activities)
                .to_string()
        };
        change(&format!("Insatser i {area}"), count(before), count(after));
    }
    let report = |state: &StrategyState| {
        state.latest_report.as_ref().map_or("–".into(), |r| {
            format!(
                "{} ({}–{})",
                crate::domain::strategy::StrategyStatus::label_of(&r.status),
                r.period_start,
                r.period_end
            )
        })
    };
    change("Senaste lägesrapport", report(before), report(after));
    let titles = |open: &BTreeMap<Uuid, Open>| {
        open.values()
            .map(|o| o.title.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    change(
        "Öppna ärenden",
        format!("{} st", before.open_cases.len()),
        format!("{} st", after.open_cases.len()),
    );
    let opened: Vec<&Open> = after
        .open_cases
        .iter()
        .filter(|(id, _)| !before.open_cases.contains_key(id))
        .map(|(_, o)| o)
        .collect();
    if !opened.is_empty() && opened.len() <= 20 {
        change(
            "Nya öppna ärenden",
            String::new(),
            opened
                .iter()
                .map(|o| o.title.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    change(
        "Öppna frågor mellan forum",
        format!("{} st", before.open_items.len()),
        format!("{} st", after.open_items.len()),
    );
    if after.open_items.len() <= 20 && before.open_items.len() <= 20 {
        change(
            "Vilka frågor som är öppna",
            titles(&before.open_items),
            titles(&after.open_items),
        );
    }
    change(
        "Beslut",
        before.decisions.to_string(),
        after.decisions.to_string(),
    );
    changes
}

fn yes_no(value: bool) -> &'static str {
    if value { "ja" } else { "nej" }
}
