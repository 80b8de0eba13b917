//! The key indicators' figures: recording what a source gives (Kolada, fetched or from a
//! saved answer) and what the coordinator enters. Every indicator's figures are appended in
//! one transaction, so a fetch either records everything new or nothing.

use serde::Deserialize;

use super::{AppError, CommandContext, Done, Services, allow};
use crate::access::Action;
use crate::domain::DomainError;
use crate::domain::FieldError;
use crate::domain::error::Problems;
use crate::domain::indicator::{self, Gender, Indicator, Observation, ValueSource};
use crate::domain::plan::NodeKind;
use crate::domain::values::{FreeText, Slug};

/// Where the figures of the plan's indicators are for: the municipality and the units it is
/// compared with (Kolada's codes: `0780` Växjö, `0000` the whole country).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    pub municipality: String,
    pub comparison: Vec<String>,
}

impl Default for Units {
    fn default() -> Self {
        Self {
            municipality: "0780".into(),
            comparison: vec!["0000".into()],
        }
    }
}

impl Units {
    /// The municipality first, then the comparison units.
    pub fn all(&self) -> Vec<String> {
        let mut all = vec![self.municipality.clone()];
        all.extend(self.comparison.iter().cloned());
        all
    }
}

/// Why a fetch from Kolada recorded nothing.
#[derive(Debug, thiserror::Error)]
pub enum FetchFailed {
    #[error(transparent)]
    Kolada(#[from] crate::kolada::FetchError),
    #[error(transparent)]
    Recording(#[from] AppError),
}

/// What a fetch or an import appended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub recorded: usize,
    pub revised: usize,
    /// The log position of the last event appended (none when nothing was new).
    pub position: Option<i64>,
}

/// A figure the coordinator enters, as a form or the API sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct IndicatorValueInput {
    /// The year the figure is for.
    pub year: String,
    /// The figure; a decimal comma or point.
    pub value: String,
    /// The unit's code; empty for the municipality.
    #[serde(default)]
    pub unit: String,
    /// `T` (everyone, the default), `K` (women) or `M` (men).
    #[serde(default)]
    pub gender: String,
    /// Where the figure was taken from (for example "SCB, 2026-03-01").
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub comment: String,
    /// Why a figure already recorded is corrected (required for a correction).
    #[serde(default)]
    pub reason: String,
}

impl Services {
    /// Fetches the figures of the plan's Kolada indicators for `units` in `years` and
    /// records what is new or changed; nothing when a page could not be read. `on_page` is
    /// told of each page read.
    pub async fn fetch_kolada(
        &self,
        ctx: &CommandContext,
        kolada: &crate::kolada::Kolada,
        units: &Units,
        years: std::ops::RangeInclusive<i32>,
        on_page: impl FnMut(usize),
    ) -> Result<(usize, Recorded), FetchFailed> {
        let plan = self.plan().await?;
        let kpis: Vec<String> = crate::queries::indicators::definitions(&plan)
            .into_iter()
            .filter_map(|definition| definition.kpi)
            .collect();
        let figures = kolada.fetch(&kpis, &units.all(), years, on_page).await?;
        let read = figures.values().map(Vec::len).sum();
        Ok((read, self.record_kolada(ctx, &figures).await?))
    }

