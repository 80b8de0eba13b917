//! The integration plan as data: its nodes (processes, challenges, focus areas, strategies,
//! partners, goals, key indicators, values, principles, definitions, forums), the events
//! that define and revise them, and the plan's current state folded from those events.
//!
//! The plan lives in one stream, `plan`. Importing a plan file compares the file's nodes
//! with the current state and appends only the differences: a node is *defined*, *revised*
//! (a strategy whose title alone changed is *reworded*) or *retired*; a final
//! `PlanImported` records the file's digest and the counts. Importing the same file twice
//! appends nothing the second time. A revised plan is history, not an overwrite.

pub mod document;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use super::event::DecodeError;

/// The stream holding the plan's events.
pub const STREAM: &str = "plan";

/// The kinds of node in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeKind {
    Plan,
    Process,
    Challenge,
    FocusArea,
    Partner,
    Strategy,
    Goal,
    KeyIndicator,
    Value,
    Principle,
    Definition,
    Forum,
}

impl NodeKind {
    pub const ALL: [NodeKind; 12] = [
        NodeKind::Plan,
        NodeKind::Process,
        NodeKind::Challenge,
        NodeKind::FocusArea,
        NodeKind::Partner,
        NodeKind::Strategy,
        NodeKind::Goal,
        NodeKind::KeyIndicator,
        NodeKind::Value,
        NodeKind::Principle,
        NodeKind::Definition,
        NodeKind::Forum,
    ];

    /// The kind's name in event types: `StrategyDefined`, `ProcessRevised` …
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Plan => "Plan",
            NodeKind::Process => "Process",
            NodeKind::Challenge => "Challenge",
            NodeKind::FocusArea => "FocusArea",
            NodeKind::Partner => "Partner",
            NodeKind::Strategy => "Strategy",
            NodeKind::Goal => "Goal",
            NodeKind::KeyIndicator => "KeyIndicator",
            NodeKind::Value => "Value",
            NodeKind::Principle => "Principle",
            NodeKind::Definition => "Definition",
            NodeKind::Forum => "Forum",
        }
    }
}

/// One node of the plan with its fields (all of them JSON, as in the events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanNode {
    pub kind: NodeKind,
    pub id: String,
    pub fields: Map<String, Value>,
}

impl PlanNode {
    pub fn text(&self, field: &str) -> &str {
        self.fields.get(field).and_then(Value::as_str).unwrap_or("")
    }

    pub fn list(&self, field: &str) -> Vec<&str> {
        self.fields
            .get(field)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// What an import found in the file compared with the plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCounts {
    pub defined: u32,
    pub revised: u32,
    pub retired: u32,
}

impl ImportCounts {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlanEvent {
    /// A node enters the plan (`PlanAdopted` for the plan itself).
    Defined { node: PlanNode },
    /// A node's fields change; `previous` holds the old values of the changed fields
    /// (`StrategyReworded` when only a strategy's title changed).
    Revised {
        node: PlanNode,
        previous: Map<String, Value>,
    },
    /// A node leaves the plan; its history stays.
    Retired { kind: NodeKind, id: String },
    /// A plan file was imported: its SHA-256 and what changed.
    Imported {
        sha256: String,
        counts: ImportCounts,
    },
}

impl PlanEvent {
    pub fn event_type(&self) -> String {
        match self {
            PlanEvent::Defined { node } if node.kind == NodeKind::Plan => "PlanAdopted".into(),
            PlanEvent::Defined { node } => format!("{}Defined", node.kind.name()),
            PlanEvent::Revised { node, previous }
                if node.kind == NodeKind::Strategy && previous.keys().all(|key| key == "title") =>
            {
                "StrategyReworded".into()
            }
            PlanEvent::Revised { node, .. } if node.kind == NodeKind::Plan => {
                "PlanTextRevised".into()
            }
            PlanEvent::Revised { node, .. } => format!("{}Revised", node.kind.name()),
            PlanEvent::Retired { kind, .. } => format!("{}Retired", kind.name()),
            PlanEvent::Imported { .. } => "PlanImported".into(),
        }
    }

