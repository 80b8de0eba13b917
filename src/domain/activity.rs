//! Activities (insatser): what an area team did, against which strategies, with whom and
//! for how many. Each activity is its own stream, `activity-<uuid>`. Nothing is edited in
//! place: a correction or a retraction is a new event with a reason.

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::error::{DomainError, FieldError, Problems};
use super::event::Aggregate;
use super::plan::Plan;
use super::values::{self, FreeText, Slug, Title, iso_date};

pub fn stream(id: Uuid) -> String {
    format!("activity-{id}")
}

/// A partner named on an activity: one from the plan (with its id) or free text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerMention {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
}

/// What an activity says, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityDetails {
    #[serde(with = "iso_date")]
    pub date: Date,
    pub title: Title,
    pub description: FreeText,
    pub strategies: Vec<Slug>,
    pub partners: Vec<PartnerMention>,
    /// How many took part: a count, never names.
    pub participants: u32,
    pub follow_up: bool,
}

/// An activity as a form or an API client sends it, before validation.
#[derive(Debug, Clone, Default)]
pub struct ActivityInput {
    pub date: String,
    pub title: String,
    pub description: String,
    pub strategies: Vec<String>,
    pub partners: Vec<String>,
    pub participants: i64,
    pub follow_up: bool,
}

const MAX_PARTNERS: usize = 50;
const MAX_STRATEGIES: usize = 40;

impl ActivityDetails {
    /// Validates the input against the plan; every problem is reported at once.
    pub fn parse(input: &ActivityInput, plan: &Plan, today: Date) -> Result<Self, DomainError> {
        let mut problems = Problems::new();
        let date = problems.check(values::parse_date("date", &input.date, today));
        let title = problems.check(Title::parse("title", &input.title));
        let description = problems.check(FreeText::parse("description", &input.description));
        let strategies = problems.check(parse_strategies("strategies", &input.strategies, plan));
        let partners = problems.check(parse_partners("partners", &input.partners, plan));
        let participants = problems.check(values::parse_participants(
            "participants",
            input.participants,
        ));
        problems.finish()?;
        Ok(Self {
            date: date.expect("checked"),
            title: title.expect("checked"),
            description: description.expect("checked"),
            strategies: strategies.expect("checked"),
            partners: partners.expect("checked"),
            participants: participants.expect("checked"),
            follow_up: input.follow_up,
        })
    }
}

/// At least one strategy, each in force in the plan, none twice.
pub fn parse_strategies(field: &str, ids: &[String], plan: &Plan) -> Result<Vec<Slug>, FieldError> {
    if ids.is_empty() {
        return Err(FieldError::new(field, "Välj minst en strategi."));
    }
    if ids.len() > MAX_STRATEGIES {
        return Err(FieldError::new(field, "Välj högst 40 strategier."));
    }
    let mut strategies: Vec<Slug> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = id.trim();
        if plan.strategy(id).is_none() {
            let shown: String = id.chars().take(60).collect();
            return Err(FieldError::new(
                field,
                format!("Strategin ”{shown}” finns inte i planen."),
            ));
        }
        let slug = Slug::parse(field, id)?;
        if !strategies.contains(&slug) {
            strategies.push(slug);
        }
    }
    Ok(strategies)
}

