//! The catalogue of event types: every type Insats writes to its log, and which of its
//! fields hold free text that people typed.
//!
//! Free text may name a newcomer or reveal something sensitive, so it is handled the same
//! way wherever it appears: sealed under a subject's data key before it reaches the log,
//! erased by destroying that key, and hidden from readers who may not see a secret text.
//! Sealing (`privacy::seal`), erasure and display all read this one list; a test in this
//! module fails when an event type carries free text the list does not name.

/// One event type as the log stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    /// The `event_type` column.
    pub name: &'static str,
    /// The fields of `data` that hold free text.
    pub free_text: &'static [&'static str],
    /// The tags whose subject's key seals the free text, in order of preference: an item
    /// that escalates a case belongs to the case (`case`), otherwise to itself (`item`).
    pub sealed_under: &'static [&'static str],
}

const fn plain(name: &'static str) -> EventType {
    EventType {
        name,
        free_text: &[],
        sealed_under: &[],
    }
}

const fn text(
    name: &'static str,
    free_text: &'static [&'static str],
    sealed_under: &'static [&'static str],
) -> EventType {
    EventType {
        name,
        free_text,
        sealed_under,
    }
}

/// Every event type of Insats.
pub const CATALOGUE: &[EventType] = &[
    // Activities (`activity-<id>`).
    text("ActivityLogged", &["description"], &["activity"]),
    text(
        "ActivityCorrected",
        &["description", "reason"],
        &["activity"],
    ),
    text("ActivityRetracted", &["reason"], &["activity"]),
    // Cases (`case-<id>`).
    text("CaseOpened", &["description"], &["case"]),
    text("CaseNoteAdded", &["text"], &["case"]),
    plain("CaseAssigned"),
    plain("CaseStatusChanged"),
    text("CaseEscalated", &["text"], &["case"]),
    text("CaseEscalationAnswered", &["answer"], &["case"]),
    plain("CaseEscalationClosed"),
    text("CaseClosed", &["resolution"], &["case"]),
    text("CaseReopened", &["reason"], &["case"]),
    // Items between forums (`item-<id>`).
    text("ItemRaised", &["text"], &["case", "item"]),
    plain("ItemAcknowledged"),
    text("ItemAnswered", &["answer"], &["case", "item"]),
    plain("ItemClosed"),
    // The council's reviews (`review-<id>`).
    text("TimelineReviewed", &["feedback"], &["review"]),
    // Processes (`process-<id>`) and strategies' status reports (`strategy-<id>`).
    plain("ProcessOwnerAssigned"),
    text("DecisionRecorded", &["text"], &["decision"]),
    text("StrategyStatusReported", &["comment"], &["report"]),
    // Areas (`areas`).
    plain("AreaAdded"),
    // Secrecy marks (`secrecy-<target>`) and erasures (`erasure-<id>`).
    plain("SecrecyMarked"),
    plain("SecrecyLifted"),
    text("PersonalDataErased", &["reason"], &["erasure"]),
    // Accessibility reports from anyone (`feedback-<id>`).
    text("AccessibilityProblemReported", &["problem"], &["feedback"]),
    // The plan (`plan`): its text is the adopted plan's, never typed by a user here.
    plain("PlanAdopted"),
    plain("PlanTextRevised"),
    plain("StrategyReworded"),
    plain("PlanImported"),
    plain("ProcessDefined"),
    plain("ProcessRevised"),
    plain("ProcessRetired"),
    plain("ChallengeDefined"),
    plain("ChallengeRevised"),
    plain("ChallengeRetired"),
    plain("FocusAreaDefined"),
    plain("FocusAreaRevised"),
    plain("FocusAreaRetired"),
    plain("PartnerDefined"),
    plain("PartnerRevised"),
    plain("PartnerRetired"),
    plain("StrategyDefined"),
    plain("StrategyRevised"),
    plain("StrategyRetired"),
    plain("GoalDefined"),
    plain("GoalRevised"),
    plain("GoalRetired"),
    plain("KeyIndicatorDefined"),
    plain("KeyIndicatorRevised"),
    plain("KeyIndicatorRetired"),
    plain("ValueDefined"),
    plain("ValueRevised"),
    plain("ValueRetired"),
    plain("PrincipleDefined"),
    plain("PrincipleRevised"),
    plain("PrincipleRetired"),
    plain("DefinitionDefined"),
    plain("DefinitionRevised"),
    plain("DefinitionRetired"),
    plain("ForumDefined"),
    plain("ForumRevised"),
    plain("ForumRetired"),
    // Accounts (`users`): names and roles, never a secret.
    plain("UserAdded"),
    plain("UserDisabled"),
    plain("ApiTokenCreated"),
    plain("ApiTokenRevoked"),
    // The log's own seals (`seals`).
    plain("LogSealed"),
];

