//! The figures of the plan's key indicators (nyckeltal): each indicator is its own stream,
//! `indicator-<id>`, holding every value recorded for it, by unit (a municipality's code,
//! `0780` for Växjö, `0000` for the whole country), year and gender. A value the source
//! later changes is revised, never overwritten: the earlier figure stays in the history.
//!
//! What an indicator is (its source, unit, direction, goals and target) is part of the plan
//! (`plan/`), so a change to it is a plan event.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::error::DomainError;
use super::event::Aggregate;
use super::values::{FreeText, Slug};

pub fn stream(indicator: &str) -> String {
    format!("indicator-{indicator}")
}

/// For whom a figure is: everyone (T), women (K) or men (M), as Kolada splits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Gender {
    #[serde(rename = "T")]
    All,
    #[serde(rename = "K")]
    Women,
    #[serde(rename = "M")]
    Men,
}

impl Gender {
    pub const ALL: [Gender; 3] = [Gender::All, Gender::Women, Gender::Men];

    /// Kolada's letter for it.
    pub fn code(self) -> &'static str {
        match self {
            Gender::All => "T",
            Gender::Women => "K",
            Gender::Men => "M",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|gender| gender.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Gender::All => "Totalt",
            Gender::Women => "Kvinnor",
            Gender::Men => "Män",
        }
    }
}

/// Where a figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueSource {
    /// Fetched from Kolada (or imported from a saved Kolada answer).
    Kolada,
    /// Entered by the coordinator.
    Manual,
}

impl ValueSource {
    pub fn label(self) -> &'static str {
        match self {
            ValueSource::Kolada => "Kolada",
            ValueSource::Manual => "Inmatad",
        }
    }
}

/// One figure as a source gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The municipality's code (`0780`), the whole country's (`0000`), or an area's id.
    pub unit: String,
    pub year: i32,
    pub gender: Gender,
    pub value: f64,
}

impl Observation {
    fn key(&self) -> Key {
        (self.unit.clone(), self.year, self.gender)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum IndicatorEvent {
    IndicatorValueRecorded {
        indicator: Slug,
        #[serde(flatten)]
        observation: Observation,
        source: ValueSource,
        /// What the source calls its figure, when it says (Kolada's KPI id); for a manual
        /// figure, where the coordinator took it from.
        reference: String,
        /// The coordinator's comment on a manual figure (free text, sealed).
        comment: FreeText,
    },
    IndicatorValueRevised {
        indicator: Slug,
        #[serde(flatten)]
        observation: Observation,
        previous: f64,
        source: ValueSource,
        reference: String,
        /// Why the figure changed (free text, sealed).
        reason: FreeText,
    },
}

type Key = (String, i32, Gender);

/// An indicator's figures as they stand: the latest value for each unit, year and gender.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Indicator {
    pub values: BTreeMap<Key, f64>,
    pub version: i64,
}

/// Two figures are the same when they differ by less than a rounding at the source.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

impl Indicator {
    /// What a fetch from a source adds to the log: a figure not seen before is recorded, a
    /// changed one revised, an unchanged one nothing. Within one fetch the last figure for
    /// a unit, year and gender counts.
    pub fn observe(
        &self,
        indicator: &Slug,
        source: ValueSource,
        reference: &str,
        observations: &[Observation],
    ) -> Vec<IndicatorEvent> {
        let mut latest: BTreeMap<Key, &Observation> = BTreeMap::new();
        for observation in observations {
            latest.insert(observation.key(), observation);
        }
        latest
            .into_iter()
            .filter_map(|(key, observation)| match self.values.get(&key) {
                None => Some(IndicatorEvent::IndicatorValueRecorded {
                    indicator: indicator.clone(),
                    observation: observation.clone(),
                    source,
                    reference: reference.to_owned(),
                    comment: FreeText::default(),
                }),
                Some(previous) if !same(*previous, observation.value) => {
                    Some(IndicatorEvent::IndicatorValueRevised {
                        indicator: indicator.clone(),
                        observation: observation.clone(),
                        previous: *previous,
                        source,
                        reference: reference.to_owned(),
                        reason: FreeText::parse("reason", "Källan har ändrat värdet.")
                            .expect("a short fixed text"),
                    })
                }
                Some(_) => None,
            })
            .collect()
    }