    pub fn data(&self) -> Value {
        match self {
            PlanEvent::Defined { node } => with_id(&node.id, &node.fields),
            PlanEvent::Revised { node, previous } => {
                let mut data = with_id(&node.id, &node.fields);
                data["previous"] = Value::Object(previous.clone());
                data
            }
            PlanEvent::Retired { id, .. } => json!({ "id": id }),
            PlanEvent::Imported { sha256, counts } => json!({
                "sha256": sha256,
                "defined": counts.defined,
                "revised": counts.revised,
                "retired": counts.retired,
            }),
        }
    }

    /// Tags: every plan event carries `plan`; strategies also `strategy:` and `process:`,
    /// processes `process:`.
    pub fn tags(&self, plan: &Plan) -> Vec<String> {
        let mut tags = vec!["plan".to_string()];
        let (kind, id) = match self {
            PlanEvent::Defined { node } | PlanEvent::Revised { node, .. } => {
                (node.kind, node.id.as_str())
            }
            PlanEvent::Retired { kind, id } => (*kind, id.as_str()),
            PlanEvent::Imported { .. } => return tags,
        };
        match kind {
            NodeKind::Strategy => {
                tags.push(format!("strategy:{id}"));
                let process = match self {
                    PlanEvent::Defined { node } | PlanEvent::Revised { node, .. } => {
                        Some(node.text("process").to_owned())
                    }
                    _ => plan
                        .node(NodeKind::Strategy, id)
                        .map(|node| node.text("process").to_owned()),
                };
                if let Some(process) = process.filter(|process| !process.is_empty()) {
                    tags.push(format!("process:{process}"));
                }
            }
            NodeKind::Process => tags.push(format!("process:{id}")),
            _ => {}
        }
        tags
    }

    /// Reads a stored plan event.
    pub fn decode(event_type: &str, data: &Value) -> Result<Self, DecodeError> {
        let invalid = |message: &str| DecodeError {
            event_type: event_type.to_owned(),
            schema_version: 1,
            source: serde::de::Error::custom(message),
        };
        let Value::Object(map) = data else {
            return Err(invalid("plan event data is not an object"));
        };
        if event_type == "PlanImported" {
            let count = |key: &str| map.get(key).and_then(Value::as_u64).unwrap_or(0) as u32;
            return Ok(PlanEvent::Imported {
                sha256: map
                    .get("sha256")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                counts: ImportCounts {
                    defined: count("defined"),
                    revised: count("revised"),
                    retired: count("retired"),
                },
            });
        }
        let (kind, verb) = match event_type {
            "PlanAdopted" => (NodeKind::Plan, "Defined"),
            "PlanTextRevised" => (NodeKind::Plan, "Revised"),
            "StrategyReworded" => (NodeKind::Strategy, "Revised"),
            _ => NodeKind::ALL
                .into_iter()
                .find_map(|kind| {
                    let verb = event_type.strip_prefix(kind.name())?;
                    matches!(verb, "Defined" | "Revised" | "Retired").then_some((kind, verb))
                })
                .ok_or_else(|| invalid("not a plan event type"))?,
        };
        let id = map
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("plan event without id"))?
            .to_owned();
        let mut fields = map.clone();
        fields.remove("id");
        let previous = match fields.remove("previous") {
            Some(Value::Object(previous)) => previous,
            _ => Map::new(),
        };
        Ok(match verb {
            "Defined" => PlanEvent::Defined {
                node: PlanNode { kind, id, fields },
            },
            "Revised" => PlanEvent::Revised {
                node: PlanNode { kind, id, fields },
                previous,
            },
            _ => PlanEvent::Retired { kind, id },
        })
    }
}

fn with_id(id: &str, fields: &Map<String, Value>) -> Value {
    let mut data = Map::with_capacity(fields.len() + 1);
    data.insert("id".into(), json!(id));
    data.extend(
        fields
            .iter()
            .map(|(key, value)| (key.clone(), value.clone())),
    );
    Value::Object(data)
}

#[derive(Debug, Clone, PartialEq)]
struct NodeState {
    node: PlanNode,
    retired: bool,
    /// The order in which nodes were first defined: the plan's reading order.
    ordinal: usize,
}

/// The plan as folded from its stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The version of the `plan` stream this state reflects.
    pub version: i64,
    nodes: BTreeMap<(NodeKind, String), NodeState>,
    defined: usize,
}

