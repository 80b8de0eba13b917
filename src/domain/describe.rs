//! What an event says, in Swedish, for people: the line a timeline, an item's history or
//! an export shows for it.

use super::activity::ActivityEvent;
use super::case::{Assignee, CaseEvent};
use super::catalogue::DomainEvent;
use super::item::ItemEvent;
use super::privacy::{ErasureEvent, SecrecyEvent};

/// What an event says, in Swedish, for people: "Insats: Språkcafé (12 deltagare)".
pub fn describe(event: &DomainEvent) -> String {
    match event {
        DomainEvent::Activity(ActivityEvent::ActivityLogged { details, .. }) => format!(
            "Insats: {} ({} deltagare)",
            details.title.as_str(),
            details.participants
        ),
        DomainEvent::Activity(ActivityEvent::ActivityCorrected { details, .. }) => {
            format!("Insatsen rättades: {}", details.title.as_str())
        }
        DomainEvent::Activity(ActivityEvent::ActivityRetracted { .. }) => {
            "Insatsen återkallades".into()
        }
        DomainEvent::Case(event) => match event {
            CaseEvent::CaseOpened { title, .. } => format!("Ärende öppnat: {}", title.as_str()),
            CaseEvent::CaseNoteAdded { .. } => "Anteckning i ärendet".into(),
            CaseEvent::CaseAssigned {
                assignee: Assignee::ProcessOwner { process },
                ..
            } => format!("Ärendet tilldelades processägaren för {process}"),
            CaseEvent::CaseAssigned {
                assignee: Assignee::TeamMember { name, .. },
                ..
            } => format!("Ärendet tilldelades {}", name.as_str()),
            CaseEvent::CaseStatusChanged { status, .. } => {
                format!("Ärendets status: {}", status.label())
            }
            CaseEvent::CaseEscalated { .. } => "Ärendet eskalerades till Integrationsrådet".into(),
            CaseEvent::CaseEscalationAnswered { .. } => {
                "Integrationsrådet svarade på eskaleringen".into()
            }
            CaseEvent::CaseEscalationClosed { .. } => "Eskaleringen stängdes".into(),
            CaseEvent::CaseClosed { .. } => "Ärendet avslutades".into(),
            CaseEvent::CaseReopened { .. } => "Ärendet öppnades igen".into(),
        },
        DomainEvent::Item(event) => match event {
            ItemEvent::ItemRaised { item, .. } => format!(
                "{} från {} till {}: {}",
                item.kind.label(),
                item.from.label(),
                item.to.label(),
                item.title.as_str()
            ),
            ItemEvent::ItemAcknowledged { .. } => "Mottagandet bekräftades".into(),
            ItemEvent::ItemAnswered { .. } => "Skrivelsen besvarades".into(),
            ItemEvent::ItemClosed { .. } => "Skrivelsen stängdes".into(),
        },
        DomainEvent::Review(_) => "Integrationsrådet granskade tidslinjen".into(),
        DomainEvent::Erasure(ErasureEvent::PersonalDataErased { decision, .. }) => format!(
            "Personuppgifter raderades enligt beslut {}",
            decision.as_str()
        ),
        DomainEvent::Secrecy(SecrecyEvent::SecrecyMarked { .. }) => {
            "En text sekretessmarkerades".into()
        }
        DomainEvent::Secrecy(SecrecyEvent::SecrecyLifted { .. }) => {
            "En sekretessmarkering togs bort".into()
        }
        DomainEvent::Process(_)
        | DomainEvent::Strategy(_)
        | DomainEvent::Area(_)
        | DomainEvent::Feedback(_)
        | DomainEvent::Indicator(_)
        | DomainEvent::FollowUp(_)
        | DomainEvent::Plan(_)
        | DomainEvent::Record => String::new(),
    }
}
