//! Reminders (påminnelser): what is due, for whom, decided from what the read models say
//! and the rules the coordinator tunes.
//!
//! Five rules:
//! - a process owner's status report for each of their strategies, due at the end of each
//!   follow-up period: reminded `report_days_before` days before the end, and again from
//!   the day after if it is still missing;
//! - an item between forums waiting for longer than `item_waiting_days`: a question or an
//!   escalation for its answer, a report or a piece of information for its receipt to be
//!   acknowledged; the receiving forum;
//! - a strategy without activities for `silent_days`: its process owner and the coordinator;
//! - the council's review of each area's timeline for the period that last ended;
//! - a case assigned to someone: that person (or the process owner it was given to), at once.
//!
//! A thing stays due until it is done (the report is in, the item answered, the review
//! recorded, the case closed), not until someone looks at it. The fold is pure: the
//! application gathers [`Facts`] and hands out what is due to the people it concerns.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::{Date, Duration};
use uuid::Uuid;

use super::case::Assignee;
use super::error::DomainError;
use super::follow_up::{Cycle, ReportPeriod};
use super::item::{Forum, ItemKind};
use super::values::Slug;

/// The numbers the coordinator tunes. Each is a number of days from 1 to 365.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderRules {
    /// Days before a period ends that a missing status report is reminded of.
    pub report_days_before: u32,
    /// Days an item may wait for acknowledgement or an answer before it is reminded of.
    pub item_waiting_days: u32,
    /// Days without activities after which a strategy counts as silent.
    pub silent_days: u32,
}

impl Default for ReminderRules {
    fn default() -> Self {
        Self {
            report_days_before: 14,
            item_waiting_days: 14,
            silent_days: 90,
        }
    }
}

impl ReminderRules {
    /// The rules from a form's three fields, each a whole number of days from 1 to 365.
    pub fn parse(
        report_days_before: &str,
        item_waiting_days: &str,
        silent_days: &str,
    ) -> Result<Self, DomainError> {
        let mut problems = Vec::new();
        let mut days = |field: &str, text: &str, what: &str| -> u32 {
            match text.trim().parse::<u32>() {
                Ok(days) if (1..=365).contains(&days) => days,
                _ => {
                    problems.push(super::FieldError::new(
                        field,
                        format!("{what}: skriv ett helt antal dagar, från 1 till 365."),
                    ));
                    0
                }
            }
        };
        let rules = Self {
            report_days_before: days(
                "report_days_before",
                report_days_before,
                "Dagar före periodens slut",
            ),
            item_waiting_days: days(
                "item_waiting_days",
                item_waiting_days,
                "Dagar en skrivelse får vänta",
            ),
            silent_days: days("silent_days", silent_days, "Dagar utan insatser"),
        };
        if problems.is_empty() {
            Ok(rules)
        } else {
            Err(DomainError::Invalid(problems))
        }
    }
}

/// Which rule made something due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A status report due at the end of the current period.
    StatusReportSoon,
    /// A status report for the period that ended, still missing.
    StatusReportLate,
    /// An item waiting for acknowledgement or an answer.
    ItemWaiting,
    /// A strategy without activities.
    StrategySilent,
    /// The council's review of an area's timeline for the period that ended.
    ReviewMissing,
    /// A case assigned to someone.
    CaseAssigned,
}

impl Rule {
    pub const ALL: [Rule; 6] = [
        Rule::StatusReportSoon,
        Rule::StatusReportLate,
        Rule::ItemWaiting,
        Rule::StrategySilent,
        Rule::ReviewMissing,
        Rule::CaseAssigned,
    ];

    /// The stored name, part of a reminder's key.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::StatusReportSoon => "status_report_soon",
            Rule::StatusReportLate => "status_report_late",
            Rule::ItemWaiting => "item_waiting",
            Rule::StrategySilent => "strategy_silent",
            Rule::ReviewMissing => "review_missing",
            Rule::CaseAssigned => "case_assigned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Rule::ALL.into_iter().find(|rule| rule.as_str() == text)
    }

    /// What kind of thing is due, in words.
    pub fn label(self) -> &'static str {
        match self {
            Rule::StatusReportSoon => "Statusrapport snart",
            Rule::StatusReportLate => "Statusrapport saknas",
            Rule::ItemWaiting => "Skrivelse väntar",
            Rule::StrategySilent => "Strategi utan insatser",
            Rule::ReviewMissing => "Tidslinje att granska",
            Rule::CaseAssigned => "Ärende tilldelat",
        }
    }
}

/// Who something due is for: the people who speak for a forum, or one person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    Forum(Forum),
    User(Uuid),
}

