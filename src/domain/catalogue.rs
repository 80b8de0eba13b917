//! The catalogue of event types: every type Insats writes to its log, and which of its
//! fields hold free text that people typed.
//!
//! Free text may name a newcomer or reveal something sensitive, so it is handled the same
//! way wherever it appears: sealed under a subject's data key before it reaches the log,
//! erased by destroying that key, and hidden from readers who may not see a secret text.
//! Sealing (`privacy::seal`), erasure and display all read this one list; a test in this
//! module fails when an event type carries free text the list does not name.

/// The aggregate (or other part of Insats) an event type belongs to: which Rust type
/// decodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Activity,
    Case,
    Item,
    Review,
    Process,
    Strategy,
    Area,
    Secrecy,
    Erasure,
    Feedback,
    /// The key indicators' figures (`indicator-<id>`).
    Indicator,
    /// The rhythm of follow-up and the reports issued (`follow-up`).
    FollowUp,
    Plan,
    /// Accounts and the log's seals: recorded for the audit trail, read by no projection.
    Record,
}

use serde_json::{Map, Value};

use super::activity::ActivityEvent;
use super::area::AreaEvent;
use super::case::CaseEvent;
use super::event::DecodeError;
use super::feedback::FeedbackEvent;
use super::follow_up::FollowUpEvent;
use super::indicator::IndicatorEvent;
use super::item::ItemEvent;
use super::plan::PlanEvent;
use super::privacy::{ErasureEvent, SecrecyEvent};
use super::process::ProcessEvent;
use super::review::ReviewEvent;
use super::strategy::StrategyEvent;

/// One event type as the log stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    /// The `event_type` column.
    pub name: &'static str,
    pub family: Family,
    /// The fields of `data` that hold free text.
    pub free_text: &'static [&'static str],
    /// The tags whose subject's key seals the free text, in order of preference: an item
    /// that escalates a case belongs to the case (`case`), otherwise to itself (`item`).
    pub sealed_under: &'static [&'static str],
}

const fn plain(family: Family, name: &'static str) -> EventType {
    EventType {
        name,
        family,
        free_text: &[],
        sealed_under: &[],
    }
}

const fn text(
    family: Family,
    name: &'static str,
    free_text: &'static [&'static str],
    sealed_under: &'static [&'static str],
) -> EventType {
    EventType {
        name,
        family,
        free_text,
        sealed_under,
    }
}

