//! Areas: where area teams work. Araby, Teleborg, Lammhult and Braås come with the plan;
//! the coordinator can add more. One stream, `areas`; an area is never removed.

use serde::{Deserialize, Serialize};

use super::error::DomainError;
use super::event::Aggregate;
use super::values::{Name, Slug};

pub const STREAM: &str = "areas";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum AreaEvent {
    AreaAdded {
        id: Slug,
        name: String,
        /// True when the area came with the plan file rather than from the coordinator.
        #[serde(default)]
        from_plan: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Area {
    pub id: Slug,
    pub name: String,
}

/// Every area, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Areas {
    pub version: i64,
    areas: Vec<Area>,
}

impl Areas {
    pub fn get(&self, id: &str) -> Option<&Area> {
        self.areas.iter().find(|area| area.id.as_str() == id)
    }

    pub fn all(&self) -> &[Area] {
        &self.areas
    }

    /// Each area's id and name, in the order they were added (for naming forums and areas
    /// in words where the log holds ids).
    pub fn names(&self) -> Vec<(String, String)> {
        self.areas
            .iter()
            .map(|area| (area.id.to_string(), area.name.clone()))
            .collect()
    }

    /// Adding an area that exists (by id or by name) is refused.
    pub fn add(
        &self,
        id: Slug,
        name: Name,
        from_plan: bool,
    ) -> Result<Vec<AreaEvent>, DomainError> {
        if self.get(id.as_str()).is_some() {
            return Err(DomainError::conflict(format!("Området {id} finns redan.")));
        }
        if self
            .areas
            .iter()
            .any(|area| area.name.to_lowercase() == name.as_str().to_lowercase())
        {
            return Err(DomainError::invalid(
                "name",
                format!("Det finns redan ett område som heter {}.", name.as_str()),
            ));
        }
        Ok(vec![AreaEvent::AreaAdded {
            id,
            name: name.as_str().to_owned(),
            from_plan,
        }])
    }
}

impl Aggregate for Areas {
    type Event = AreaEvent;

    fn apply(mut self, event: &AreaEvent) -> Self {
        self.version += 1;
        let AreaEvent::AreaAdded { id, name, .. } = event;
        self.areas.push(Area {
            id: id.clone(),
            name: name.clone(),
        });
        self
    }

    fn tags(&self, event: &AreaEvent) -> Vec<String> {
        let AreaEvent::AreaAdded { id, .. } = event;
        vec![format!("area:{id}")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::fold;

    fn slug(s: &str) -> Slug {
        Slug::parse("id", s).unwrap()
    }

    #[test]
    fn given_araby_when_the_coordinator_adds_teleborg_then_both_exist() {
        let given = fold::<Areas>(&[AreaEvent::AreaAdded {
            id: slug("araby"),
            name: "Araby".into(),
            from_plan: true,
        }]);
        let events = given
            .add(
                slug("teleborg"),
                Name::parse("name", "Teleborg").unwrap(),
                false,
            )
            .unwrap();
        let then = events.iter().fold(given, Areas::apply);
        assert_eq!(then.all().len(), 2);
        assert_eq!(then.get("teleborg").unwrap().name, "Teleborg");
    }

    #[test]
    fn given_araby_when_araby_is_added_again_then_it_is_refused() {
        let given = fold::<Areas>(&[AreaEvent::AreaAdded {
            id: slug("araby"),
            name: "Araby".into(),
            from_plan: true,
        }]);
        assert!(matches!(
            given.add(
                slug("araby"),
                Name::parse("name", "Araby 2").unwrap(),
                false
            ),
            Err(DomainError::Conflict(_))
        ));
        assert!(matches!(
            given.add(
                slug("araby-2"),
                Name::parse("name", "araby").unwrap(),
                false
            ),
            Err(DomainError::Invalid(_))
        ));
    }
}
