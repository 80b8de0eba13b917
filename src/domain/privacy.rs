//! Secrecy marks and erasures, as events.
//!
//! A text can be marked secret (sekretess): a case's description, a note, an item, an
//! activity's description. Marking and lifting are events in the stream
//! `secrecy-<target>`, naming who did it. An erasure of a subject's personal data (the key
//! destroyed under a decision) is an event in its own stream, `erasure-<uuid>`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::DomainError;
use super::event::Aggregate;
use super::values::{Citation, FreeText, Slug};

/// The text a secrecy mark is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecrecyTarget {
    CaseDescription(Uuid),
    Note { case_id: Uuid, note_id: Uuid },
    Item(Uuid),
    Activity(Uuid),
}

impl SecrecyTarget {
    /// The name a mark gives its text, as the secrecy stream and the read models keep it:
    /// `description:<case id>`, `note:<note id>`, `item:<item id>` or
    /// `activity:<activity id>`. Said here only.
    pub fn name(&self) -> String {
        match self {
            Self::CaseDescription(case_id) => format!("description:{case_id}"),
            Self::Note { note_id, .. } => format!("note:{note_id}"),
            Self::Item(item_id) => format!("item:{item_id}"),
            Self::Activity(activity_id) => format!("activity:{activity_id}"),
        }
    }
}

/// What a secrecy mark applies to, by its [`SecrecyTarget::name`].
pub fn secrecy_stream(target: &str) -> String {
    format!("secrecy-{}", target.replace(':', "-"))
}

pub fn erasure_stream(id: Uuid) -> String {
    format!("erasure-{id}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum SecrecyEvent {
    SecrecyMarked {
        target: String,
        area: Slug,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_id: Option<Uuid>,
    },
    SecrecyLifted {
        target: String,
        area: Slug,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_id: Option<Uuid>,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Secrecy {
    pub secret: bool,
    pub version: i64,
}

impl Secrecy {
    pub fn set(
        &self,
        target: String,
        area: Slug,
        case_id: Option<Uuid>,
        secret: bool,
    ) -> Result<Vec<SecrecyEvent>, DomainError> {
        match (self.secret, secret) {
            (true, true) => Err(DomainError::conflict("Texten är redan sekretessmarkerad.")),
            (false, false) => Err(DomainError::conflict("Texten är inte sekretessmarkerad.")),
            (false, true) => Ok(vec![SecrecyEvent::SecrecyMarked {
                target,
                area,
                case_id,
            }]),
            (true, false) => Ok(vec![SecrecyEvent::SecrecyLifted {
                target,
                area,
                case_id,
            }]),
        }
    }
}

impl Aggregate for Secrecy {
    type Event = SecrecyEvent;

    fn apply(mut self, event: &SecrecyEvent) -> Self {
        self.version += 1;
        self.secret = matches!(event, SecrecyEvent::SecrecyMarked { .. });
        self
    }

    fn tags(&self, event: &SecrecyEvent) -> Vec<String> {
        let (SecrecyEvent::SecrecyMarked {
            target,
            area,
            case_id,
        }
        | SecrecyEvent::SecrecyLifted {
            target,
            area,
            case_id,
        }) = event;
        let mut tags = vec![format!("secrecy:{target}"), format!("area:{area}")];
        tags.extend(case_id.map(|id| format!("case:{id}")));
        tags
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ErasureEvent {
    /// A subject's key was destroyed: its free text is gone for good.
    PersonalDataErased {
        erasure_id: Uuid,
        /// `case:<id>`, `activity:<id>`, `item:<id>` …
        subject: String,
        /// The decision that allows it (gallringsbeslut), as the municipality cites it.
        decision: Citation,
        /// Why, in the words of whoever erased; sealed under the erasure's own key.
        reason: FreeText,
        /// The retention rule that triggered it, when a rule did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        area: Option<Slug>,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Erasure {
    pub version: i64,
}

impl Aggregate for Erasure {
    type Event = ErasureEvent;

    fn apply(mut self, _event: &ErasureEvent) -> Self {
        self.version += 1;
        self
    }

    fn tags(&self, event: &ErasureEvent) -> Vec<String> {
        let ErasureEvent::PersonalDataErased {
            subject,
            area,
            erasure_id,
            ..
        } = event;
        let mut tags = vec![subject.clone(), format!("erasure:{erasure_id}")];
        tags.extend(area.as_ref().map(|area| format!("area:{area}")));
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::fold;

    #[test]
    fn marking_twice_or_lifting_an_unmarked_text_is_refused() {
        let area = Slug::parse("a", "araby").unwrap();
        let unmarked = Secrecy::default();
        assert!(
            unmarked
                .set("note:1".into(), area.clone(), None, false)
                .is_err()
        );
        let marked = fold::<Secrecy>(
            &unmarked
                .set("note:1".into(), area.clone(), None, true)
                .unwrap(),
        );
        assert!(marked.secret);
        assert!(
            marked
                .set("note:1".into(), area.clone(), None, true)
                .is_err()
        );
        let lifted = marked
            .set("note:1".into(), area, None, false)
            .unwrap()
            .iter()
            .fold(marked, Secrecy::apply);
        assert!(!lifted.secret);
    }
}
