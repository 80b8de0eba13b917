//! Cases (ärenden): a matter in an area followed over time, with notes, an assignee,
//! status changes, an escalation to the council, closing and reopening. Each case is its
//! own stream, `case-<uuid>`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::DomainError;
use super::event::Aggregate;
use super::values::{FreeText, Name, Slug, Title};

pub fn stream(id: Uuid) -> String {
    format!("case-{id}")
}

/// Where an open case stands; closing is its own event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Ny,
    Pagaende,
    Vantar,
    Avslutad,
}

impl CaseStatus {
    pub fn label(self) -> &'static str {
        match self {
            CaseStatus::Ny => "Nytt",
            CaseStatus::Pagaende => "Pågående",
            CaseStatus::Vantar => "Väntar",
            CaseStatus::Avslutad => "Avslutat",
        }
    }
}

/// Who a case is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Assignee {
    /// The owner of one of the plan's processes.
    ProcessOwner { process: Slug },
    /// A member of the area team.
    TeamMember {
        name: Name,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<Uuid>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum CaseEvent {
    CaseOpened {
        case_id: Uuid,
        area: Slug,
        title: Title,
        description: FreeText,
        strategies: Vec<Slug>,
    },
    CaseNoteAdded {
        case_id: Uuid,
        note_id: Uuid,
        text: FreeText,
    },
    CaseAssigned {
        case_id: Uuid,
        assignee: Assignee,
    },
    CaseStatusChanged {
        case_id: Uuid,
        status: CaseStatus,
        previous: CaseStatus,
    },
    /// Raised to the integration council as the item `item_id`.
    CaseEscalated {
        case_id: Uuid,
        item_id: Uuid,
        text: FreeText,
    },
    CaseEscalationAnswered {
        case_id: Uuid,
        item_id: Uuid,
        answer: FreeText,
    },
    CaseEscalationClosed {
        case_id: Uuid,
        item_id: Uuid,
    },
    CaseClosed {
        case_id: Uuid,
        resolution: FreeText,
    },
    CaseReopened {
        case_id: Uuid,
        reason: FreeText,
    },
}

/// A case as its events leave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Case {
    pub id: Option<Uuid>,
    pub area: Option<Slug>,
    pub title: Option<Title>,
    pub strategies: Vec<Slug>,
    pub status: Option<CaseStatus>,
    pub assignee: Option<Assignee>,
    /// The item of the escalation that waits for the council's answer.
    pub open_escalation: Option<Uuid>,
    pub notes: u32,
    pub version: i64,
}

impl Case {
    pub fn open(
        &self,
        id: Uuid,
        area: Slug,
        title: Title,
        description: FreeText,
        strategies: Vec<Slug>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        if self.id.is_some() {
            return Err(DomainError::conflict("Ärendet finns redan."));
        }
        Ok(vec![CaseEvent::CaseOpened {
            case_id: id,
            area,
            title,
            description,
            strategies,
        }])
    }

    pub fn add_note(&self, note_id: Uuid, text: FreeText) -> Result<Vec<CaseEvent>, DomainError> {
        let case_id =
            self.open_case("Ärendet är avslutat. Öppna det igen för att skriva en anteckning.")?;
        if text.is_empty() {
            return Err(DomainError::invalid("text", "Skriv en anteckning."));
        }
        Ok(vec![CaseEvent::CaseNoteAdded {
            case_id,
            note_id,
            text,
        }])
    }

    pub fn assign(&self, assignee: Assignee) -> Result<Vec<CaseEvent>, DomainError> {
        let case_id = self.open_case("Ärendet är avslutat och kan inte tilldelas.")?;
        if self.assignee.as_ref() == Some(&assignee) {
            return Err(DomainError::conflict(
                "Ärendet är redan tilldelat till den personen.",
            ));
        }
        Ok(vec![CaseEvent::CaseAssigned { case_id, assignee }])
    }

    pub fn change_status(&self, status: CaseStatus) -> Result<Vec<CaseEvent>, DomainError> {
        let case_id =
            self.open_case("Ärendet är avslutat. Öppna det igen för att ändra status.")?;
        if status == CaseStatus::Avslutad {
            return Err(DomainError::invalid(
                "status",
                "Avsluta ärendet med knappen Avsluta, med ett beslut eller en kommentar.",
            ));
        }
        let previous = self.status.unwrap_or(CaseStatus::Ny);
        if previous == status {
            return Err(DomainError::conflict(format!(
                "Ärendet har redan status {}.",
                status.label()
            )));
        }
        Ok(vec![CaseEvent::CaseStatusChanged {
            case_id,
            status,
            previous,
        }])
    }