/// Something due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub rule: Rule,
    /// What it is about: a strategy, item, area or case id.
    pub subject: String,
    /// The follow-up period it belongs to (its key), or `""` when it has none.
    pub period: String,
    /// The day it became due (the list is oldest first).
    pub since: Date,
    /// The day its text names, when there is one: a status report's last day, a silent
    /// strategy's last activity.
    pub named_day: Option<Date>,
    pub recipients: Vec<Recipient>,
    /// The strategy and area it concerns, for the text.
    pub strategy: Option<String>,
    pub area: Option<String>,
    /// For an item: its kind and the forum it waits in.
    pub item: Option<(ItemKind, Forum)>,
}

impl Due {
    /// The key a reminder is sent once per: rule, subject, period and person.
    pub fn key(&self, user_id: Uuid) -> String {
        format!(
            "{}|{}|{}|{user_id}",
            self.rule.as_str(),
            self.subject,
            self.period
        )
    }
}

/// An item between forums that is neither answered nor closed.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenItem {
    pub item_id: Uuid,
    pub to: Forum,
    pub kind: ItemKind,
    pub strategy: Option<String>,
    pub area: Option<String>,
    pub raised: Date,
    /// Whether its receipt has been acknowledged.
    pub acknowledged: bool,
}

impl OpenItem {
    /// Whether it still waits: a question or an escalation for its answer, a report or a
    /// piece of information for its receipt to be acknowledged.
    pub fn waits(&self) -> bool {
        match self.kind {
            ItemKind::Fraga | ItemKind::Eskalering => true,
            ItemKind::Rapport | ItemKind::Information => !self.acknowledged,
        }
    }
}

/// An open case with someone assigned to it.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedCase {
    pub case_id: Uuid,
    pub area: String,
    pub assignee: Assignee,
    pub since: Date,
}

/// What the read models say, as the rules need it.
#[derive(Debug, Clone)]
pub struct Facts {
    pub today: Date,
    pub cycle: Cycle,
    /// The day the log began: no period that ended before it is asked about.
    pub tracked_since: Date,
    /// Each strategy of the plan with its process.
    pub strategies: Vec<(String, String)>,
    /// Status reports: strategy, the period's first and last day.
    pub reports: Vec<(String, Date, Date)>,
    /// Each strategy's last activity.
    pub last_activity: HashMap<String, Date>,
    pub areas: Vec<String>,
    /// The council's reviews: area, the period's first and last day.
    pub reviews: Vec<(String, Date, Date)>,
    pub open_items: Vec<OpenItem>,
    pub assigned_cases: Vec<AssignedCase>,
}

fn overlaps(start: Date, end: Date, period: &ReportPeriod) -> bool {
    start <= period.end() && end >= period.start()
}

fn days(count: u32) -> Duration {
    Duration::days(i64::from(count))
}