/// Every event type of Insats.
pub const CATALOGUE: &[EventType] = &[
    // Activities (`activity-<id>`).
    text(
        Family::Activity,
        "ActivityLogged",
        &["description"],
        &["activity"],
    ),
    text(
        Family::Activity,
        "ActivityCorrected",
        &["description", "reason"],
        &["activity"],
    ),
    text(
        Family::Activity,
        "ActivityRetracted",
        &["reason"],
        &["activity"],
    ),
    // Cases (`case-<id>`).
    text(Family::Case, "CaseOpened", &["description"], &["case"]),
    text(Family::Case, "CaseNoteAdded", &["text"], &["case"]),
    plain(Family::Case, "CaseAssigned"),
    plain(Family::Case, "CaseStatusChanged"),
    text(Family::Case, "CaseEscalated", &["text"], &["case"]),
    text(
        Family::Case,
        "CaseEscalationAnswered",
        &["answer"],
        &["case"],
    ),
    plain(Family::Case, "CaseEscalationClosed"),
    text(Family::Case, "CaseClosed", &["resolution"], &["case"]),
    text(Family::Case, "CaseReopened", &["reason"], &["case"]),
    // Items between forums (`item-<id>`).
    text(Family::Item, "ItemRaised", &["text"], &["case", "item"]),
    plain(Family::Item, "ItemAcknowledged"),
    text(Family::Item, "ItemAnswered", &["answer"], &["case", "item"]),
    plain(Family::Item, "ItemClosed"),
    // The council's reviews (`review-<id>`).
    text(
        Family::Review,
        "TimelineReviewed",
        &["feedback"],
        &["review"],
    ),
    // Processes (`process-<id>`) and strategies' status reports (`strategy-<id>`).
    plain(Family::Process, "ProcessOwnerAssigned"),
    text(
        Family::Process,
        "DecisionRecorded",
        &["text"],
        &["decision"],
    ),
    text(
        Family::Strategy,
        "StrategyStatusReported",
        &["comment"],
        &["report"],
    ),
    // Areas (`areas`).
    plain(Family::Area, "AreaAdded"),
    // Secrecy marks (`secrecy-<target>`) and erasures (`erasure-<id>`).
    plain(Family::Secrecy, "SecrecyMarked"),
    plain(Family::Secrecy, "SecrecyLifted"),
    text(
        Family::Erasure,
        "PersonalDataErased",
        &["reason"],
        &["erasure"],
    ),
    // Accessibility reports from anyone (`feedback-<id>`).
    text(
        Family::Feedback,
        "AccessibilityProblemReported",
        &["problem"],
        &["feedback"],
    ),
    // The key indicators' figures (`indicator-<id>`): a manual figure's comment and a
    // correction's reason are typed by the coordinator.
    text(
        Family::Indicator,
        "IndicatorValueRecorded",
        &["comment"],
        &["indicator"],
    ),
    text(
        Family::Indicator,
        "IndicatorValueRevised",
        &["reason"],
        &["indicator"],
    ),
    // Follow-up (`follow-up`): the rhythm the coordinator chose and the reports issued.
    plain(Family::FollowUp, "FollowUpCycleSet"),
    plain(Family::FollowUp, "ReportIssued"),
    plain(Family::FollowUp, "ReminderRulesSet"),
    // The plan (`plan`): its text is the adopted plan's, never typed by a user here.
    plain(Family::Plan, "PlanAdopted"),
    plain(Family::Plan, "PlanTextRevised"),
    plain(Family::Plan, "StrategyReworded"),
    plain(Family::Plan, "PlanImported"),
    plain(Family::Plan, "ProcessDefined"),
    plain(Family::Plan, "ProcessRevised"),
    plain(Family::Plan, "ProcessRetired"),
    plain(Family::Plan, "ChallengeDefined"),
    plain(Family::Plan, "ChallengeRevised"),
    plain(Family::Plan, "ChallengeRetired"),
    plain(Family::Plan, "FocusAreaDefined"),
    plain(Family::Plan, "FocusAreaRevised"),
    plain(Family::Plan, "FocusAreaRetired"),
    plain(Family::Plan, "PartnerDefined"),
    plain(Family::Plan, "PartnerRevised"),
    plain(Family::Plan, "PartnerRetired"),
    plain(Family::Plan, "StrategyDefined"),
    plain(Family::Plan, "StrategyRevised"),
    plain(Family::Plan, "StrategyRetired"),
    plain(Family::Plan, "GoalDefined"),
    plain(Family::Plan, "GoalRevised"),
    plain(Family::Plan, "GoalRetired"),
    plain(Family::Plan, "KeyIndicatorDefined"),
    plain(Family::Plan, "KeyIndicatorRevised"),
    plain(Family::Plan, "KeyIndicatorRetired"),
    plain(Family::Plan, "ValueDefined"),
    plain(Family::Plan, "ValueRevised"),
    plain(Family::Plan, "ValueRetired"),
    plain(Family::Plan, "PrincipleDefined"),
    plain(Family::Plan, "PrincipleRevised"),
    plain(Family::Plan, "PrincipleRetired"),
    plain(Family::Plan, "DefinitionDefined"),
    plain(Family::Plan, "DefinitionRevised"),
    plain(Family::Plan, "DefinitionRetired"),
    plain(Family::Plan, "ForumDefined"),
    plain(Family::Plan, "ForumRevised"),
    plain(Family::Plan, "ForumRetired"),
    // Accounts (`users`): names and roles, never a secret.
    plain(Family::Record, "UserAdded"),
    plain(Family::Record, "UserDisabled"),
    plain(Family::Record, "MailChoiceSet"),
    plain(Family::Record, "ApiTokenCreated"),
    plain(Family::Record, "ApiTokenRevoked"),
    // The log's own seals (`seals`).
    plain(Family::Record, "LogSealed"),
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

/// Any event of Insats, decoded through the catalogue into its Rust type.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    Activity(ActivityEvent),
    Case(CaseEvent),
    Item(ItemEvent),
    Review(ReviewEvent),
    Process(ProcessEvent),
    Strategy(StrategyEvent),
    Area(AreaEvent),
    Secrecy(SecrecyEvent),
    Erasure(ErasureEvent),
    Feedback(FeedbackEvent),
    Indicator(IndicatorEvent),
    FollowUp(FollowUpEvent),
    Plan(PlanEvent),
    /// An account's or a seal's event: kept for the audit trail, read by no read model.
    Record,
}