/// The catalogue's entry for `name`, if Insats writes such events.
pub fn get(name: &str) -> Option<&'static EventType> {
    CATALOGUE.iter().find(|event_type| event_type.name == name)
}

/// The free-text fields of events of type `name` (none for a type not in the catalogue).
pub fn free_text(name: &str) -> &'static [&'static str] {
    get(name).map_or(&[], |event_type| event_type.free_text)
}

/// The subject whose key seals an event's free text: the first of its type's
/// `sealed_under` tags that the event carries, as `<tag>:<id>`.
pub fn subject(name: &str, tags: &[String]) -> Option<String> {
    let event_type = get(name)?;
    event_type.sealed_under.iter().find_map(|prefix| {
        tags.iter()
            .find(|tag| {
                tag.strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with(':'))
            })
            .cloned()
    })
}

#[cfg(test)]
mod tests {
    //! Every variant of every domain event, built with free text that carries a marker.
    //! Whatever field ends up holding the marker must be a free-text field of its type,
    //! and every named free-text field must exist: an event type added with free text that
    //! the catalogue does not name fails here.

    use super::*;
    use crate::domain::activity::{ActivityDetails, ActivityEvent, PartnerMention};
    use crate::domain::area::AreaEvent;
    use crate::domain::case::{Assignee, CaseEvent, CaseStatus};
    use crate::domain::event::encode;
    use crate::domain::feedback::FeedbackEvent;
    use crate::domain::item::{Forum, ItemEvent, ItemKind, NewItem};
    use crate::domain::privacy::{ErasureEvent, SecrecyEvent};
    use crate::domain::process::ProcessEvent;
    use crate::domain::review::ReviewEvent;
    use crate::domain::strategy::{StrategyEvent, StrategyStatus};
    use crate::domain::values::{Citation, FreeText, Name, Period, Slug, Title};
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::Value;
    use time::macros::date;
    use uuid::Uuid;

    const MARKER: &str = "FRITEXT-MARKÖR";

    /// Free text as a person would type it: always carries the marker.
    fn free(text: &str) -> FreeText {
        FreeText::parse("text", &format!("{MARKER} {text}")).unwrap()
    }

    fn slug(text: &str) -> Slug {
        Slug::parse("id", text).unwrap()
    }

    fn title(text: &str) -> Title {
        Title::parse("title", text).unwrap()
    }

    fn id() -> Uuid {
        Uuid::now_v7()
    }

    fn period() -> Period {
        Period {
            start: date!(2026 - 01 - 01),
            end: date!(2026 - 04 - 30),
        }
    }

    fn details() -> ActivityDetails {
        ActivityDetails {
            date: date!(2026 - 05 - 04),
            title: title("Språkcafé"),
            description: free("beskrivning"),
            strategies: vec![slug("matchningsmetodik")],
            partners: vec![PartnerMention {
                id: None,
                name: "Röda korset".into(),
            }],
            participants: 12,
            follow_up: true,
        }
    }

    fn new_item() -> NewItem {
        NewItem {
            from: Forum::AreaTeam(slug("araby")),
            to: Forum::Council,
            kind: ItemKind::Fraga,
            title: title("Lokaler"),
            text: free("frågan"),
            strategy: Some(slug("matchningsmetodik")),
            area: Some(slug("araby")),
            case_id: Some(id()),
        }
    }

