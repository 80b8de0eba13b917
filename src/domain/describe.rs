//! What an event says, in Swedish, for people: the line a timeline, an item's history or
//! an export shows for it.

use super::activity::ActivityEvent;
use super::case::{Assignee, CaseEvent};
use super::catalogue::DomainEvent;
use super::item::{Forum, ItemEvent, ItemKind, forum_name};
use super::plan::Plan;
use super::privacy::{ErasureEvent, SecrecyEvent};
use super::values::Slug;
use serde::{Deserialize, Serialize};

/// What an event says, in Swedish, for people: "Insats: Språkcafé (12 deltagare)". Where
/// the log holds ids, `plan` and `areas` (id, name) give the names people know: a process
/// by its title, an area by its name.
pub fn describe(event: &DomainEvent, plan: &Plan, areas: &[(String, String)]) -> String {
    Description::of(event).named(plan, areas)
}

/// What an event says, ready to be named: said in full, or with the ids whose names (a
/// process's title, an area's name) are looked up when it is shown. A read model keeps it
/// (the timeline does), so that showing an entry decodes no event and a renamed process or
/// area reads as it is named now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Description {
    /// The whole line.
    Said(String),
    /// A case assigned to the owner of a process.
    AssignedToProcessOwner(Slug),
    /// An item raised from one forum to another.
    ItemRaised {
        kind: ItemKind,
        from: Forum,
        to: Forum,
        title: String,
    },
}

impl Description {
    /// What `event` says (empty for events no one reads a line for).
    pub fn of(event: &DomainEvent) -> Self {
        let said = |line: &str| Description::Said(line.to_owned());
        match event {
            DomainEvent::Activity(ActivityEvent::ActivityLogged { details, .. }) => {
                Description::Said(format!(
                    "Insats: {} ({} deltagare)",
                    details.title.as_str(),
                    details.participants
                ))
            }
            DomainEvent::Activity(ActivityEvent::ActivityCorrected { details, .. }) => {
                Description::Said(format!("Insatsen rättades: {}", details.title.as_str()))
            }
            DomainEvent::Activity(ActivityEvent::ActivityRetracted { .. }) => {
                said("Insatsen återkallades")
            }
            DomainEvent::Case(event) => match event {
                CaseEvent::CaseOpened { title, .. } => {
                    Description::Said(format!("Ärende öppnat: {}", title.as_str()))
                }
                CaseEvent::CaseNoteAdded { .. } => said("Anteckning i ärendet"),
                CaseEvent::CaseAssigned {
                    assignee: Assignee::ProcessOwner { process },
                    ..
                } => Description::AssignedToProcessOwner(process.clone()),
                CaseEvent::CaseAssigned {
                    assignee: Assignee::TeamMember { name, .. },
                    ..
                } => Description::Said(format!("Ärendet tilldelades {}", name.as_str())),
                CaseEvent::CaseStatusChanged { status, .. } => {
                    Description::Said(format!("Ärendets status: {}", status.label()))
                }
                CaseEvent::CaseEscalated { .. } => {
                    said("Ärendet eskalerades till Integrationsrådet")
                }
                CaseEvent::CaseEscalationAnswered { .. } => {
                    said("Integrationsrådet svarade på eskaleringen")
                }
                CaseEvent::CaseEscalationClosed { .. } => said("Eskaleringen stängdes"),
                CaseEvent::CaseClosed { .. } => said("Ärendet avslutades"),
                CaseEvent::CaseReopened { .. } => said("Ärendet öppnades igen"),
            },
            DomainEvent::Item(event) => match event {
                ItemEvent::ItemRaised { item, .. } => Description::ItemRaised {
                    kind: item.kind,
                    from: item.from.clone(),
                    to: item.to.clone(),
                    title: item.title.as_str().to_owned(),
                },
                ItemEvent::ItemAcknowledged { .. } => said("Mottagandet bekräftades"),
                ItemEvent::ItemAnswered { .. } => said("Skrivelsen besvarades"),
                ItemEvent::ItemClosed { .. } => said("Skrivelsen stängdes"),
            },
            DomainEvent::Review(_) => said("Integrationsrådet granskade tidslinjen"),
            DomainEvent::Erasure(ErasureEvent::PersonalDataErased { decision, .. }) => {
                Description::Said(format!(
                    "Personuppgifter raderades enligt beslut {}",
                    decision.as_str()
                ))
            }
            DomainEvent::Secrecy(SecrecyEvent::SecrecyMarked { .. }) => {
                said("En text sekretessmarkerades")
            }
            DomainEvent::Secrecy(SecrecyEvent::SecrecyLifted { .. }) => {
                said("En sekretessmarkering togs bort")
            }
            DomainEvent::Process(_)
            | DomainEvent::Strategy(_)
            | DomainEvent::Area(_)
            | DomainEvent::Feedback(_)
            | DomainEvent::Indicator(_)
            | DomainEvent::FollowUp(_)
            | DomainEvent::Plan(_)
            | DomainEvent::Record => Description::Said(String::new()),
        }
    }

    /// The line, with processes and areas named as `plan` and `areas` (id, name) have them
    /// now.
    pub fn named(self, plan: &Plan, areas: &[(String, String)]) -> String {
        match self {
            Description::Said(line) => line,
            Description::AssignedToProcessOwner(process) => format!(
                "Ärendet tilldelades processägaren för {}",
                plan.process_title(process.as_str())
            ),
            Description::ItemRaised {
                kind,
                from,
                to,
                title,
            } => format!(
                "{} från {} till {}: {title}",
                kind.label(),
                forum_name(&from, plan, areas),
                forum_name(&to, plan, areas),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::item::NewItem;
    use crate::domain::plan::NodeKind;
    use crate::domain::plan::document::{BUNDLED, PlanDocument};
    use crate::domain::values::{FreeText, Title};
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

        // Kept by a read model (as JSON), a description names the area as it is called
        // when it is shown, not as it was called when the item was raised.
        let kept: Description =
            serde_json::from_str(&serde_json::to_string(&Description::of(&raised)).unwrap())
                .unwrap();
        let renamed = vec![("braas".to_owned(), "Braås tätort".to_owned())];
        assert_eq!(
            kept.named(&plan, &renamed),
            format!(
                "Fråga från Områdesteam Braås tätort till Processägare: {title}: Tolkar till föräldramöten"
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