/// An event as read models and the auditor's replay read it: typed, with its free text
/// taken out as stored (sealed, or plain in events from before it was sealed), so that
/// whoever shows the text opens it for the viewer, and nobody else touches it. The typed
/// event holds empty text in those fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub event: DomainEvent,
    pub texts: Map<String, Value>,
}

impl Decoded {
    /// A free-text field as stored, if the event has it (`Value::Null` otherwise).
    pub fn text(&self, field: &str) -> &Value {
        self.texts.get(field).unwrap_or(&Value::Null)
    }
}

/// Whether data stored with `schema_version` is already in the current schema of
/// `event_type`: then [`encode`] of its decoding gives the stored data back.
pub fn is_current(event_type: &str, schema_version: i32) -> bool {
    get(event_type).is_some() && schema_version == super::event::SCHEMA_VERSION
}

/// Decodes a stored event: the catalogue says which Rust type it is and which fields are
/// its free text; older schema versions are upcast first (`event::upcast`, the one place
/// that knows them).
pub fn decode(event_type: &str, schema_version: i32, data: Value) -> Result<Decoded, DecodeError> {
    let unknown = |source: serde_json::Error| DecodeError {
        event_type: event_type.to_owned(),
        schema_version,
        source,
    };
    let Some(kind) = get(event_type) else {
        return Err(unknown(serde::de::Error::custom(
            "the catalogue has no such event type",
        )));
    };
    let mut data = super::event::upcast(event_type, schema_version, data);
    let mut texts = Map::new();
    if let Value::Object(map) = &mut data {
        // A reader that left the free text in the database (the auditor's replay does) gets
        // the typed event all the same.
        for field in kind.free_text {
            match map.get_mut(*field) {
                Some(value) => {
                    texts.insert(
                        (*field).to_owned(),
                        std::mem::replace(value, Value::String(String::new())),
                    );
                }
                None => {
                    map.insert((*field).to_owned(), Value::String(String::new()));
                }
            }
        }
    }
    let tag = Value::String(event_type.to_owned());
    let event = typed_event(kind, event_type, tag, data).map_err(unknown)?;
    Ok(Decoded { event, texts })
}

/// The typed event of a kind from its tag and data.
fn typed_event(
    kind: &EventType,
    event_type: &str,
    tag: Value,
    data: Value,
) -> Result<DomainEvent, serde_json::Error> {
    // The tag first, so that serde reads the data straight into its variant: from a JSON
    // object, whose keys are sorted, it would meet the data first and copy it into a
    // buffer of its own before it knew the variant.
    fn typed<E: serde::de::DeserializeOwned>(
        tag: Value,
        data: Value,
    ) -> Result<E, serde_json::Error> {
        E::deserialize(
            serde::de::value::MapDeserializer::<_, serde_json::Error>::new(
                [("type", tag), ("data", data)].into_iter(),
            ),
        )
    }
    Ok(match kind.family {
        Family::Activity => DomainEvent::Activity(typed(tag, data)?),
        Family::Case => DomainEvent::Case(typed(tag, data)?),
        Family::Item => DomainEvent::Item(typed(tag, data)?),
        Family::Review => DomainEvent::Review(typed(tag, data)?),
        Family::Process => DomainEvent::Process(typed(tag, data)?),
        Family::Strategy => DomainEvent::Strategy(typed(tag, data)?),
        Family::Area => DomainEvent::Area(typed(tag, data)?),
        Family::Secrecy => DomainEvent::Secrecy(typed(tag, data)?),
        Family::Erasure => DomainEvent::Erasure(typed(tag, data)?),
        Family::Feedback => DomainEvent::Feedback(typed(tag, data)?),
        Family::Indicator => DomainEvent::Indicator(typed(tag, data)?),
        Family::FollowUp => DomainEvent::FollowUp(typed(tag, data)?),
        Family::Plan => {
            DomainEvent::Plan(PlanEvent::decode(event_type, &data).map_err(|error| error.source)?)
        }
        Family::Record => DomainEvent::Record,
    })
}