/// Partners by the plan's id or name, or as free text (an organisation not in the plan).
fn parse_partners(
    field: &str,
    names: &[String],
    plan: &Plan,
) -> Result<Vec<PartnerMention>, FieldError> {
    if names.len() > MAX_PARTNERS {
        return Err(FieldError::new(field, "Ange högst 50 samverkansparter."));
    }
    let mut partners: Vec<PartnerMention> = Vec::new();
    for name in names
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
    {
        let mention = match plan.partner(name) {
            Some(node) => PartnerMention {
                id: Some(node.id.clone()),
                name: node.text("name").to_owned(),
            },
            None => PartnerMention {
                id: None,
                name: values::Name::parse(field, name)?.as_str().to_owned(),
            },
        };
        if !partners.contains(&mention) {
            partners.push(mention);
        }
    }
    Ok(partners)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ActivityEvent {
    ActivityLogged {
        activity_id: Uuid,
        area: Slug,
        #[serde(flatten)]
        details: ActivityDetails,
    },
    ActivityCorrected {
        activity_id: Uuid,
        reason: FreeText,
        #[serde(flatten)]
        details: ActivityDetails,
    },
    ActivityRetracted {
        activity_id: Uuid,
        reason: FreeText,
    },
}

impl ActivityEvent {
    /// The activity and its details as logged or corrected (none for a retraction).
    pub fn details(&self) -> Option<(Uuid, &ActivityDetails)> {
        match self {
            ActivityEvent::ActivityLogged {
                activity_id,
                details,
                ..
            }
            | ActivityEvent::ActivityCorrected {
                activity_id,
                details,
                ..
            } => Some((*activity_id, details)),
            ActivityEvent::ActivityRetracted { .. } => None,
        }
    }
}

/// An activity as its events leave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    pub id: Option<Uuid>,
    pub area: Option<Slug>,
    pub details: Option<ActivityDetails>,
    pub retracted: bool,
    pub version: i64,
}

impl Activity {
    pub fn log(
        &self,
        id: Uuid,
        area: Slug,
        details: ActivityDetails,
    ) -> Result<Vec<ActivityEvent>, DomainError> {
        if self.id.is_some() {
            return Err(DomainError::conflict("Insatsen finns redan."));
        }
        Ok(vec![ActivityEvent::ActivityLogged {
            activity_id: id,
            area,
            details,
        }])
    }

    pub fn correct(
        &self,
        details: ActivityDetails,
        reason: FreeText,
    ) -> Result<Vec<ActivityEvent>, DomainError> {
        let id = self.existing()?;
        if self.retracted {
            return Err(DomainError::conflict(
                "Insatsen är återkallad och kan inte rättas.",
            ));
        }
        if reason.is_empty() {
            return Err(DomainError::invalid(
                "reason",
                "Skriv varför insatsen rättas.",
            ));
        }
        if self.details.as_ref() == Some(&details) {
            return Err(DomainError::invalid(
                "details",
                "Rättelsen ändrar ingenting.",
            ));
        }
        Ok(vec![ActivityEvent::ActivityCorrected {
            activity_id: id,
            reason,
            details,
        }])
    }

    pub fn retract(&self, reason: FreeText) -> Result<Vec<ActivityEvent>, DomainError> {
        let id = self.existing()?;
        if self.retracted {
            return Err(DomainError::conflict("Insatsen är redan återkallad."));
        }
        if reason.is_empty() {
            return Err(DomainError::invalid(
                "reason",
                "Skriv varför insatsen återkallas.",
            ));
        }
        Ok(vec![ActivityEvent::ActivityRetracted {
            activity_id: id,
            reason,
        }])
    }

    fn existing(&self) -> Result<Uuid, DomainError> {
        self.id
            .ok_or_else(|| DomainError::not_found("Insatsen finns inte."))
    }
}

impl Aggregate for Activity {
    type Event = ActivityEvent;

    fn apply(mut self, event: &ActivityEvent) -> Self {
        self.version += 1;
        match event {
            ActivityEvent::ActivityLogged {
                activity_id,
                area,
                details,
            } => {
                self.id = Some(*activity_id);
                self.area = Some(area.clone());
                self.details = Some(details.clone());
            }
            ActivityEvent::ActivityCorrected { details, .. } => {
                self.details = Some(details.clone())
            }
            ActivityEvent::ActivityRetracted { .. } => self.retracted = true,
        }
        self
    }