    /// A figure the coordinator enters: recorded when the year has none; a correction of one
    /// already there needs a reason, and is refused without one.
    pub fn enter(
        &self,
        indicator: &Slug,
        observation: Observation,
        reference: &str,
        comment: FreeText,
        reason: FreeText,
    ) -> Result<Vec<IndicatorEvent>, DomainError> {
        match self.values.get(&observation.key()) {
            None => Ok(vec![IndicatorEvent::IndicatorValueRecorded {
                indicator: indicator.clone(),
                observation,
                source: ValueSource::Manual,
                reference: reference.to_owned(),
                comment,
            }]),
            Some(_) if reason.is_empty() => Err(DomainError::invalid(
                "reason",
                "Det finns redan ett värde för det året. Skriv varför det ska rättas.",
            )),
            Some(previous) if same(*previous, observation.value) => Err(DomainError::invalid(
                "value",
                "Värdet är detsamma som det som redan finns.",
            )),
            Some(previous) => Ok(vec![IndicatorEvent::IndicatorValueRevised {
                indicator: indicator.clone(),
                observation,
                previous: *previous,
                source: ValueSource::Manual,
                reference: reference.to_owned(),
                reason,
            }]),
        }
    }
}

impl Aggregate for Indicator {
    type Event = IndicatorEvent;

    fn apply(mut self, event: &IndicatorEvent) -> Self {
        self.version += 1;
        let observation = match event {
            IndicatorEvent::IndicatorValueRecorded { observation, .. }
            | IndicatorEvent::IndicatorValueRevised { observation, .. } => observation,
        };
        self.values.insert(observation.key(), observation.value);
        self
    }

    fn tags(&self, event: &IndicatorEvent) -> Vec<String> {
        let indicator = match event {
            IndicatorEvent::IndicatorValueRecorded { indicator, .. }
            | IndicatorEvent::IndicatorValueRevised { indicator, .. } => indicator,
        };
        vec![format!("indicator:{indicator}")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::fold;

    fn observation(unit: &str, year: i32, gender: Gender, value: f64) -> Observation {
        Observation {
            unit: unit.into(),
            year,
            gender,
            value,
        }
    }

    fn slug() -> Slug {
        Slug::parse("id", "gymnasiebehorighet-avvikelse").unwrap()
    }

    #[test]
    fn a_fetch_records_what_is_new_revises_what_changed_and_leaves_the_rest() {
        let first = Indicator::default().observe(
            &slug(),
            ValueSource::Kolada,
            "U15461",
            &[
                observation("0780", 2023, Gender::All, 1.5),
                observation("0780", 2024, Gender::All, -0.5),
            ],
        );
        assert_eq!(first.len(), 2);
        let state: Indicator = fold(&first);
        let again = state.observe(
            &slug(),
            ValueSource::Kolada,
            "U15461",
            &[
                observation("0780", 2023, Gender::All, 1.5),
                observation("0780", 2024, Gender::All, -0.25),
                observation("0000", 2024, Gender::All, 0.0),
            ],
        );
        assert_eq!(again.len(), 2, "one revised, one new, one unchanged");
        assert!(matches!(
            &again[1],
            IndicatorEvent::IndicatorValueRevised { previous, observation, .. }
                if *previous == -0.5 && observation.value == -0.25
        ));
    }

    #[test]
    fn a_manual_correction_needs_a_reason() {
        let state: Indicator = fold(&Indicator::default().observe(
            &slug(),
            ValueSource::Manual,
            "",
            &[observation("0780", 2024, Gender::All, 40.0)],
        ));
        let refused = state.enter(
            &slug(),
            observation("0780", 2024, Gender::All, 42.0),
            "SCB",
            FreeText::default(),
            FreeText::default(),
        );
        assert!(refused.is_err());
        let corrected = state
            .enter(
                &slug(),
                observation("0780", 2024, Gender::All, 42.0),
                "SCB",
                FreeText::default(),
                FreeText::parse("reason", "SCB rättade").unwrap(),
            )
            .unwrap();
        assert!(matches!(
            &corrected[0],
            IndicatorEvent::IndicatorValueRevised { previous, .. } if *previous == 40.0
        ));
    }
}