    pub fn escalate(&self, item_id: Uuid, text: FreeText) -> Result<Vec<CaseEvent>, DomainError> {
        let case_id = self.open_case("Ärendet är avslutat och kan inte eskaleras.")?;
        if self.open_escalation.is_some() {
            return Err(DomainError::conflict(
                "Ärendet är redan eskalerat till Integrationsrådet och väntar på svar.",
            ));
        }
        if text.is_empty() {
            return Err(DomainError::invalid(
                "text",
                "Skriv vad Integrationsrådet ska ta ställning till.",
            ));
        }
        Ok(vec![CaseEvent::CaseEscalated {
            case_id,
            item_id,
            text,
        }])
    }

    /// The council answered the escalation (recorded whether or not the case is open).
    pub fn escalation_answered(
        &self,
        item_id: Uuid,
        answer: FreeText,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        let case_id = self.existing()?;
        if self.open_escalation != Some(item_id) {
            return Err(DomainError::conflict(
                "Eskaleringen är redan besvarad eller stängd.",
            ));
        }
        Ok(vec![CaseEvent::CaseEscalationAnswered {
            case_id,
            item_id,
            answer,
        }])
    }

    /// The escalation's item was closed without an answer.
    pub fn escalation_closed(&self, item_id: Uuid) -> Result<Vec<CaseEvent>, DomainError> {
        let case_id = self.existing()?;
        if self.open_escalation != Some(item_id) {
            return Ok(Vec::new());
        }
        Ok(vec![CaseEvent::CaseEscalationClosed { case_id, item_id }])
    }

    pub fn close(&self, resolution: FreeText) -> Result<Vec<CaseEvent>, DomainError> {
        let case_id = self.open_case("Ärendet är redan avslutat.")?;
        Ok(vec![CaseEvent::CaseClosed {
            case_id,
            resolution,
        }])
    }

    pub fn reopen(&self, reason: FreeText) -> Result<Vec<CaseEvent>, DomainError> {
        let case_id = self.existing()?;
        if self.status != Some(CaseStatus::Avslutad) {
            return Err(DomainError::conflict("Ärendet är inte avslutat."));
        }
        if reason.is_empty() {
            return Err(DomainError::invalid(
                "reason",
                "Skriv varför ärendet öppnas igen.",
            ));
        }
        Ok(vec![CaseEvent::CaseReopened { case_id, reason }])
    }

    pub fn is_closed(&self) -> bool {
        self.status == Some(CaseStatus::Avslutad)
    }

    fn existing(&self) -> Result<Uuid, DomainError> {
        self.id
            .ok_or_else(|| DomainError::not_found("Ärendet finns inte."))
    }

    fn open_case(&self, closed_message: &str) -> Result<Uuid, DomainError> {
        let id = self.existing()?;
        if self.is_closed() {
            return Err(DomainError::conflict(closed_message));
        }
        Ok(id)
    }
}

impl Aggregate for Case {
    type Event = CaseEvent;

    fn apply(mut self, event: &CaseEvent) -> Self {
        self.version += 1;
        match event {
            CaseEvent::CaseOpened {
                case_id,
                area,
                title,
                strategies,
                ..
            } => {
                self.id = Some(*case_id);
                self.area = Some(area.clone());
                self.title = Some(title.clone());
                self.strategies = strategies.clone();
                self.status = Some(CaseStatus::Ny);
            }
            CaseEvent::CaseNoteAdded { .. } => self.notes += 1,
            CaseEvent::CaseAssigned { assignee, .. } => self.assignee = Some(assignee.clone()),
            CaseEvent::CaseStatusChanged { status, .. } => self.status = Some(*status),
            // A case's status follows its escalation: it waits for the council while the
            // escalation is open, and is worked on again once the council has answered.
            CaseEvent::CaseEscalated { item_id, .. } => {
                self.open_escalation = Some(*item_id);
                self.status = Some(CaseStatus::Vantar);
            }
            CaseEvent::CaseEscalationAnswered { .. } | CaseEvent::CaseEscalationClosed { .. } => {
                self.open_escalation = None;
                self.status = Some(CaseStatus::Pagaende);
            }
            CaseEvent::CaseClosed { .. } => self.status = Some(CaseStatus::Avslutad),
            CaseEvent::CaseReopened { .. } => self.status = Some(CaseStatus::Pagaende),
        }
        self
    }

