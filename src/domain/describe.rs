//! What an event says, in Swedish, for people: the line a timeline, an item's history or
//! an export shows for it.

use super::activity::ActivityEvent;
use super::case::{Assignee, CaseEvent};
use super::catalogue::DomainEvent;
use super::item::{ItemEvent, forum_name};
use super::plan::Plan;
use super::privacy::{ErasureEvent, SecrecyEvent};

/// What an event says, in Swedish, for people: "Insats: Språkcafé (12 deltagare)". Where
/// the log holds ids, `plan` and `areas` (id, name) give the names people know: a process
/// by its title, an area by its name.
pub fn describe(event: &DomainEvent, plan: &Plan, areas: &[(String, String)]) -> String {
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
            } => format!(
                "Ärendet tilldelades processägaren för {}",
                plan.process_title(process.as_str())
            ),
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
                forum_name(&item.from, plan, areas),
                forum_name(&item.to, plan, areas),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::Assignee;
    use crate::domain::item::{Forum, ItemKind, NewItem};
    use crate::domain::plan::NodeKind;
    use crate::domain::plan::document::{BUNDLED, PlanDocument};
    use crate::domain::values::{FreeText, Slug, Title};
    use uuid::Uuid;

    fn plan() -> Plan {
        let nodes = PlanDocument::parse(BUNDLED).unwrap().nodes();
        crate::domain::plan::fold(&Plan::default().diff(&nodes, "sha"))
    }

    /// The log holds a process's id and an area's; people read the process's title and
    /// the area's name.
    #[test]
    fn processes_and_areas_are_named_as_people_know_them() {
        let plan = plan();
        let process = plan.nodes(NodeKind::Process)[0].clone();
        let title = process.text("title");
        assert!(!title.is_empty() && title != process.id);
        let slug = |text: &str| Slug::parse("id", text).unwrap();
        let areas = vec![("braas".to_owned(), "Braås".to_owned())];

        let assigned = DomainEvent::Case(CaseEvent::CaseAssigned {
            case_id: Uuid::nil(),
            assignee: Assignee::ProcessOwner {
                process: slug(&process.id),
            },
        });
        assert_eq!(
            describe(&assigned, &plan, &areas),
            format!("Ärendet tilldelades processägaren för {title}")
        );

        let raised = DomainEvent::Item(ItemEvent::ItemRaised {
            item_id: Uuid::nil(),
            item: NewItem {
                from: Forum::AreaTeam(slug("braas")),
                to: Forum::ProcessOwner(slug(&process.id)),
                kind: ItemKind::Fraga,
                title: Title::parse("title", "Tolkar till föräldramöten").unwrap(),
                text: FreeText::parse("text", "Behövs i vår").unwrap(),
                strategy: None,
                area: None,
                case_id: None,
            },
        });
        assert_eq!(
            describe(&raised, &plan, &areas),
            format!(
                "Fråga från Områdesteam Braås till Processägare: {title}: Tolkar till föräldramöten"
            )
        );

        // A process the plan no longer has keeps its id, rather than nothing.
        let gone = DomainEvent::Case(CaseEvent::CaseAssigned {
            case_id: Uuid::nil(),
            assignee: Assignee::ProcessOwner {
                process: slug("nedlagd-process"),
            },
        });
        assert_eq!(
            describe(&gone, &plan, &areas),
            "Ärendet tilldelades processägaren för nedlagd-process"
        );
    }
}
