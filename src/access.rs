//! Who may do what: the one place where Insats decides. Every command asks [`authorize`]
//! with the acting user and what they are about to do; every read asks it too. A refusal
//! is logged (user, role and action; the request's span adds the route) and reaches the
//! user as a Swedish sentence with status 403. A page deciding what to offer asks
//! [`permits`], which answers the same and logs nothing: an area team reading its
//! timeline has not tried to review it.

use crate::domain::actor::{Actor, Role};
use crate::domain::item::Forum;

/// Something a user may or may not do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Read the plan, the timelines, the overviews and the council's views.
    Read,
    /// Log, correct or retract an activity in an area.
    WriteActivity { area: &'a str },
    /// Open a case in an area, or note, assign, change status, escalate, close or reopen it.
    WriteCase { area: &'a str },
    /// Report a strategy's status or record a decision, for a process.
    ReportForProcess { process: &'a str },
    /// Raise an item on behalf of a forum.
    SendAs { forum: &'a Forum },
    /// Acknowledge, answer or close an item, on behalf of the forum it was sent to (or, to
    /// close it, the forum that sent it).
    Settle {
        from: &'a Forum,
        to: &'a Forum,
        closing: bool,
    },
    /// Record the council's review of an area's timeline.
    ReviewTimeline,
    /// Administer users, areas, process owners and the plan.
    Administer,
    /// Replay histories and verify the log's integrity.
    Audit,
    /// Choose how often strategies are followed up, and issue follow-up reports.
    FollowUp,
}

/// A refusal, with the Swedish sentence the user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Decides whether `actor` may do `action`, for something they are about to do: a refusal
/// is logged and carries the sentence they see.
pub fn authorize(actor: &Actor, action: &Action<'_>) -> Result<(), Refusal> {
    if permits(actor, action) {
        return Ok(());
    }
    tracing::warn!(user = %actor.user_id, role = %actor.role, action = ?action, "refused");
    Err(Refusal(refusal_message(actor, action)))
}

/// Whether `actor` may do `action`, for what a page offers them (a button, a form): asking
/// is not an attempt, so nothing is logged.
pub fn permits(actor: &Actor, action: &Action<'_>) -> bool {
    match action {
        Action::Read => true,
        Action::Audit => may_audit(actor),
        // The coordinator can do what the others do; the auditor writes nothing.
        _ if actor.role == Role::Revisor => false,
        _ if actor.role == Role::Samordnare => true,
        Action::WriteActivity { area } | Action::WriteCase { area } => {
            actor.role == Role::Omradesteam && actor.areas.iter().any(|own| own.as_str() == *area)
        }
        Action::ReportForProcess { process } => owns_process(actor, process),
        Action::SendAs { forum } => speaks_for(actor, forum),
        Action::Settle { from, to, closing } => {
            speaks_for(actor, to) || (*closing && speaks_for(actor, from))
        }
        Action::ReviewTimeline => actor.role == Role::Integrationsrad,
        Action::Administer | Action::FollowUp => false,
    }
}

/// Reading is open to every signed-in role, and the auditor's tools to the auditor too.
pub fn may_audit(actor: &Actor) -> bool {
    matches!(actor.role, Role::Revisor | Role::Samordnare)
}

fn owns_process(actor: &Actor, process: &str) -> bool {
    actor.role == Role::Processagare && actor.processes.iter().any(|own| own.as_str() == process)
}

/// Whether the actor acts for `forum`.
pub fn speaks_for(actor: &Actor, forum: &Forum) -> bool {
    match forum {
        Forum::AreaTeam(area) => actor.role == Role::Omradesteam && actor.areas.contains(area),
        Forum::Council => actor.role == Role::Integrationsrad,
        Forum::Committee => actor.role == Role::Integrationsberedning,
        Forum::ProcessOwner(process) => owns_process(actor, process.as_str()),
        Forum::Coordinator => actor.role == Role::Samordnare,
    }
}

fn refusal_message(actor: &Actor, action: &Action<'_>) -> String {
    if actor.role == Role::Revisor {
        return "Som revisor kan du läsa och granska allt, men inte ändra något.".into();
    }
    match action {
        Action::WriteActivity { .. } | Action::WriteCase { .. } => {
            "Du kan bara logga insatser och ärenden i ditt eget område.".into()
        }
        Action::ReportForProcess { .. } => {
            "Du kan bara rapportera för processer som du är processägare för.".into()
        }
        // Forums by what they are, never by the ids the log holds.
        Action::SendAs { forum } => match forum {
            Forum::AreaTeam(_) => "Du kan bara skicka skrivelser för ditt eget områdesteam.".into(),
            Forum::ProcessOwner(_) => {
                "Du kan bara skicka skrivelser för processer som du är processägare för.".into()
            }
            other => format!("Du kan inte skicka skrivelser för {}.", other.kind_name()),
        },
        Action::Settle { to, .. } => match to {
            Forum::AreaTeam(_) => {
                "Bara det områdesteam som skrivelsen gick till kan besvara den.".into()
            }
            Forum::ProcessOwner(_) => {
                "Bara den processägare som skrivelsen gick till kan besvara den.".into()
            }
            other => format!("Bara {} kan besvara den här skrivelsen.", other.kind_name()),
        },
        Action::ReviewTimeline => "Bara Integrationsrådet kan granska en tidslinje.".into(),
        Action::Administer => {
            "Bara verksamhetsutvecklaren för integration kan administrera Insats.".into()
        }
        Action::FollowUp => "Bara verksamhetsutvecklaren för integration kan fastställa uppföljningsrapporter och välja hur ofta uppföljningen görs.".into(),
        Action::Audit => "Granskningen är till för revisorn och verksamhetsutvecklaren.".into(),
        Action::Read => "Du har inte behörighet.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::values::Slug;
    use uuid::Uuid;

    fn actor(role: Role, areas: &[&str], processes: &[&str]) -> Actor {
        Actor {
            user_id: Uuid::nil(),
            name: "Test".into(),
            role,
            areas: areas.iter().map(|a| Slug::parse("a", a).unwrap()).collect(),
            processes: processes
                .iter()
                .map(|p| Slug::parse("p", p).unwrap())
                .collect(),
        }
    }

    #[test]
    fn area_teams_write_only_in_their_own_areas() {
        let team = actor(Role::Omradesteam, &["araby"], &[]);
        assert!(authorize(&team, &Action::WriteActivity { area: "araby" }).is_ok());
        let refused = authorize(&team, &Action::WriteCase { area: "braas" }).unwrap_err();
        assert_eq!(
            refused.0,
            "Du kan bara logga insatser och ärenden i ditt eget område."
        );
    }

    #[test]
    fn forums_send_and_answer_only_for_themselves() {
        let araby: Forum = "omradesteam:araby".parse().unwrap();
        let council = Forum::Council;
        let team = actor(Role::Omradesteam, &["araby"], &[]);
        let rad = actor(Role::Integrationsrad, &[], &[]);
        assert!(authorize(&team, &Action::SendAs { forum: &araby }).is_ok());
        // Refusals say what kind of forum, never its id.
        assert_eq!(
            authorize(&rad, &Action::SendAs { forum: &araby })
                .unwrap_err()
                .0,
            "Du kan bara skicka skrivelser för ditt eget områdesteam."
        );
        let owner: Forum = "processagare:aktiv-fritid".parse().unwrap();
        assert_eq!(
            authorize(
                &team,
                &Action::Settle {
                    from: &council,
                    to: &owner,
                    closing: false
                }
            )
            .unwrap_err()
            .0,
            "Bara den processägare som skrivelsen gick till kan besvara den."
        );
        assert!(
            authorize(
                &rad,
                &Action::Settle {
                    from: &araby,
                    to: &council,
                    closing: false
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &team,
                &Action::Settle {
                    from: &araby,
                    to: &council,
                    closing: false
                }
            )
            .is_err()
        );
        assert!(
            authorize(
                &team,
                &Action::Settle {
                    from: &araby,
                    to: &council,
                    closing: true
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn the_coordinator_does_everything_and_the_auditor_writes_nothing() {
        let coordinator = actor(Role::Samordnare, &[], &[]);
        let auditor = actor(Role::Revisor, &[], &[]);
        for action in [
            Action::WriteActivity { area: "x" },
            Action::Administer,
            Action::ReviewTimeline,
            Action::Audit,
        ] {
            assert!(authorize(&coordinator, &action).is_ok(), "{action:?}");
            assert_eq!(
                authorize(&auditor, &action).is_ok(),
                action == Action::Audit,
                "{action:?}"
            );
        }
        assert!(authorize(&auditor, &Action::Read).is_ok());
        assert!(may_audit(&auditor) && may_audit(&coordinator));
        assert!(!may_audit(&actor(Role::Integrationsberedning, &[], &[])));
    }

    #[test]
    fn process_owners_report_on_their_own_processes() {
        let owner = actor(Role::Processagare, &[], &["aktiv-fritid"]);
        assert!(
            authorize(
                &owner,
                &Action::ReportForProcess {
                    process: "aktiv-fritid"
                }
            )
            .is_ok()
        );
        assert!(
            authorize(
                &owner,
                &Action::ReportForProcess {
                    process: "demokrati-och-delaktighet"
                }
            )
            .is_err()
        );
    }

    /// What a subscriber printed while `run` ran.
    fn logged(run: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, run);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn asking_what_to_offer_logs_nothing_and_a_refused_attempt_is_logged() {
        let team = actor(Role::Omradesteam, &["araby"], &[]);
        let offered = logged(|| {
            assert!(!permits(&team, &Action::ReviewTimeline));
            assert!(permits(&team, &Action::WriteActivity { area: "araby" }));
        });
        assert_eq!(offered, "", "a page asking what to offer is not a refusal");
        let attempted = logged(|| {
            assert!(authorize(&team, &Action::ReviewTimeline).is_err());
        });
        assert!(attempted.contains("refused"), "{attempted}");
    }
}
