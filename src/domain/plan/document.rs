//! The plan file (`plan/vaxjo-integrationsplan.toml`): its shape, its checks, and its
//! conversion into plan nodes. The file format is described in `docs/plan.md`.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashSet;

use super::{NodeKind, PlanNode};
use crate::domain::values::Slug;

/// The Växjö plan as shipped with Insats; imported on first start.
pub const BUNDLED: &str = include_str!("../../../plan/vaxjo-integrationsplan.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDocument {
    pub schema: u32,
    pub id: String,
    pub title: String,
    pub background: Background,
    #[serde(default)]
    pub definitions: Vec<Definition>,
    pub budget_quote: Option<BudgetQuote>,
    #[serde(default)]
    pub goals: Vec<TextNode>,
    #[serde(default)]
    pub key_indicators: Vec<KeyIndicator>,
    pub values_intro: Option<Intro>,
    #[serde(default)]
    pub values: Vec<TitledNode>,
    pub principles_intro: Option<Intro>,
    #[serde(default)]
    pub principles: Vec<TitledNode>,
    #[serde(default)]
    pub challenges: Vec<Challenge>,
    #[serde(default)]
    pub focus_areas: Vec<FocusArea>,
    #[serde(default)]
    pub partners: Vec<Partner>,
    pub processes: Vec<Process>,
    #[serde(default)]
    pub forums: Vec<Forum>,
    #[serde(default)]
    pub areas: Vec<Area>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Background {
    pub purpose: String,
    #[serde(default)]
    pub qualities: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    pub scope: String,
    pub responsibility: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetQuote {
    pub source: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intro {
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub id: String,
    pub term: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextNode {
    pub id: String,
    pub text: String,
}

/// A key indicator (nyckeltal) as the plan names it, and how Insats follows it: where its
/// figures come from, in what unit, which way is better, the goals it follows, an optional
/// target, and whether its figures are split by gender.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyIndicator {
    pub id: String,
    pub text: String,
    /// `kolada` (fetched by its `kpi`), `scb`, `boverket` or `manual`: the last three are
    /// entered by the coordinator.
    #[serde(default = "manual")]
    pub source: String,
    /// Kolada's id of the figure (for example `U15461`), when `source = "kolada"`.
    pub kpi: Option<String>,
    /// The unit a figure is in, in words ("procent", "procentenheter").
    #[serde(default)]
    pub unit: String,
    /// `higher` or `lower`: which way is better.
    #[serde(default = "higher")]
    pub better: String,
    /// The goals (ids) it follows.
    #[serde(default)]
    pub goals: Vec<String>,
    #[serde(default)]
    pub gender_split: bool,
    pub target_value: Option<f64>,
    pub target_year: Option<i32>,
    /// Why the source is what it is (what was checked), in Swedish.
    #[serde(default)]
    pub source_note: String,
}

fn manual() -> String {
    "manual".into()
}

fn higher() -> String {
    "higher".into()
}

/// The sources an indicator's figures may come from.
pub const INDICATOR_SOURCES: [&str; 4] = ["kolada", "scb", "boverket", "manual"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TitledNode {
    pub id: String,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub focus_areas: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FocusArea {
    pub id: String,
    pub title: String,
    pub overview_title: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub rows: Vec<Row>,
}

/// One row of a process's strategy table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub challenge: String,
    pub focus_area: String,
    #[serde(default)]
    pub partners: Vec<String>,
    pub strategies: Vec<Strategy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forum {
    pub id: String,
    pub name: String,
    pub mandate: String,
    pub members: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub id: String,
    pub name: String,
}

/// The supported version of the file format.
pub const SCHEMA: u32 = 1;

impl PlanDocument {
    /// Parses and checks a plan file. The error lists every problem found.
    pub fn parse(text: &str) -> Result<Self, String> {
        let document: PlanDocument =
            toml::from_str(text).map_err(|error| format!("the plan file is not valid: {error}"))?;
        document.check()?;
        Ok(document)
    }

    fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.schema != SCHEMA {
            problems.push(format!(
                "schema {} is not supported (expected {SCHEMA})",
                self.schema
            ));
        }
        let mut ids: Vec<(NodeKind, &str)> = vec![(NodeKind::Plan, self.id.as_str())];
        ids.extend(
            self.definitions
                .iter()
                .map(|n| (NodeKind::Definition, n.id.as_str())),
        );
        ids.extend(self.goals.iter().map(|n| (NodeKind::Goal, n.id.as_str())));
        ids.extend(
            self.key_indicators
                .iter()
                .map(|n| (NodeKind::KeyIndicator, n.id.as_str())),
        );
        ids.extend(self.values.iter().map(|n| (NodeKind::Value, n.id.as_str())));
        ids.extend(
            self.principles
                .iter()
                .map(|n| (NodeKind::Principle, n.id.as_str())),
        );
        ids.extend(
            self.challenges
                .iter()
                .map(|n| (NodeKind::Challenge, n.id.as_str())),
        );
        ids.extend(
            self.focus_areas
                .iter()
                .map(|n| (NodeKind::FocusArea, n.id.as_str())),
        );
        ids.extend(
            self.partners
                .iter()
                .map(|n| (NodeKind::Partner, n.id.as_str())),
        );
        ids.extend(
            self.processes
                .iter()
                .map(|n| (NodeKind::Process, n.id.as_str())),
        );
        ids.extend(self.forums.iter().map(|n| (NodeKind::Forum, n.id.as_str())));
        for process in &self.processes {
            for row in &process.rows {
                ids.extend(
                    row.strategies
                        .iter()
                        .map(|s| (NodeKind::Strategy, s.id.as_str())),
                );
            }
        }
        let mut seen: HashSet<(NodeKind, &str)> = HashSet::new();
        for (kind, id) in ids {
            if Slug::parse("id", id).is_err() {
                problems.push(format!(
                    "{} id {id:?} is not a slug (a-z, 0-9, single hyphens)",
                    kind.name()
                ));
            }
            if !seen.insert((kind, id)) {
                problems.push(format!("{} id {id:?} is used twice", kind.name()));
            }
        }
        let mut areas = HashSet::new();
        for area in &self.areas {
            if Slug::parse("id", &area.id).is_err() {
                problems.push(format!("area id {:?} is not a slug", area.id));
            }
            if !areas.insert(&area.id) {
                problems.push(format!("area id {:?} is used twice", area.id));
            }
        }

        let known = |kind: NodeKind, id: &str| seen.contains(&(kind, id));
        for indicator in &self.key_indicators {
            if !INDICATOR_SOURCES.contains(&indicator.source.as_str()) {
                problems.push(format!(
                    "key indicator {:?} has source {:?}; use one of {}",
                    indicator.id,
                    indicator.source,
                    INDICATOR_SOURCES.join(", ")
                ));
            }
            if (indicator.source == "kolada") != indicator.kpi.is_some() {
                problems.push(format!(
                    "key indicator {:?}: a Kolada indicator names its kpi, and only it does",
                    indicator.id
                ));
            }
            if !["higher", "lower"].contains(&indicator.better.as_str()) {
                problems.push(format!(
                    "key indicator {:?}: better is \"higher\" or \"lower\"",
                    indicator.id
                ));
            }
            for goal in &indicator.goals {
                if !known(NodeKind::Goal, goal) {
                    problems.push(format!(
                        "key indicator {:?} names an unknown goal {goal:?}",
                        indicator.id
                    ));
                }
            }
        }
        for challenge in &self.challenges {
            for focus in &challenge.focus_areas {
                if !known(NodeKind::FocusArea, focus) {
                    problems.push(format!(
                        "challenge {:?} names an unknown focus area {focus:?}",
                        challenge.id
                    ));
                }
            }
        }
        for process in &self.processes {
            for row in &process.rows {
                if !known(NodeKind::Challenge, &row.challenge) {
                    problems.push(format!(
                        "process {:?} names an unknown challenge {:?}",
                        process.id, row.challenge
                    ));
                }
                if !known(NodeKind::FocusArea, &row.focus_area) {
                    problems.push(format!(
                        "process {:?} names an unknown focus area {:?}",
                        process.id, row.focus_area
                    ));
                }
                for partner in &row.partners {
                    if !known(NodeKind::Partner, partner) {
                        problems.push(format!(
                            "process {:?} names an unknown partner {partner:?}",
                            process.id
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the plan file has problems: {}",
                problems.join("; ")
            ))
        }
    }

    /// The plan's nodes in document order.
    pub fn nodes(&self) -> Vec<PlanNode> {
        let mut nodes = Vec::new();
        let mut push = |kind: NodeKind, id: &str, fields: Value| {
            let Value::Object(fields) = fields else {
                unreachable!("node fields are objects")
            };
            nodes.push(PlanNode {
                kind,
                id: id.to_owned(),
                fields,
            });
        };
        let mut plan = Map::new();
        plan.insert("title".into(), json!(self.title));
        plan.insert("background".into(), json!(self.background));
        if let Some(quote) = &self.budget_quote {
            plan.insert("budget_quote".into(), json!(quote));
        }
        if let Some(intro) = &self.values_intro {
            plan.insert("values_intro".into(), json!(intro.text));
        }
        if let Some(intro) = &self.principles_intro {
            plan.insert("principles_intro".into(), json!(intro.text));
        }
        push(NodeKind::Plan, &self.id, Value::Object(plan));
        for process in &self.processes {
            push(
                NodeKind::Process,
                &process.id,
                json!({"title": process.title}),
            );
        }
        for challenge in &self.challenges {
            push(
                NodeKind::Challenge,
                &challenge.id,
                json!({"title": challenge.title, "focus_areas": challenge.focus_areas}),
            );
        }
        for focus in &self.focus_areas {
            let mut fields = json!({"title": focus.title});
            if let Some(overview) = &focus.overview_title {
                fields["overview_title"] = json!(overview);
            }
            push(NodeKind::FocusArea, &focus.id, fields);
        }
        for partner in &self.partners {
            push(
                NodeKind::Partner,
                &partner.id,
                json!({"name": partner.name}),
            );
        }
        for process in &self.processes {
            for row in &process.rows {
                for strategy in &row.strategies {
                    push(
                        NodeKind::Strategy,
                        &strategy.id,
                        json!({
                            "title": strategy.title,
                            "process": process.id,
                            "challenge": row.challenge,
                            "focus_area": row.focus_area,
                            "partners": row.partners,
                        }),
                    );
                }
            }
        }
        for goal in &self.goals {
            push(NodeKind::Goal, &goal.id, json!({"text": goal.text}));
        }
        for indicator in &self.key_indicators {
            push(
                NodeKind::KeyIndicator,
                &indicator.id,
                json!({
                    "text": indicator.text,
                    "source": indicator.source,
                    "kpi": indicator.kpi,
                    "unit": indicator.unit,
                    "better": indicator.better,
                    "goals": indicator.goals,
                    "gender_split": indicator.gender_split,
                    "target_value": indicator.target_value,
                    "target_year": indicator.target_year,
                    "source_note": indicator.source_note,
                }),
            );
        }
        for value in &self.values {
            push(
                NodeKind::Value,
                &value.id,
                json!({"title": value.title, "text": value.text}),
            );
        }
        for principle in &self.principles {
            push(
                NodeKind::Principle,
                &principle.id,
                json!({"title": principle.title, "text": principle.text}),
            );
        }
        for definition in &self.definitions {
            push(
                NodeKind::Definition,
                &definition.id,
                json!({"term": definition.term, "text": definition.text}),
            );
        }
        for forum in &self.forums {
            push(
                NodeKind::Forum,
                &forum.id,
                json!({"name": forum.name, "mandate": forum.mandate, "members": forum.members}),
            );
        }
        nodes
    }
}