/// The data of a decoded event as its type's current schema writes it, with its free text
/// put back as it was stored: what a read model keeps of an event it shows as a whole.
pub fn encode(event: &DomainEvent, texts: &Map<String, Value>) -> Value {
    let mut data = match event {
        DomainEvent::Activity(event) => super::event::encode(event).1,
        DomainEvent::Case(event) => super::event::encode(event).1,
        DomainEvent::Item(event) => super::event::encode(event).1,
        DomainEvent::Review(event) => super::event::encode(event).1,
        DomainEvent::Process(event) => super::event::encode(event).1,
        DomainEvent::Strategy(event) => super::event::encode(event).1,
        DomainEvent::Area(event) => super::event::encode(event).1,
        DomainEvent::Secrecy(event) => super::event::encode(event).1,
        DomainEvent::Erasure(event) => super::event::encode(event).1,
        DomainEvent::Feedback(event) => super::event::encode(event).1,
        DomainEvent::Indicator(event) => super::event::encode(event).1,
        DomainEvent::FollowUp(event) => super::event::encode(event).1,
        DomainEvent::Plan(event) => event.data(),
        DomainEvent::Record => Value::Object(Map::new()),
    };
    if let Value::Object(map) = &mut data {
        for (field, text) in texts {
            map.insert(field.clone(), text.clone());
        }
    }
    data
}

#[cfg(test)]
pub(crate) mod tests {
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
    pub(crate) fn examples() -> Vec<(String, Value)> {
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
        let observation = crate::domain::indicator::Observation {
            unit: "0780".into(),
            year: 2024,
            gender: crate::domain::indicator::Gender::All,
            value: 1.5,
        };
        all.extend(covering(vec![
            IndicatorEvent::IndicatorValueRecorded {
                indicator: slug("sfi-hogsta-kurs"),
                observation: observation.clone(),
                source: crate::domain::indicator::ValueSource::Manual,
                reference: "SCB".into(),
                comment: free("kommentaren"),
            },
            IndicatorEvent::IndicatorValueRevised {
                indicator: slug("sfi-hogsta-kurs"),
                observation,
                previous: 1.0,
                source: crate::domain::indicator::ValueSource::Manual,
                reference: "SCB".into(),
                reason: free("skälet"),
            },
        ]));
        all.extend(covering(vec![
            crate::domain::follow_up::FollowUpEvent::FollowUpCycleSet {
                cycle: crate::domain::follow_up::Cycle::Kvartal,
            },
            crate::domain::follow_up::FollowUpEvent::ReminderRulesSet {
                rules: crate::domain::reminders::ReminderRules::default(),
            },
            crate::domain::follow_up::FollowUpEvent::ReportIssued {
                report_id: Uuid::nil(),
                cycle: crate::domain::follow_up::Cycle::Tertial,
                period: Period {
                    start: date!(2026 - 01 - 01),
                    end: date!(2026 - 04 - 30),
                },
                transaction_id: 1,
                position: 2,
                sha256: "00".into(),
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
    fn every_example_decodes_to_its_type_with_its_free_text_taken_out() {
        for (name, data) in examples() {
            let decoded = decode(&name, 1, data.clone())
                .unwrap_or_else(|error| panic!("{name} does not decode: {error}"));
            let event_type = get(&name).unwrap();
            assert_eq!(decoded.texts.len(), event_type.free_text.len(), "{name}");
            for field in event_type.free_text {
                assert_eq!(decoded.text(field), &data[*field], "{name}.{field}");
            }
            assert!(
                !format!("{:?}", decoded.event).contains(MARKER),
                "{name}: no free text is left in the typed event"
            );
            assert!(!matches!(decoded.event, DomainEvent::Record), "{name}");
            assert_eq!(
                super::encode(&decoded.event, &decoded.texts),
                data,
                "{name}: encoding gives back what was decoded"
            );
        }
        assert!(decode("Unknown", 1, serde_json::json!({})).is_err());
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