impl Plan {
    pub fn apply(mut self, event: &PlanEvent) -> Self {
        self.version += 1;
        match event {
            PlanEvent::Defined { node } => {
                let key = (node.kind, node.id.clone());
                let ordinal = match self.nodes.get(&key) {
                    Some(existing) => existing.ordinal,
                    None => {
                        self.defined += 1;
                        self.defined
                    }
                };
                self.nodes.insert(
                    key,
                    NodeState {
                        node: node.clone(),
                        retired: false,
                        ordinal,
                    },
                );
            }
            PlanEvent::Revised { node, .. } => {
                if let Some(state) = self.nodes.get_mut(&(node.kind, node.id.clone())) {
                    state.node = node.clone();
                }
            }
            PlanEvent::Retired { kind, id } => {
                if let Some(state) = self.nodes.get_mut(&(*kind, id.clone())) {
                    state.retired = true;
                }
            }
            PlanEvent::Imported { .. } => {}
        }
        self
    }

    /// Whether a plan has been adopted at all.
    pub fn is_adopted(&self) -> bool {
        self.nodes.keys().any(|(kind, _)| *kind == NodeKind::Plan)
    }

    /// A node in force (not retired).
    pub fn node(&self, kind: NodeKind, id: &str) -> Option<&PlanNode> {
        self.nodes
            .get(&(kind, id.to_owned()))
            .filter(|state| !state.retired)
            .map(|state| &state.node)
    }

    /// A process's title, as people know it; its id only where the plan has no such process
    /// in force (the log holds ids).
    pub fn process_title<'a>(&'a self, process: &'a str) -> &'a str {
        self.node(NodeKind::Process, process)
            .map_or(process, |node| node.text("title"))
    }

    /// A node whether or not it is retired, with its retired flag.
    pub fn node_with_status(&self, kind: NodeKind, id: &str) -> Option<(&PlanNode, bool)> {
        self.nodes
            .get(&(kind, id.to_owned()))
            .map(|state| (&state.node, state.retired))
    }

    /// The nodes of one kind in force, in the plan's reading order.
    pub fn nodes(&self, kind: NodeKind) -> Vec<&PlanNode> {
        let mut states: Vec<&NodeState> = self
            .nodes
            .range((kind, String::new())..)
            .take_while(|((k, _), _)| *k == kind)
            .map(|(_, state)| state)
            .filter(|state| !state.retired)
            .collect();
        states.sort_by_key(|state| state.ordinal);
        states.into_iter().map(|state| &state.node).collect()
    }

    /// The plan's own node (title, background, budget quote, intros).
    pub fn header(&self) -> Option<&PlanNode> {
        self.nodes(NodeKind::Plan).into_iter().next()
    }

    /// The events that turn this plan into the one described by `nodes`, ending with
    /// `PlanImported`; empty when nothing differs.
    pub fn diff(&self, nodes: &[PlanNode], sha256: &str) -> Vec<PlanEvent> {
        let mut events = Vec::new();
        let mut counts = ImportCounts::default();
        let mut in_file = std::collections::HashSet::new();
        for node in nodes {
            in_file.insert((node.kind, node.id.clone()));
            match self.nodes.get(&(node.kind, node.id.clone())) {
                None => {
                    counts.defined += 1;
                    events.push(PlanEvent::Defined { node: node.clone() });
                }
                Some(state) if state.retired => {
                    counts.defined += 1;
                    events.push(PlanEvent::Defined { node: node.clone() });
                }
                Some(state) if state.node.fields != node.fields => {
                    let mut previous = Map::new();
                    for (key, old) in &state.node.fields {
                        if node.fields.get(key) != Some(old) {
                            previous.insert(key.clone(), old.clone());
                        }
                    }
                    for key in node.fields.keys() {
                        if !state.node.fields.contains_key(key) {
                            previous.insert(key.clone(), Value::Null);
                        }
                    }
                    counts.revised += 1;
                    events.push(PlanEvent::Revised {
                        node: node.clone(),
                        previous,
                    });
                }
                Some(_) => {}
            }
        }
        let mut retired: Vec<&NodeState> = self
            .nodes
            .iter()
            .filter(|(key, state)| !state.retired && !in_file.contains(*key))
            .map(|(_, state)| state)
            .collect();
        retired.sort_by_key(|state| state.ordinal);
        for state in retired {
            counts.retired += 1;
            events.push(PlanEvent::Retired {
                kind: state.node.kind,
                id: state.node.id.clone(),
            });
        }
        if !events.is_empty() {
            events.push(PlanEvent::Imported {
                sha256: sha256.to_owned(),
                counts,
            });
        }
        events
    }