/// Everything due today by `rules`, oldest first.
pub fn due(rules: &ReminderRules, facts: &Facts) -> Vec<Due> {
    let mut due = Vec::new();
    let today = facts.today;
    let current = facts.cycle.period_containing(today);
    let ended = current.previous();
    let ended_counts = ended.end() >= facts.tracked_since;
    let process_owner = |process: &str| {
        Slug::parse("process", process)
            .ok()
            .map(|slug| Recipient::Forum(Forum::ProcessOwner(slug)))
    };
    for (strategy, process) in &facts.strategies {
        let reported = |period: &ReportPeriod| {
            facts
                .reports
                .iter()
                .any(|(s, start, end)| s == strategy && overlaps(*start, *end, period))
        };
        let owner: Vec<Recipient> = process_owner(process).into_iter().collect();
        let report_due = |rule, period: &ReportPeriod, since| Due {
            rule,
            subject: strategy.clone(),
            period: period.key(),
            since,
            named_day: Some(period.end()),
            recipients: owner.clone(),
            strategy: Some(strategy.clone()),
            area: None,
            item: None,
        };
        let soon = current.end() - days(rules.report_days_before);
        if today >= soon && !reported(&current) {
            due.push(report_due(Rule::StatusReportSoon, &current, soon));
        }
        if ended_counts && !reported(&ended) {
            due.push(report_due(
                Rule::StatusReportLate,
                &ended,
                ended.end() + Duration::days(1),
            ));
        }
        let last = facts
            .last_activity
            .get(strategy)
            .copied()
            .unwrap_or(facts.tracked_since)
            .max(facts.tracked_since.min(today));
        let silent_since = last + days(rules.silent_days);
        if today >= silent_since {
            let mut recipients = owner.clone();
            recipients.push(Recipient::Forum(Forum::Coordinator));
            due.push(Due {
                rule: Rule::StrategySilent,
                subject: strategy.clone(),
                period: current.key(),
                since: silent_since,
                named_day: facts.last_activity.get(strategy).copied(),
                recipients,
                strategy: Some(strategy.clone()),
                area: None,
                item: None,
            });
        }
    }
    if ended_counts {
        for area in &facts.areas {
            let reviewed = facts
                .reviews
                .iter()
                .any(|(a, start, end)| a == area && overlaps(*start, *end, &ended));
            if !reviewed {
                due.push(Due {
                    rule: Rule::ReviewMissing,
                    subject: area.clone(),
                    period: ended.key(),
                    since: ended.end() + Duration::days(1),
                    named_day: None,
                    recipients: vec![Recipient::Forum(Forum::Council)],
                    strategy: None,
                    area: Some(area.clone()),
                    item: None,
                });
            }
        }
    }
    for item in facts.open_items.iter().filter(|item| item.waits()) {
        let since = item.raised + days(rules.item_waiting_days);
        if today >= since {
            due.push(Due {
                rule: Rule::ItemWaiting,
                subject: item.item_id.to_string(),
                period: String::new(),
                since,
                named_day: Some(item.raised),
                recipients: vec![Recipient::Forum(item.to.clone())],
                strategy: item.strategy.clone(),
                area: item.area.clone(),
                item: Some((item.kind, item.to.clone())),
            });
        }
    }
    for case in &facts.assigned_cases {
        let recipient = match &case.assignee {
            Assignee::ProcessOwner { process } => {
                Some(Recipient::Forum(Forum::ProcessOwner(process.clone())))
            }
            Assignee::TeamMember { user_id, .. } => user_id.map(Recipient::User),
        };
        if let Some(recipient) = recipient {
            due.push(Due {
                rule: Rule::CaseAssigned,
                subject: case.case_id.to_string(),
                period: String::new(),
                since: case.since,
                named_day: None,
                recipients: vec![recipient],
                strategy: None,
                area: Some(case.area.clone()),
                item: None,
            });
        }
    }
    due.sort_by(|a, b| (a.since, a.rule, &a.subject).cmp(&(b.since, b.rule, &b.subject)));
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn facts(today: Date) -> Facts {
        Facts {
            today,
            cycle: Cycle::Tertial,
            tracked_since: date!(2025 - 01 - 01),
            strategies: vec![("s1".into(), "p1".into()), ("s2".into(), "p2".into())],
            reports: Vec::new(),
            last_activity: HashMap::from([
                ("s1".into(), today - Duration::days(10)),
                ("s2".into(), today - Duration::days(10)),
            ]),
            areas: vec!["araby".into()],
            reviews: Vec::new(),
            open_items: Vec::new(),
            assigned_cases: Vec::new(),
        }
    }

    fn rules_of(due: &[Due], rule: Rule) -> Vec<&Due> {
        due.iter().filter(|d| d.rule == rule).collect()
    }

    #[test]
    fn a_status_report_is_due_n_days_before_the_period_ends_and_again_after_until_it_is_in() {
        let rules = ReminderRules::default();
        // Tertial 3 2026 ends on 31 December; 14 days before is 17 December.
        let mut f = facts(date!(2026 - 12 - 16));
        f.reports = vec![
            ("s1".into(), date!(2026 - 05 - 01), date!(2026 - 08 - 31)),
            ("s2".into(), date!(2026 - 05 - 01), date!(2026 - 08 - 31)),
        ];
        assert!(rules_of(&due(&rules, &f), Rule::StatusReportSoon).is_empty());
        f.today = date!(2026 - 12 - 17);
        let soon = due(&rules, &f);
        let soon = rules_of(&soon, Rule::StatusReportSoon);
        assert_eq!(soon.len(), 2);
        assert_eq!(soon[0].period, "2026-tertial-3");
        assert_eq!(soon[0].named_day, Some(date!(2026 - 12 - 31)));
        assert_eq!(
            soon[0].recipients,
            [Recipient::Forum(Forum::ProcessOwner(
                Slug::parse("p", "p1").unwrap()
            ))]
        );
        // s1 reports: only s2 stays due.
        f.reports
            .push(("s1".into(), date!(2026 - 09 - 01), date!(2026 - 12 - 31)));
        let left = due(&rules, &f);
        let left = rules_of(&left, Rule::StatusReportSoon);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].subject, "s2");
        // The day after the period: s2's report for tertial 3 is late.
        f.today = date!(2027 - 01 - 01);
        f.last_activity = HashMap::from([("s1".into(), f.today), ("s2".into(), f.today)]);
        let late = due(&rules, &f);
        let late = rules_of(&late, Rule::StatusReportLate);
        assert_eq!(late.len(), 1);
        assert_eq!(
            (
                late[0].subject.as_str(),
                late[0].period.as_str(),
                late[0].since
            ),
            ("s2", "2026-tertial-3", date!(2027 - 01 - 01))
        );
        // And the keys of the two reminders differ, so both are sent.
        let soon_key = Due {
            rule: Rule::StatusReportSoon,
            ..late[0].clone()
        }
        .key(Uuid::nil());
        assert_ne!(soon_key, late[0].key(Uuid::nil()));
    }

    #[test]
    fn nothing_is_asked_of_periods_that_ended_before_the_log_began() {
        let mut f = facts(date!(2026 - 12 - 01));
        f.tracked_since = date!(2026 - 11 - 20);
        let due = due(&ReminderRules::default(), &f);
        assert!(rules_of(&due, Rule::StatusReportLate).is_empty());
        assert!(rules_of(&due, Rule::ReviewMissing).is_empty());
        assert!(rules_of(&due, Rule::StrategySilent).is_empty());
    }

    #[test]
    fn items_silence_reviews_and_cases_are_due_to_whom_they_concern() {
        let rules = ReminderRules {
            report_days_before: 14,
            item_waiting_days: 10,
            silent_days: 30,
        };
        let today = date!(2026 - 10 - 15);
        let mut f = facts(today);
        f.reports = vec![
            ("s1".into(), date!(2026 - 05 - 01), date!(2026 - 08 - 31)),
            ("s2".into(), date!(2026 - 05 - 01), date!(2026 - 08 - 31)),
        ];
        f.last_activity
            .insert("s2".into(), today - Duration::days(30));
        let waited = Uuid::now_v7();
        let fresh = Uuid::now_v7();
        f.open_items = vec![
            OpenItem {
                item_id: waited,
                to: Forum::Council,
                kind: ItemKind::Eskalering,
                strategy: None,
                area: Some("araby".into()),
                raised: today - Duration::days(10),
                acknowledged: true,
            },
            OpenItem {
                item_id: fresh,
                to: Forum::Council,
                kind: ItemKind::Fraga,
                strategy: None,
                area: None,
                raised: today - Duration::days(9),
                acknowledged: false,
            },
            // Information whose receipt was acknowledged waits for nothing more.
            OpenItem {
                item_id: Uuid::now_v7(),
                to: Forum::Council,
                kind: ItemKind::Information,
                strategy: None,
                area: None,
                raised: today - Duration::days(40),
                acknowledged: true,
            },
        ];
        let someone = Uuid::now_v7();
        f.assigned_cases = vec![
            AssignedCase {
                case_id: Uuid::now_v7(),
                area: "araby".into(),
                assignee: Assignee::TeamMember {
                    name: crate::domain::values::Name::parse("name", "Aya").unwrap(),
                    user_id: Some(someone),
                },
                since: today,
            },
            // Assigned by name only: nobody to remind.
            AssignedCase {
                case_id: Uuid::now_v7(),
                area: "araby".into(),
                assignee: Assignee::TeamMember {
                    name: crate::domain::values::Name::parse("name", "Bo").unwrap(),
                    user_id: None,
                },
                since: today,
            },
        ];
        let all = due(&rules, &f);
        let items = rules_of(&all, Rule::ItemWaiting);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].subject, waited.to_string());
        assert_eq!(items[0].named_day, Some(today - Duration::days(10)));
        assert_eq!(items[0].recipients, [Recipient::Forum(Forum::Council)]);
        let silent = rules_of(&all, Rule::StrategySilent);
        assert_eq!(silent.len(), 1);
        assert_eq!(silent[0].subject, "s2");
        assert!(
            silent[0]
                .recipients
                .contains(&Recipient::Forum(Forum::Coordinator))
        );
        // Tertial 2 ended on 31 August and Araby's timeline has no review for it.
        let reviews = rules_of(&all, Rule::ReviewMissing);
        assert_eq!(reviews.len(), 1);
        assert_eq!(reviews[0].period, "2026-tertial-2");
        let cases = rules_of(&all, Rule::CaseAssigned);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].recipients, [Recipient::User(someone)]);
        // Oldest first.
        assert!(all.windows(2).all(|pair| pair[0].since <= pair[1].since));
        // A review that covers part of the period is the review of it.
        f.reviews = vec![("araby".into(), date!(2026 - 07 - 01), date!(2026 - 09 - 30))];
        assert!(rules_of(&due(&rules, &f), Rule::ReviewMissing).is_empty());
    }

    #[test]
    fn the_rules_are_whole_days_from_one_to_a_year() {
        assert_eq!(
            ReminderRules::parse("7", "21", "60").unwrap(),
            ReminderRules {
                report_days_before: 7,
                item_waiting_days: 21,
                silent_days: 60
            }
        );
        let Err(DomainError::Invalid(problems)) = ReminderRules::parse("0", "x", "366") else {
            panic!("refused");
        };
        assert_eq!(problems.len(), 3);
    }
}