    /// Records the figures `by_kpi` (Kolada's) for the plan's Kolada-sourced indicators:
    /// new figures recorded, changed ones revised, all in one transaction.
    pub async fn record_kolada(
        &self,
        ctx: &CommandContext,
        by_kpi: &crate::kolada::Figures,
    ) -> Result<Recorded, AppError> {
        allow(ctx, &Action::Administer)?;
        let plan = self.plan().await?;
        let mut wanted = Vec::new();
        for node in plan.nodes(NodeKind::KeyIndicator) {
            if node.text("source") != "kolada" {
                continue;
            }
            let kpi = node.text("kpi");
            if let Some(observations) = by_kpi.get(kpi) {
                let id = Slug::parse("indicator", &node.id)
                    .map_err(|error| DomainError::Invalid(vec![error]))?;
                wanted.push((id, kpi.to_owned(), observations.clone()));
            }
        }
        let id = ctx.new_id("indicator values");
        let (plan, wanted) = (&plan, &wanted);
        super::until_committed(move || async move {
            let mut outcome = Recorded::default();
            let mut batches = Vec::new();
            for (indicator, kpi, observations) in wanted {
                let stream = indicator::stream(indicator.as_str());
                let (state, version) = self.load::<Indicator>(&stream).await?;
                let events = state.observe(indicator, ValueSource::Kolada, kpi, observations);
                for event in &events {
                    match event {
                        indicator::IndicatorEvent::IndicatorValueRecorded { .. } => {
                            outcome.recorded += 1
                        }
                        indicator::IndicatorEvent::IndicatorValueRevised { .. } => {
                            outcome.revised += 1
                        }
                    }
                }
                let mut rows = self.to_new_events(ctx, &stream, state, events, None, plan);
                self.seal(&mut rows).await?;
                batches.push((stream, version, rows));
            }
            if outcome.recorded + outcome.revised == 0 {
                return Ok(super::Try::Done(outcome));
            }
            Ok(match super::Try::of(self.commit(ctx, id, batches).await)? {
                super::Try::Done(done) => {
                    outcome.position = Some(done.position);
                    super::Try::Done(outcome)
                }
                super::Try::Raced(error) => super::Try::Raced(error),
            })
        })
        .await
    }

    /// A figure the coordinator enters for `indicator`: recorded, or, for a year and unit
    /// that has one, a correction with its reason.
    pub async fn enter_indicator_value(
        &self,
        ctx: &CommandContext,
        indicator: &str,
        units: &Units,
        input: &IndicatorValueInput,
    ) -> Result<Done, AppError> {
        allow(ctx, &Action::Administer)?;
        let plan = self.plan().await?;
        if plan.node(NodeKind::KeyIndicator, indicator).is_none() {
            return Err(DomainError::not_found("Nyckeltalet finns inte i planen.").into());
        }
        let indicator = Slug::parse("indicator", indicator)
            .map_err(|error| DomainError::Invalid(vec![error]))?;
        let mut problems = Problems::new();
        let this_year = self.today().year();
        let year = problems.check(
            input
                .year
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|year| (1990..=this_year).contains(year))
                .ok_or_else(|| {
                    FieldError::new("year", format!("Skriv ett år mellan 1990 och {this_year}."))
                }),
        );
        let value = problems.check(
            input
                .value
                .trim()
                .replace(',', ".")
                .replace(['\u{a0}', ' '], "")
                .parse::<f64>()
                .ok()
                .filter(|value| value.is_finite())
                .ok_or_else(|| {
                    FieldError::new("value", "Skriv värdet som ett tal, till exempel 42,5.")
                }),
        );
        let unit = match input.unit.trim() {
            "" => Ok(units.municipality.clone()),
            unit if units.all().iter().any(|u| u == unit) => Ok(unit.to_owned()),
            _ => Err(FieldError::new(
                "unit",
                "Välj kommunen eller en av jämförelseenheterna.",
            )),
        };
        let unit = problems.check(unit);
        let gender = problems.check(match input.gender.trim() {
            "" => Ok(Gender::All),
            code => Gender::from_code(code)
                .ok_or_else(|| FieldError::new("gender", "Välj totalt, kvinnor eller män.")),
        });
        let reference = input.reference.trim();
        let reference = problems.check(if reference.chars().count() > 200 {
            Err(FieldError::new(
                "reference",
                "Källan får vara högst 200 tecken.",
            ))
        } else {
            Ok(reference.to_owned())
        });
        let comment = problems.check(FreeText::parse("comment", &input.comment));
        let reason = problems.check(FreeText::parse("reason", &input.reason));
        problems.finish()?;
        let observation = Observation {
            unit: unit.expect("checked"),
            year: year.expect("checked"),
            gender: gender.expect("checked"),
            value: value.expect("checked"),
        };
        let id = ctx.new_id("indicator value");
        let stream = indicator::stream(indicator.as_str());
        let (reference, comment, reason) = (
            reference.expect("checked"),
            comment.expect("checked"),
            reason.expect("checked"),
        );
        self.execute::<Indicator>(ctx, &stream, id, |state| {
            Ok(state.enter(
                &indicator,
                observation.clone(),
                &reference,
                comment.clone(),
                reason.clone(),
            )?)
        })
        .await
    }
}