    /// A strategy in force, with the ids it links to.
    pub fn strategy(&self, id: &str) -> Option<StrategyRef<'_>> {
        self.node(NodeKind::Strategy, id)
            .map(|node| StrategyRef { node })
    }

    /// The process a strategy belongs to, whether or not the strategy is retired (for
    /// tagging events about it).
    pub fn process_of(&self, strategy: &str) -> Option<&str> {
        self.node_with_status(NodeKind::Strategy, strategy)
            .map(|(node, _)| node.text("process"))
            .filter(|process| !process.is_empty())
    }

    /// A partner in force, found by id or by its name (case-insensitively).
    pub fn partner(&self, id_or_name: &str) -> Option<&PlanNode> {
        self.node(NodeKind::Partner, id_or_name).or_else(|| {
            let wanted = id_or_name.trim().to_lowercase();
            self.nodes(NodeKind::Partner)
                .into_iter()
                .find(|node| node.text("name").to_lowercase() == wanted)
        })
    }
}

/// A strategy node, read through its fields.
#[derive(Debug, Clone, Copy)]
pub struct StrategyRef<'a> {
    pub node: &'a PlanNode,
}

impl<'a> StrategyRef<'a> {
    pub fn id(&self) -> &'a str {
        &self.node.id
    }
    pub fn title(&self) -> &'a str {
        self.node.text("title")
    }
    pub fn process(&self) -> &'a str {
        self.node.text("process")
    }
    pub fn challenge(&self) -> &'a str {
        self.node.text("challenge")
    }
    pub fn focus_area(&self) -> &'a str {
        self.node.text("focus_area")
    }
    pub fn partners(&self) -> Vec<&'a str> {
        self.node.list("partners")
    }
}

/// Folds plan events into the plan.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a PlanEvent>) -> Plan {
    events.into_iter().fold(Plan::default(), Plan::apply)
}

#[cfg(test)]
mod tests {
    use super::document::{BUNDLED, PlanDocument};
    use super::*;

    fn imported(document: &PlanDocument) -> (Plan, Vec<PlanEvent>) {
        let events = Plan::default().diff(&document.nodes(), "sha");
        (fold(&events), events)
    }

    #[test]
    fn every_strategy_of_the_bundled_plan_sits_under_a_challenge_that_lists_its_focus_area() {
        let document = PlanDocument::parse(BUNDLED).unwrap();
        let (plan, _) = imported(&document);
        for strategy in plan.nodes(NodeKind::Strategy) {
            let challenge = plan
                .node(NodeKind::Challenge, strategy.text("challenge"))
                .unwrap();
            assert!(
                challenge
                    .list("focus_areas")
                    .contains(&strategy.text("focus_area")),
                "{}: its focus area {} is not among {}'s",
                strategy.id,
                strategy.text("focus_area"),
                challenge.id
            );
        }
        // Each key indicator follows at least one goal, and a Kolada one names its KPI.
        for indicator in plan.nodes(NodeKind::KeyIndicator) {
            assert!(!indicator.list("goals").is_empty(), "{}", indicator.id);
            assert_eq!(
                indicator.text("source") == "kolada",
                !indicator.text("kpi").is_empty(),
                "{}",
                indicator.id
            );
        }
    }

    #[test]
    fn the_bundled_plan_parses_with_six_processes_and_its_strategies() {
        let document = PlanDocument::parse(BUNDLED).unwrap();
        let (plan, events) = imported(&document);
        assert_eq!(plan.nodes(NodeKind::Process).len(), 6);
        assert_eq!(plan.nodes(NodeKind::Strategy).len(), 32);
        assert_eq!(plan.nodes(NodeKind::Goal).len(), 3);
        assert_eq!(plan.nodes(NodeKind::KeyIndicator).len(), 8);
        assert_eq!(plan.nodes(NodeKind::Principle).len(), 8);
        assert_eq!(plan.nodes(NodeKind::Value).len(), 4);
        assert_eq!(plan.nodes(NodeKind::Definition).len(), 3);
        assert_eq!(plan.nodes(NodeKind::Forum).len(), 4);
        assert_eq!(events.first().unwrap().event_type(), "PlanAdopted");
        assert_eq!(events.last().unwrap().event_type(), "PlanImported");
        let strategy = plan.strategy("matchningsmetodik").unwrap();
        assert_eq!(strategy.title(), "Matchningsmetodik");
        assert_eq!(strategy.process(), "arbetsmarknad-och-naringsliv");
        assert_eq!(
            plan.nodes(NodeKind::Process)[0].text("title"),
            "Främja en fungerande arbetsmarknad och växande näringsliv"
        );
    }