    /// One encoded example of every variant of every domain event enum, with the names of
    /// each enum's variants as serde knows them (so a variant without an example fails).
    fn examples() -> Vec<(String, Value)> {
        let mut all = Vec::new();
        all.extend(covering(vec![
            ActivityEvent::ActivityLogged {
                activity_id: id(),
                area: slug("araby"),
                details: details(),
            },
            ActivityEvent::ActivityCorrected {
                activity_id: id(),
                reason: free("skäl"),
                details: details(),
            },
            ActivityEvent::ActivityRetracted {
                activity_id: id(),
                reason: free("skäl"),
            },
        ]));
        let case_id = id();
        let item_id = id();
        all.extend(covering(vec![
            CaseEvent::CaseOpened {
                case_id,
                area: slug("araby"),
                title: title("Bostad"),
                description: free("beskrivning"),
                strategies: vec![slug("matchningsmetodik")],
            },
            CaseEvent::CaseNoteAdded {
                case_id,
                note_id: id(),
                text: free("anteckning"),
            },
            CaseEvent::CaseAssigned {
                case_id,
                assignee: Assignee::TeamMember {
                    name: Name::parse("name", "Anna Berg").unwrap(),
                    user_id: None,
                },
            },
            CaseEvent::CaseStatusChanged {
                case_id,
                status: CaseStatus::Vantar,
                previous: CaseStatus::Ny,
            },
            CaseEvent::CaseEscalated {
                case_id,
                item_id,
                text: free("eskalering"),
            },
            CaseEvent::CaseEscalationAnswered {
                case_id,
                item_id,
                answer: free("svar"),
            },
            CaseEvent::CaseEscalationClosed { case_id, item_id },
            CaseEvent::CaseClosed {
                case_id,
                resolution: free("beslut"),
            },
            CaseEvent::CaseReopened {
                case_id,
                reason: free("skäl"),
            },
        ]));
        all.extend(covering(vec![
            ItemEvent::ItemRaised {
                item_id,
                item: new_item(),
            },
            ItemEvent::ItemAcknowledged { item_id },
            ItemEvent::ItemAnswered {
                item_id,
                answer: free("svar"),
            },
            ItemEvent::ItemClosed { item_id },
        ]));
        all.extend(covering(vec![ReviewEvent::TimelineReviewed {
            review_id: id(),
            area: slug("araby"),
            period: period(),
            feedback: free("återkoppling"),
        }]));
        all.extend(covering(vec![
            ProcessEvent::ProcessOwnerAssigned {
                process: slug("aktiv-fritid"),
                owner_name: Name::parse("name", "Bo Ek").unwrap(),
                owner_user_id: None,
            },
            ProcessEvent::DecisionRecorded {
                decision_id: id(),
                process: slug("aktiv-fritid"),
                strategy: None,
                title: title("Beslut"),
                text: free("beslutstext"),
                decided_on: date!(2026 - 05 - 04),
            },
        ]));
        all.extend(covering(vec![StrategyEvent::StrategyStatusReported {
            report_id: id(),
            strategy: slug("matchningsmetodik"),
            process: slug("aktiv-fritid"),
            period: period(),
            status: StrategyStatus::Risk,
            comment: free("kommentar"),
        }]));
        all.extend(covering(vec![AreaEvent::AreaAdded {
            id: slug("araby"),
            name: "Araby".into(),
            from_plan: true,
        }]));
        all.extend(covering(vec![
            SecrecyEvent::SecrecyMarked {
                target: format!("description:{case_id}"),
                area: slug("araby"),
                case_id: Some(case_id),
            },
            SecrecyEvent::SecrecyLifted {
                target: format!("description:{case_id}"),
                area: slug("araby"),
                case_id: Some(case_id),
            },
        ]));
        all.extend(covering(vec![ErasureEvent::PersonalDataErased {
            erasure_id: id(),
            subject: format!("case:{case_id}"),
            decision: Citation::parse("decision", "KS 2026-03-01 § 12", "x").unwrap(),
            reason: free("skäl"),
            rule: None,
            area: Some(slug("araby")),
        }]));
        all.extend(covering(vec![
            FeedbackEvent::AccessibilityProblemReported {
                report_id: id(),
                page: title("Startsidan"),
                problem: free("problemet"),
            },
        ]));
        all
    }

