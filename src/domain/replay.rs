//! A strategy's state, folded from its history, and the difference between two states.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::event_log::RecordedEvent;

/// What the fold reads of an event.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub position: i64,
    pub recorded_at: OffsetDateTime,
    pub event_type: &'a str,
    pub data: &'a Value,
    /// The area the event is tagged with, if any: an activity corrected into the strategy
    /// is in its history from the correction on, without the event that logged it (and
    /// named its area).
    pub area: Option<&'a str>,
}

impl<'a> From<&'a RecordedEvent> for Step<'a> {
    fn from(event: &'a RecordedEvent) -> Self {
        Step {
            position: event.position,
            recorded_at: event.recorded_at,
            event_type: &event.event_type,
            data: &event.data,
            area: event.tags.iter().find_map(|tag| tag.strip_prefix("area:")),
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub period_start: String,
    pub period_end: String,
    pub status: String,
    pub comment: String,
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

fn text(data: &Value, key: &str) -> String {
    data.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn id(data: &Value, key: &str) -> Option<Uuid> {
    data.get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn strategies(data: &Value) -> Vec<&str> {
    data.get("strategies")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl StrategyState {
    pub fn new(strategy: &str) -> Self {
        Self {
            strategy: strategy.to_owned(),
            ..Self::default()
        }
    }

    /// One more event of the history; the activities per area are recounted by the caller.
    fn fold(&mut self, event: Step<'_>) {
        let data = event.data;
        let own = self.strategy.clone();
        self.events += 1;
        self.last_position = Some(event.position);
        self.last_recorded_at = Some(event.recorded_at);
        match event.event_type {
            "StrategyDefined" | "StrategyRevised" | "StrategyReworded"
                if data.get("id").and_then(Value::as_str) == Some(own.as_str()) =>
            {
                self.title = Some(text(data, "title"));
                self.process = Some(text(data, "process"));
                self.challenge = Some(text(data, "challenge")).filter(|s| !s.is_empty());
                self.focus_area = Some(text(data, "focus_area")).filter(|s| !s.is_empty());
                self.partners = data
                    .get("partners")
                    .and_then(Value::as_array)
                    .map(|p| {
                        p.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                self.in_force = true;
            }
            "StrategyRetired" => self.in_force = false,
            "ProcessOwnerAssigned"
                if self.process.as_deref() == data.get("process").and_then(Value::as_str) =>
            {
                self.process_owner = Some(text(data, "owner_name"));
            }
            "DecisionRecorded" => self.decisions += 1,
            "ActivityLogged" | "ActivityCorrected" | "ActivityRetracted" => {
                self.note_activity(event);
            }
            "StrategyStatusReported" => {
                let period = |key: &str| {
                    data.get("period")
                        .and_then(|p| p.get(key))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                self.latest_report = Some(Report {
                    period_start: period("start"),
                    period_end: period("end"),
                    status: text(data, "status"),
                    comment: text(data, "comment"),
                    position: event.position,
                });
            }
            "CaseOpened" => {
                if let Some(case_id) = id(data, "case_id") {
                    let open = Open {
                        title: text(data, "title"),
                        area: Some(text(data, "area")),
                        route: None,
                        position: event.position,
                    };
                    self.cases.insert(case_id, open.clone());
                    self.open_cases.insert(case_id, open);
                }
            }
            "CaseClosed" => {
                if let Some(case_id) = id(data, "case_id") {
                    self.open_cases.remove(&case_id);
                }
            }
            "CaseReopened" => {
                if let Some(case_id) = id(data, "case_id")
                    && let Some(case) = self.cases.get(&case_id)
                {
                    self.open_cases.insert(case_id, case.clone());
                }
            }
            "ItemRaised" => {
                if let Some(item_id) = id(data, "item_id") {
                    self.open_items.insert(
                        item_id,
                        Open {
                            title: text(data, "title"),
                            area: data.get("area").and_then(Value::as_str).map(str::to_owned),
                            route: Some(format!("{} → {}", text(data, "from"), text(data, "to"))),
                            position: event.position,
                        },
                    );
                }
            }
            "ItemAnswered" | "ItemClosed" => {
                if let Some(item_id) = id(data, "item_id") {
                    self.open_items.remove(&item_id);
                }
            }
            _ => {}
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

/// The state of `strategy` after `events` (a prefix of its history). The fold reads no
/// sealed field, so the events may be opened or not.
pub fn replay(strategy: &str, events: &[RecordedEvent]) -> StrategyState {
    replay_steps(strategy, events.iter().map(Step::from))
}

/// [`replay`] over what the fold reads of each event.
pub fn replay_steps<'a>(
    strategy: &str,
    steps: impl IntoIterator<Item = Step<'a>>,
) -> StrategyState {
    let mut state = StrategyState::new(strategy);
    for step in steps {
        state.fold(step);
    }
    // Counting per area once at the end, not after every activity, keeps a replay linear.
    state.recount();
    state
}

impl StrategyState {
    fn note_activity(&mut self, event: Step<'_>) {
        let data = event.data;
        let Some(activity_id) = id(data, "activity_id") else {
            return;
        };
        if event.event_type == "ActivityRetracted" {
            if let Some(activity) = self.activity_index.get_mut(&activity_id) {
                activity.counted = false;
            }
            return;
        }
        let area = data
            .get("area")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                self.activity_index
                    .get(&activity_id)
                    .map(|a| a.area.clone())
            })
            .or_else(|| event.area.map(str::to_owned))
            .unwrap_or_default();
        let counted = strategies(data).contains(&self.strategy.as_str());
        self.activity_index.insert(
            activity_id,
            Activity {
                area,
                date: text(data, "date"),
                participants: data
                    .get("participants")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                counted,
            },
        );
    }
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