    #[test]
    fn importing_the_same_plan_again_changes_nothing() {
        let document = PlanDocument::parse(BUNDLED).unwrap();
        let (plan, _) = imported(&document);
        assert!(plan.diff(&document.nodes(), "sha").is_empty());
    }

    #[test]
    fn a_revised_file_appends_only_its_differences() {
        let document = PlanDocument::parse(BUNDLED).unwrap();
        let (plan, _) = imported(&document);

        let mut revised = document.clone();
        let row = &mut revised.processes[0].rows[1];
        row.strategies[0].title = "Matchningsmetodik och uppföljning".into();
        row.strategies.remove(1);
        row.strategies.push(document::Strategy {
            id: "digital-matchning".into(),
            title: "Digital matchning".into(),
        });
        let events = plan.diff(&revised.nodes(), "sha2");
        let types: Vec<String> = events.iter().map(PlanEvent::event_type).collect();
        assert_eq!(
            types,
            [
                "StrategyReworded",
                "StrategyDefined",
                "StrategyRetired",
                "PlanImported"
            ]
        );
        let PlanEvent::Revised { previous, .. } = &events[0] else {
            panic!()
        };
        assert_eq!(previous["title"], "Matchningsmetodik");
        assert_eq!(
            events[3].data(),
            json!({"sha256": "sha2", "defined": 1, "revised": 1, "retired": 1})
        );

        let after = events.iter().fold(plan, Plan::apply);
        assert_eq!(
            after.strategy("matchningsmetodik").unwrap().title(),
            "Matchningsmetodik och uppföljning"
        );
        assert!(
            after
                .strategy("systematiskt-arbete-med-foretagsbesok")
                .is_none()
        );
        assert!(
            after
                .node_with_status(NodeKind::Strategy, "systematiskt-arbete-med-foretagsbesok")
                .unwrap()
                .1
        );
        assert!(after.diff(&revised.nodes(), "sha2").is_empty());
    }

    #[test]
    fn moving_a_strategy_is_a_revision_not_a_rewording() {
        let document = PlanDocument::parse(BUNDLED).unwrap();
        let (plan, _) = imported(&document);
        let mut revised = document.clone();
        let moved = revised.processes[0].rows[1].strategies.remove(0);
        revised.processes[1].rows[0].strategies.push(moved);
        let events = plan.diff(&revised.nodes(), "sha");
        assert_eq!(events[0].event_type(), "StrategyRevised");
        assert_eq!(
            events[0].tags(&plan),
            [
                "plan",
                "strategy:matchningsmetodik",
                "process:livslangt-larande"
            ]
        );
    }

    #[test]
    fn plan_events_round_trip_through_the_log_format() {
        let document = PlanDocument::parse(BUNDLED).unwrap();
        let (plan, events) = imported(&document);
        let decoded: Vec<PlanEvent> = events
            .iter()
            .map(|event| PlanEvent::decode(&event.event_type(), &event.data()).unwrap())
            .collect();
        assert_eq!(decoded, events);
        assert_eq!(fold(&decoded), plan);
    }

    #[test]
    fn a_plan_file_with_broken_references_is_refused_with_every_problem() {
        let broken = BUNDLED
            .replace("challenge = \"segregation\"", "challenge = \"segregaton\"")
            .replace("id = \"araby\"", "id = \"Araby\"");
        let error = PlanDocument::parse(&broken).unwrap_err();
        assert!(
            error.contains("unknown challenge \"segregaton\""),
            "{error}"
        );
        assert!(error.contains("area id \"Araby\" is not a slug"), "{error}");
    }
}