    fn tags(&self, _event: &ActivityEvent) -> Vec<String> {
        let mut tags = Vec::new();
        if let Some(id) = self.id {
            tags.push(format!("activity:{id}"));
        }
        if let Some(area) = &self.area {
            tags.push(format!("area:{area}"));
        }
        if let Some(details) = &self.details {
            tags.extend(details.strategies.iter().map(|s| format!("strategy:{s}")));
        }
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::fold;
    use crate::domain::plan::document::{BUNDLED, PlanDocument};
    use time::macros::date;

    fn plan() -> Plan {
        let nodes = PlanDocument::parse(BUNDLED).unwrap().nodes();
        let events = Plan::default().diff(&nodes, "sha");
        crate::domain::plan::fold(&events)
    }

    fn input() -> ActivityInput {
        ActivityInput {
            date: "2026-05-04".into(),
            title: "Språkcafé".into(),
            description: "Samtal på lätt svenska".into(),
            strategies: vec!["sprakutvecklande-insatser".into()],
            partners: vec![
                "civilsamhallet".into(),
                "Röda korset".into(),
                "Civilsamhället".into(),
            ],
            participants: 14,
            follow_up: true,
        }
    }

    fn araby() -> Slug {
        Slug::parse("area", "araby").unwrap()
    }

    #[test]
    fn given_no_activity_when_logged_then_it_is_logged_with_plan_partners_and_free_text() {
        let details = ActivityDetails::parse(&input(), &plan(), date!(2026 - 05 - 05)).unwrap();
        assert_eq!(
            details.partners,
            vec![
                PartnerMention {
                    id: Some("civilsamhallet".into()),
                    name: "Civilsamhället".into()
                },
                PartnerMention {
                    id: None,
                    name: "Röda korset".into()
                },
            ]
        );
        let id = Uuid::now_v7();
        let events = Activity::default().log(id, araby(), details).unwrap();
        let then = fold::<Activity>(&events);
        assert_eq!(then.id, Some(id));
        assert_eq!(
            then.tags(&events[0]),
            [
                format!("activity:{id}"),
                "area:araby".into(),
                "strategy:sprakutvecklande-insatser".into()
            ]
        );
    }

    #[test]
    fn invalid_input_is_refused_with_a_message_per_field() {
        let bad = ActivityInput {
            date: "2017-01-01".into(),
            title: " ".into(),
            strategies: vec!["finns-inte".into()],
            participants: -3,
            ..input()
        };
        let Err(DomainError::Invalid(errors)) =
            ActivityDetails::parse(&bad, &plan(), date!(2026 - 05 - 05))
        else {
            panic!("invalid input must be refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["date", "title", "strategies", "participants"]);
        assert_eq!(
            errors[2].message,
            "Strategin ”finns-inte” finns inte i planen."
        );
        let none = ActivityInput {
            strategies: vec![],
            ..input()
        };
        assert!(ActivityDetails::parse(&none, &plan(), date!(2026 - 05 - 05)).is_err());
    }

    #[test]
    fn given_a_logged_activity_when_corrected_or_retracted_then_reasons_are_required() {
        let details = ActivityDetails::parse(&input(), &plan(), date!(2026 - 05 - 05)).unwrap();
        let given = fold::<Activity>(
            &Activity::default()
                .log(Uuid::now_v7(), araby(), details.clone())
                .unwrap(),
        );

        let mut changed = details.clone();
        changed.participants = 15;
        let reason = FreeText::parse("reason", "Fel antal").unwrap();
        assert!(matches!(
            given.correct(changed.clone(), reason.clone()).unwrap()[0],
            ActivityEvent::ActivityCorrected { .. }
        ));
        assert!(
            given.correct(details, reason.clone()).is_err(),
            "a correction must change something"
        );
        assert!(given.correct(changed.clone(), FreeText::default()).is_err());

        let retracted = given
            .retract(reason.clone())
            .unwrap()
            .iter()
            .fold(given, Activity::apply);
        assert!(retracted.retracted);
        assert!(matches!(
            retracted.retract(reason.clone()),
            Err(DomainError::Conflict(_))
        ));
        assert!(matches!(
            retracted.correct(changed, reason),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn an_unknown_activity_cannot_be_corrected() {
        let reason = FreeText::parse("reason", "x").unwrap();
        assert!(matches!(
            Activity::default().retract(reason),
            Err(DomainError::NotFound(_))
        ));
    }
}
