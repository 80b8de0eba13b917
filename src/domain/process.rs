//! A process of the plan and its owner: the owner is assigned by the coordinator and
//! records decisions. One stream per process, `process-<id>`.

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::error::DomainError;
use super::event::Aggregate;
use super::values::{FreeText, Name, Slug, Title, iso_date};

pub fn stream(process: &str) -> String {
    format!("process-{process}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ProcessEvent {
    ProcessOwnerAssigned {
        process: Slug,
        owner_name: Name,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner_user_id: Option<Uuid>,
    },
    DecisionRecorded {
        decision_id: Uuid,
        process: Slug,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strategy: Option<Slug>,
        title: Title,
        text: FreeText,
        #[serde(with = "iso_date")]
        decided_on: Date,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    pub owner: Option<(Name, Option<Uuid>)>,
    pub decisions: u32,
    pub version: i64,
}

impl Process {
    pub fn assign_owner(
        &self,
        process: Slug,
        name: Name,
        user_id: Option<Uuid>,
    ) -> Result<Vec<ProcessEvent>, DomainError> {
        if self.owner.as_ref() == Some(&(name.clone(), user_id)) {
            return Err(DomainError::conflict(format!(
                "{} är redan processägare.",
                name.as_str()
            )));
        }
        Ok(vec![ProcessEvent::ProcessOwnerAssigned {
            process,
            owner_name: name,
            owner_user_id: user_id,
        }])
    }

    pub fn record_decision(
        &self,
        decision_id: Uuid,
        process: Slug,
        strategy: Option<Slug>,
        title: Title,
        text: FreeText,
        decided_on: Date,
    ) -> Result<Vec<ProcessEvent>, DomainError> {
        Ok(vec![ProcessEvent::DecisionRecorded {
            decision_id,
            process,
            strategy,
            title,
            text,
            decided_on,
        }])
    }
}

impl Aggregate for Process {
    type Event = ProcessEvent;

    fn apply(mut self, event: &ProcessEvent) -> Self {
        self.version += 1;
        match event {
            ProcessEvent::ProcessOwnerAssigned {
                owner_name,
                owner_user_id,
                ..
            } => self.owner = Some((owner_name.clone(), *owner_user_id)),
            ProcessEvent::DecisionRecorded { .. } => self.decisions += 1,
        }
        self
    }

    fn tags(&self, event: &ProcessEvent) -> Vec<String> {
        match event {
            ProcessEvent::ProcessOwnerAssigned { process, .. } => {
                vec![format!("process:{process}")]
            }
            ProcessEvent::DecisionRecorded {
                process,
                strategy,
                decision_id,
                ..
            } => {
                let mut tags = vec![
                    format!("process:{process}"),
                    format!("decision:{decision_id}"),
                ];
                tags.extend(strategy.iter().map(|s| format!("strategy:{s}")));
                tags
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::fold;

    #[test]
    fn given_an_owner_assigning_the_same_owner_again_is_refused() {
        let process = Slug::parse("p", "aktiv-fritid").unwrap();
        let name = Name::parse("name", "Karin Ek").unwrap();
        let owned = fold::<Process>(
            &Process::default()
                .assign_owner(process.clone(), name.clone(), None)
                .unwrap(),
        );
        assert!(matches!(
            owned.assign_owner(process.clone(), name, None),
            Err(DomainError::Conflict(_))
        ));
        assert!(
            owned
                .assign_owner(process, Name::parse("name", "Omar Ali").unwrap(), None)
                .is_ok()
        );
    }

    #[test]
    fn decisions_are_tagged_with_their_strategy() {
        let events = Process::default()
            .record_decision(
                Uuid::now_v7(),
                Slug::parse("p", "aktiv-fritid").unwrap(),
                Some(Slug::parse("s", "stodja-civilsamhallet").unwrap()),
                Title::parse("title", "Föreningsbidrag").unwrap(),
                FreeText::parse("text", "Beviljat").unwrap(),
                time::macros::date!(2026 - 03 - 01),
            )
            .unwrap();
        let state = fold::<Process>(&events);
        assert_eq!(state.decisions, 1);
        assert!(
            state
                .tags(&events[0])
                .contains(&"strategy:stodja-civilsamhallet".to_string())
        );
    }
}