    /// Encodes the examples, checking that they cover every variant of their enum.
    fn covering<E: Serialize + DeserializeOwned>(events: Vec<E>) -> Vec<(String, Value)> {
        let encoded: Vec<(String, Value)> = events.iter().map(encode).collect();
        for variant in variants::<E>() {
            assert!(
                encoded.iter().any(|(name, _)| *name == variant),
                "the catalogue's test has no example of {variant}: add one"
            );
        }
        encoded
    }

    /// The variant names of an adjacently tagged event enum, as serde lists them when it
    /// is asked for one it does not know.
    fn variants<E: DeserializeOwned>() -> Vec<String> {
        let error = serde_json::from_value::<E>(serde_json::json!({"type": "?", "data": {}}))
            .err()
            .expect("no variant is called ?")
            .to_string();
        let list = error
            .split("expected one of")
            .nth(1)
            .or_else(|| error.split("expected").nth(1))
            .expect("serde names the variants");
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    /// The fields of `data` whose text carries the marker, at any depth (named by their
    /// top-level field).
    fn marked_fields(data: &Value) -> Vec<String> {
        fn holds_marker(value: &Value) -> bool {
            match value {
                Value::String(text) => text.contains(MARKER),
                Value::Array(values) => values.iter().any(holds_marker),
                Value::Object(map) => map.values().any(holds_marker),
                _ => false,
            }
        }
        data.as_object()
            .map(|map| {
                map.iter()
                    .filter(|(_, value)| holds_marker(value))
                    .map(|(field, _)| field.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn every_field_with_free_text_is_named_in_the_catalogue() {
        for (name, data) in examples() {
            let event_type =
                get(&name).unwrap_or_else(|| panic!("{name} is missing from the catalogue"));
            for field in marked_fields(&data) {
                assert!(
                    event_type.free_text.contains(&field.as_str()),
                    "{name}.{field} holds free text but the catalogue does not say so: it would be stored unsealed"
                );
            }
            for field in event_type.free_text {
                assert!(
                    data.get(*field).is_some_and(Value::is_string),
                    "{name}.{field} is named as free text but is not a text field of the event"
                );
            }
            assert!(
                event_type.free_text.is_empty() || !event_type.sealed_under.is_empty(),
                "{name} has free text but no subject to seal it under"
            );
        }
    }

    #[test]
    fn type_names_are_unique_and_subjects_follow_the_preferred_tag() {
        let mut names: Vec<&str> = CATALOGUE.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
        let tags = |tags: &[&str]| tags.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(
            subject("ItemRaised", &tags(&["item:i1", "area:araby", "case:c1"])),
            Some("case:c1".into()),
            "an escalation belongs to its case"
        );
        assert_eq!(
            subject("ItemRaised", &tags(&["item:i2", "area:araby"])),
            Some("item:i2".into())
        );
        assert_eq!(
            subject("PersonalDataErased", &tags(&["case:c1", "erasure:e1"])),
            Some("erasure:e1".into()),
            "an erasure's reason is not sealed under the key it destroys"
        );
        assert_eq!(
            subject("CaseOpened", &tags(&["casework:x", "case:c2"])),
            Some("case:c2".into())
        );
        assert_eq!(subject("PlanAdopted", &tags(&["plan"])), None);
    }

    #[test]
    fn every_plan_event_is_in_the_catalogue() {
        use crate::domain::plan::NodeKind;
        for kind in NodeKind::ALL
            .into_iter()
            .filter(|kind| *kind != NodeKind::Plan)
        {
            for change in ["Defined", "Revised", "Retired"] {
                let name = format!("{}{change}", kind.name());
                assert!(get(&name).is_some(), "{name} is missing from the catalogue");
            }
        }
    }
}
