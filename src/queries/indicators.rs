//! The key indicators: what the plan says each one is and how it is followed, its figures
//! from the `indicator_values` read model, and which way its latest figure moved.

use serde::Serialize;
use std::collections::BTreeMap;

use super::Queries;
use crate::app::{AppError, Units};
use crate::domain::DomainError;
use crate::domain::plan::{NodeKind, Plan, PlanNode};

/// The read models the indicator pages read.
pub const INDICATOR_READS: [&str; 1] = ["indicator_values"];

/// A key indicator as the plan defines it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndicatorDefinition {
    pub id: String,
    /// The plan's words for it.
    pub text: String,
    /// `kolada`, `scb`, `boverket` or `manual`.
    pub source: String,
    /// Kolada's KPI id, for a Kolada indicator.
    pub kpi: Option<String>,
    pub unit: String,
    /// `higher` or `lower`: which way is better.
    pub better: String,
    /// The goals (ids) it follows.
    pub goals: Vec<String>,
    pub gender_split: bool,
    pub target_value: Option<f64>,
    pub target_year: Option<i32>,
    /// Why the source is what it is.
    pub source_note: String,
}

impl IndicatorDefinition {
    fn of(node: &PlanNode) -> Self {
        Self {
            id: node.id.clone(),
            text: node.text("text").to_owned(),
            source: match node.text("source") {
                "" => "manual".into(),
                source => source.to_owned(),
            },
            kpi: Some(node.text("kpi").to_owned()).filter(|kpi| !kpi.is_empty()),
            unit: node.text("unit").to_owned(),
            better: match node.text("better") {
                "lower" => "lower".into(),
                _ => "higher".into(),
            },
            goals: node.list("goals").into_iter().map(str::to_owned).collect(),
            gender_split: node
                .fields
                .get("gender_split")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            target_value: node.fields.get("target_value").and_then(|v| v.as_f64()),
            target_year: node
                .fields
                .get("target_year")
                .and_then(|v| v.as_i64())
                .map(|year| year as i32),
            source_note: node.text("source_note").to_owned(),
        }
    }

    /// The source in words.
    pub fn source_label(&self) -> &'static str {
        match self.source.as_str() {
            "kolada" => "Kolada (RKA)",
            "scb" => "SCB",
            "boverket" => "Boverket",
            _ => "Inmatas av verksamhetsutvecklaren",
        }
    }
}

/// One figure as it stands.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Figure {
    /// The unit's code (`0780` Växjö, `0000` the whole country).
    pub unit: String,
    pub year: i32,
    /// `T` everyone, `K` women, `M` men.
    pub gender: String,
    pub value: f64,
    /// The figure before its latest revision, if it was revised.
    pub previous: Option<f64>,
    pub revisions: i32,
    /// `kolada` or `manual`.
    pub source: String,
    /// Kolada's KPI id, or where a manual figure was taken from.
    pub reference: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: time::OffsetDateTime,
}

/// Which way the municipality's latest figure moved from the year before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Better,
    Worse,
    Unchanged,
    /// Fewer than two years of figures.
    Unknown,
}

impl Trend {
    pub fn label(self) -> &'static str {
        match self {
            Trend::Better => "bättre",
            Trend::Worse => "sämre",
            Trend::Unchanged => "oförändrat",
            Trend::Unknown => "för få år för en trend",
        }
    }

    pub fn arrow(self) -> &'static str {
        match self {
            Trend::Better => "▲",
            Trend::Worse => "▼",
            Trend::Unchanged => "▶",
            Trend::Unknown => "–",
        }
    }
}

/// A year's figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Latest {
    pub year: i32,
    pub value: f64,
}

/// An indicator with its figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndicatorView {
    #[serde(flatten)]
    pub definition: IndicatorDefinition,
    /// The municipality's latest figure (everyone).
    pub latest: Option<Latest>,
    pub trend: Trend,
    /// Every figure, by unit, year and gender.
    pub figures: Vec<Figure>,
}

impl IndicatorView {
    /// The figures of `unit` and `gender`, by year.
    pub fn series(&self, unit: &str, gender: &str) -> BTreeMap<i32, f64> {
        self.figures
            .iter()
            .filter(|f| f.unit == unit && f.gender == gender)
            .map(|f| (f.year, f.value))
            .collect()
    }

    pub fn summarise(definition: IndicatorDefinition, figures: Vec<Figure>, units: &Units) -> Self {
        let mut view = Self {
            definition,
            latest: None,
            trend: Trend::Unknown,
            figures,
        };
        let own = view.series(&units.municipality, "T");
        let mut years = own.iter().rev();
        view.latest = years.next().map(|(year, value)| Latest {
            year: *year,
            value: *value,
        });
        if let (Some(latest), Some((_, before))) = (view.latest, years.next()) {
            let change = latest.value - before;
            let higher_is_better = view.definition.better != "lower";
            view.trend = if change.abs() < 1e-9 {
                Trend::Unchanged
            } else if (change > 0.0) == higher_is_better {
                Trend::Better
            } else {
                Trend::Worse
            };
        }
        view
    }
}

/// A unit's name in words: the municipality's and the country's by name, others by code.
pub fn unit_name(code: &str, units: &Units) -> String {
    match code {
        "0000" => "Hela landet".into(),
        "0780" => "Växjö".into(),
        code if code == units.municipality => format!("Kommunen ({code})"),
        code => format!("Kommun {code}"),
    }
}

/// A figure as Swedes write it: decimal comma, at most two decimals.
pub fn figure(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.replace('.', ",").replace('-', "−")
}

/// The plan's key indicators, in the plan's order.
pub fn definitions(plan: &Plan) -> Vec<IndicatorDefinition> {
    plan.nodes(NodeKind::KeyIndicator)
        .into_iter()
        .map(IndicatorDefinition::of)
        .collect()
}

impl Queries {
    /// Every key indicator with its figures.
    pub async fn indicators(&self, units: &Units) -> Result<Vec<IndicatorView>, AppError> {
        let plan = self.services.plan().await?;
        let rows: Vec<(String, Figure)> = sqlx::query_as::<_, FigureRow>(
            "SELECT indicator, unit, year, gender, value, previous, revisions, source, reference,
                    recorded_at
             FROM indicator_values ORDER BY indicator, unit, gender, year",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(FigureRow::split)
        .collect();
        let mut by_indicator: BTreeMap<String, Vec<Figure>> = BTreeMap::new();
        for (indicator, figure) in rows {
            by_indicator.entry(indicator).or_default().push(figure);
        }
        Ok(definitions(&plan)
            .into_iter()
            .map(|definition| {
                let figures = by_indicator.remove(&definition.id).unwrap_or_default();
                IndicatorView::summarise(definition, figures, units)
            })
            .collect())
    }

    /// One key indicator with its figures; 404 for an id the plan does not have.
    pub async fn indicator(&self, id: &str, units: &Units) -> Result<IndicatorView, AppError> {
        self.indicators(units)
            .await?
            .into_iter()
            .find(|view| view.definition.id == id)
            .ok_or_else(|| DomainError::not_found("Nyckeltalet finns inte i planen.").into())
    }
}

#[derive(sqlx::FromRow)]
struct FigureRow {
    indicator: String,
    #[sqlx(flatten)]
    figure: Figure,
}

impl FigureRow {
    fn split(self) -> (String, Figure) {
        (self.indicator, self.figure)
    }
}