    fn tags(&self, event: &CaseEvent) -> Vec<String> {
        let mut tags = Vec::new();
        if let Some(id) = self.id {
            tags.push(format!("case:{id}"));
        }
        if let Some(area) = &self.area {
            tags.push(format!("area:{area}"));
        }
        tags.extend(self.strategies.iter().map(|s| format!("strategy:{s}")));
        match event {
            CaseEvent::CaseEscalated { item_id, .. }
            | CaseEvent::CaseEscalationAnswered { item_id, .. }
            | CaseEvent::CaseEscalationClosed { item_id, .. } => {
                tags.push(format!("item:{item_id}"))
            }
            _ => {}
        }
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::fold;

    fn text(s: &str) -> FreeText {
        FreeText::parse("text", s).unwrap()
    }

    fn opened() -> Case {
        let events = Case::default()
            .open(
                Uuid::now_v7(),
                Slug::parse("area", "teleborg").unwrap(),
                Title::parse("title", "Bostad saknas för familj").unwrap(),
                text("Behöver stöd"),
                vec![Slug::parse("s", "oka-tillgangen-till-bostader").unwrap()],
            )
            .unwrap();
        fold(&events)
    }

    fn then(given: Case, events: Result<Vec<CaseEvent>, DomainError>) -> Case {
        events.unwrap().iter().fold(given, Case::apply)
    }

    #[test]
    fn given_an_open_case_notes_assignments_and_status_changes_are_recorded() {
        let case = opened();
        assert_eq!(case.status, Some(CaseStatus::Ny));
        let case = then(
            case.clone(),
            case.add_note(Uuid::now_v7(), text("Ringt hyresvärden")),
        );
        assert_eq!(case.notes, 1);
        let owner = Assignee::ProcessOwner {
            process: Slug::parse("p", "vaxande-stad-och-landsbygd").unwrap(),
        };
        let case = then(case.clone(), case.assign(owner.clone()));
        assert_eq!(case.assignee, Some(owner.clone()));
        assert!(matches!(case.assign(owner), Err(DomainError::Conflict(_))));
        let case = then(case.clone(), case.change_status(CaseStatus::Pagaende));
        assert!(matches!(
            case.change_status(CaseStatus::Pagaende),
            Err(DomainError::Conflict(_))
        ));
        assert!(matches!(
            case.change_status(CaseStatus::Avslutad),
            Err(DomainError::Invalid(_))
        ));
        assert!(matches!(
            case.add_note(Uuid::now_v7(), text(" ")),
            Err(DomainError::Invalid(_))
        ));
    }

    #[test]
    fn given_a_closed_case_closing_noting_and_escalating_are_refused_until_reopened() {
        let case = opened();
        let closed = then(case.clone(), case.close(text("Löst")));
        assert!(closed.is_closed());
        assert_eq!(
            closed.close(text("igen")),
            Err(DomainError::conflict("Ärendet är redan avslutat."))
        );
        assert!(matches!(
            closed.add_note(Uuid::now_v7(), text("x")),
            Err(DomainError::Conflict(_))
        ));
        assert!(matches!(
            closed.escalate(Uuid::now_v7(), text("x")),
            Err(DomainError::Conflict(_))
        ));
        assert!(matches!(
            closed.reopen(FreeText::default()),
            Err(DomainError::Invalid(_))
        ));
        assert!(
            matches!(case.reopen(text("x")), Err(DomainError::Conflict(_))),
            "an open case cannot be reopened"
        );
        let reopened = then(closed.clone(), closed.reopen(text("Nytt läge")));
        assert_eq!(reopened.status, Some(CaseStatus::Pagaende));
        assert!(reopened.add_note(Uuid::now_v7(), text("x")).is_ok());
    }

    #[test]
    fn given_an_open_escalation_a_second_one_is_refused_until_answered() {
        let case = opened();
        let item = Uuid::now_v7();
        let escalated = then(
            case.clone(),
            case.escalate(item, text("Behöver beslut om bostad")),
        );
        assert_eq!(escalated.open_escalation, Some(item));
        assert_eq!(
            escalated.escalate(Uuid::now_v7(), text("igen")),
            Err(DomainError::conflict(
                "Ärendet är redan eskalerat till Integrationsrådet och väntar på svar."
            ))
        );
        assert!(
            escalated
                .escalation_answered(Uuid::now_v7(), text("svar"))
                .is_err(),
            "only the open item"
        );
        let answered = then(
            escalated.clone(),
            escalated.escalation_answered(item, text("Rådet stöttar")),
        );
        assert_eq!(answered.open_escalation, None);
        assert!(answered.escalate(Uuid::now_v7(), text("ny fråga")).is_ok());
        assert!(answered.escalation_closed(item).unwrap().is_empty());
        let event = CaseEvent::CaseEscalated {
            case_id: escalated.id.unwrap(),
            item_id: item,
            text: text("x"),
        };
        let tags = escalated.tags(&event);
        assert!(tags.contains(&format!("item:{item}")));
        assert!(tags.contains(&"area:teleborg".to_string()));
    }

    #[test]
    fn an_unknown_case_is_not_found() {
        assert!(matches!(
            Case::default().add_note(Uuid::now_v7(), text("x")),
            Err(DomainError::NotFound(_))
        ));
        assert!(matches!(
            Case::default().reopen(text("x")),
            Err(DomainError::NotFound(_))
        ));
    }
}
