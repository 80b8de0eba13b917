//! "Att göra": what is due for whom, from the read models and the reminders' rules
//! ([`crate::domain::reminders`]), in the words the page and the mails use.
//!
//! The facts are read once for everyone and kept while nothing changed: the key is today,
//! the follow-up stream's version (rhythm and rules) and how many events the read models
//! have applied, so a thing done leaves everyone's list as soon as the read models have it.
//! The count in every page's header trusts the last check for a second.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::Queries;
use crate::app::AppError;
use crate::domain::actor::Actor;
use crate::domain::case::Assignee;
use crate::domain::item::{Forum, ItemKind};
use crate::domain::plan::{NodeKind, Plan};
use crate::domain::reminders::{self, AssignedCase, Due, Facts, OpenItem, Recipient, Rule};

/// Something due for one person, with its text.
#[derive(Debug, Clone)]
pub struct Todo {
    pub due: Due,
    /// What kind of thing it is ("Statusrapport saknas").
    pub what: &'static str,
    /// What it is about, in a sentence without free text from cases, items or activities.
    pub about: String,
}

/// What was due when the read models last stood where they stand, and when that was last
/// checked.
#[derive(Default)]
pub struct DueCache {
    inner: Mutex<Option<(CacheKey, Arc<DueNow>)>>,
    checked: Mutex<Option<std::time::Instant>>,
}

/// The read models the list reads: a page shown after a change waits for these.
pub const READS: [&str; 3] = ["strategy_overview", "council_flow", "cases"];

/// How long the count in the header may trust the last check (every page shows it; the
/// list itself and the mails always check).
const COUNT_TRUSTS: std::time::Duration = std::time::Duration::from_secs(1);

type CacheKey = (Date, i64, i64);

/// Everything due now, oldest first, and how many things each set of recipients has (for
/// the count in the header: a few dozen sets to ask about rather than every thing due).
pub struct DueNow {
    pub all: Vec<Due>,
    counts: Vec<(Vec<Recipient>, usize)>,
}

impl DueNow {
    fn new(all: Vec<Due>) -> Self {
        let mut counts: HashMap<Vec<Recipient>, usize> = HashMap::new();
        for due in &all {
            *counts.entry(due.recipients.clone()).or_default() += 1;
        }
        Self {
            all,
            counts: counts.into_iter().collect(),
        }
    }

    /// How many things are due for `actor`.
    pub fn count_for(&self, actor: &Actor) -> usize {
        self.counts
            .iter()
            .filter(|(recipients, _)| concerns_any(recipients, actor))
            .map(|(_, count)| count)
            .sum()
    }
}

/// An item waiting for an answer, as `flow_items` holds it.
#[derive(sqlx::FromRow)]
struct WaitingItem {
    item_id: Uuid,
    to_forum: String,
    kind: String,
    strategy: Option<String>,
    area: Option<String>,
    raised_at: OffsetDateTime,
    acknowledged: bool,
}

impl Queries {
    /// Everything due today, for everyone, oldest first.
    pub async fn due(&self) -> Result<Arc<DueNow>, AppError> {
        let today = self.today();
        *self.due.checked.lock().expect("not poisoned") = Some(std::time::Instant::now());
        // One round trip tells whether anything the list depends on moved: the follow-up
        // stream (rhythm and rules) and the read models.
        let (follow_up_version, applied): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1),
                    (SELECT coalesce(sum(events_applied), 0)::bigint FROM projection_checkpoints)",
        )
        .bind(crate::domain::follow_up::STREAM)
        .fetch_one(&self.pool)
        .await?;
        let key = (today, follow_up_version, applied);
        if let Some((cached, due)) = self.due.inner.lock().expect("not poisoned").as_ref()
            && *cached == key
        {
            return Ok(due.clone());
        }
        let follow_up = self.services.follow_up().await?;
        let facts = self
            .facts(today, follow_up.cycle, &follow_up.reminders)
            .await?;
        let due = Arc::new(DueNow::new(reminders::due(&follow_up.reminders, &facts)));
        *self.due.inner.lock().expect("not poisoned") = Some((key, due.clone()));
        Ok(due)
    }

    /// What is due for one person, oldest first, with its text.
    pub async fn todo(&self, actor: &Actor) -> Result<Vec<Todo>, AppError> {
        let due = self.due().await?;
        let plan = self.services.plan().await?;
        let names = self.services.area_names().await?;
        Ok(due
            .all
            .iter()
            .filter(|due| concerns(due, actor))
            .map(|due| describe(due, &plan, &names))
            .collect())
    }

    /// How many things are due for one person, checked afresh (a page shown after a change
    /// the person made).
    pub async fn todo_count_now(&self, actor: &Actor) -> Result<usize, AppError> {
        Ok(self.due().await?.count_for(actor))
    }

    /// How many things are due for one person (the count in the header): from what was
    /// due a moment ago (at most [`COUNT_TRUSTS`]) on the same day, else checked afresh.
    pub async fn todo_count(&self, actor: &Actor) -> Result<usize, AppError> {
        let recent = self
            .due
            .checked
            .lock()
            .expect("not poisoned")
            .is_some_and(|checked| checked.elapsed() < COUNT_TRUSTS);
        let cached = self
            .due
            .inner
            .lock()
            .expect("not poisoned")
            .as_ref()
            .filter(|((day, _, _), _)| recent && *day == self.today())
            .map(|(_, due)| due.clone());
        let due = match cached {
            Some(due) => due,
            None => self.due().await?,
        };
        Ok(due.count_for(actor))
    }

    /// What the rules need, read from the read models.
    async fn facts(
        &self,
        today: Date,
        cycle: crate::domain::follow_up::Cycle,
        rules: &reminders::ReminderRules,
    ) -> Result<Facts, AppError> {
        let plan = self.services.plan().await?;
        let areas = self.services.areas().await?;
        let ended = cycle.period_containing(today).previous();
        let tracked_since: Option<OffsetDateTime> =
            sqlx::query_scalar("SELECT recorded_at FROM events ORDER BY position LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        let tracked_since = tracked_since.map_or(today, |at| crate::clock::local(at).date());
        let reports: Vec<(String, Date, Date)> = sqlx::query_as(
            "SELECT strategy, period_start, period_end FROM strategy_reports WHERE period_end >= $1",
        )
        .bind(ended.start())
        .fetch_all(&self.pool)
        .await?;
        let last_activity: Vec<(String, Date)> = sqlx::query_as(
            "SELECT strategy, max(last_date) FROM strategy_activity_month GROUP BY strategy",
        )
        .fetch_all(&self.pool)
        .await?;
        let reviews: Vec<(String, Date, Date)> = sqlx::query_as(
            "SELECT area, period_start, period_end FROM timeline_reviews WHERE period_end >= $1",
        )
        .bind(ended.start())
        .fetch_all(&self.pool)
        .await?;
        // Items raised before the start of the day that makes them due today.
        let waited_since = crate::clock::start_of_day(
            today - time::Duration::days(i64::from(rules.item_waiting_days) - 1),
        );
        let items: Vec<WaitingItem> = sqlx::query_as(
            "SELECT item_id, to_forum, kind, strategy, area, raised_at,
                    acknowledged_at IS NOT NULL AS acknowledged FROM flow_items
             WHERE closed_at IS NULL AND answered_at IS NULL AND raised_at < $1",
        )
        .bind(waited_since)
        .fetch_all(&self.pool)
        .await?;
        let cases: Vec<(Uuid, String, serde_json::Value, OffsetDateTime)> = sqlx::query_as(
            "SELECT case_id, area, assignee, coalesce(assigned_at, updated_at) FROM cases
             WHERE status <> 'avslutad' AND assignee IS NOT NULL AND area IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        // A case is a person's to do only while they are an enabled member of its area's
        // team (an assignment by id or by name may name someone else).
        let team: Vec<(Uuid, Vec<String>)> = sqlx::query_as(
            "SELECT user_id, areas FROM users WHERE disabled_at IS NULL AND role = 'omradesteam'",
        )
        .fetch_all(&self.pool)
        .await?;
        let in_team = |user_id: Uuid, area: &str| {
            team.iter()
                .any(|(id, areas)| *id == user_id && areas.iter().any(|a| a == area))
        };
        Ok(Facts {
            today,
            cycle,
            tracked_since,
            strategies: plan
                .nodes(NodeKind::Strategy)
                .into_iter()
                .filter_map(|node| {
                    plan.process_of(&node.id)
                        .map(|process| (node.id.clone(), process.to_owned()))
                })
                .collect(),
            reports,
            last_activity: last_activity.into_iter().collect::<HashMap<_, _>>(),
            areas: areas.all().iter().map(|area| area.id.to_string()).collect(),
            reviews,
            open_items: items
                .into_iter()
                .filter_map(|item| {
                    Some(OpenItem {
                        item_id: item.item_id,
                        to: item.to_forum.parse().ok()?,
                        kind: serde_json::from_value(serde_json::Value::String(item.kind)).ok()?,
                        strategy: item.strategy,
                        area: item.area,
                        raised: crate::clock::local(item.raised_at).date(),
                        acknowledged: item.acknowledged,
                    })
                })
                .collect(),
            assigned_cases: cases
                .into_iter()
                .filter_map(|(case_id, area, assignee, assigned_at)| {
                    let assignee = serde_json::from_value::<Assignee>(assignee).ok()?;
                    if let Assignee::TeamMember {
                        user_id: Some(user_id),
                        ..
                    } = &assignee
                        && !in_team(*user_id, &area)
                    {
                        return None;
                    }
                    Some(AssignedCase {
                        case_id,
                        area,
                        assignee,
                        since: crate::clock::local(assigned_at).date(),
                    })
                })
                .collect(),
        })
    }
}

/// Whether something due is for this person: they speak for a forum it is due to, or it
/// is due to them.
pub fn concerns(due: &Due, actor: &Actor) -> bool {
    concerns_any(&due.recipients, actor)
}

fn concerns_any(recipients: &[Recipient], actor: &Actor) -> bool {
    recipients.iter().any(|recipient| match recipient {
        Recipient::Forum(forum) => crate::access::speaks_for(actor, forum),
        Recipient::User(user_id) => *user_id == actor.user_id,
    })
}

/// The text of something due, in the plan's words: strategies and areas by their names,
/// items by their kind and forum, never their text.
pub fn describe(due: &Due, plan: &Plan, areas: &[(String, String)]) -> Todo {
    let strategy = |id: &str| {
        plan.node(NodeKind::Strategy, id)
            .map(|node| node.text("title").to_owned())
            .unwrap_or_else(|| id.to_owned())
    };
    let area = |id: &str| {
        areas
            .iter()
            .find(|(area, _)| area == id)
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    let period = crate::domain::follow_up::ReportPeriod::from_key(&due.period)
        .map(|period| period.label())
        .unwrap_or_default();
    let date = crate::clock::date;
    let about = match due.rule {
        Rule::StatusReportSoon => format!(
            "Statusrapporten för {} för strategin ”{}” ska lämnas senast {}.",
            period.to_lowercase(),
            strategy(&due.subject),
            due.named_day.map(date).unwrap_or_default()
        ),
        Rule::StatusReportLate => format!(
            "Statusrapporten för {} för strategin ”{}” saknas. Perioden slutade {}.",
            period.to_lowercase(),
            strategy(&due.subject),
            due.named_day.map(date).unwrap_or_default()
        ),
        Rule::ItemWaiting => {
            let (kind, forum) = due
                .item
                .clone()
                .unwrap_or((ItemKind::Information, Forum::Council));
            let waits_for = match kind {
                ItemKind::Fraga | ItemKind::Eskalering => "svar",
                ItemKind::Rapport | ItemKind::Information => "att mottagandet bekräftas",
            };
            let to = match &forum {
                Forum::AreaTeam(team) => format!("områdesteamet i {}", area(team.as_str())),
                Forum::ProcessOwner(process) => format!(
                    "processägaren för ”{}”",
                    plan.process_title(process.as_str())
                ),
                Forum::Council => "Integrationsrådet".to_owned(),
                Forum::Committee => "Integrationsberedningen".to_owned(),
                Forum::Coordinator => "verksamhetsutvecklaren för integration".to_owned(),
            };
            let mut about = format!(
                "{} till {to} har väntat på {waits_for} sedan {}",
                item_kind(kind),
                date(due.named_day.unwrap_or(due.since))
            );
            if let Some(strategy_id) = &due.strategy {
                about.push_str(&format!(" (strategin ”{}”)", strategy(strategy_id)));
            } else if let Some(area_id) = due
                .area
                .as_ref()
                .filter(|area| forum.area().map(|a| a.as_str()) != Some(area.as_str()))
            {
                about.push_str(&format!(" (område {})", area(area_id)));
            }
            about.push('.');
            about
        }
        Rule::StrategySilent => match due.named_day {
            Some(last) => format!(
                "Strategin ”{}” har inte haft någon insats sedan {}.",
                strategy(&due.subject),
                date(last)
            ),
            None => format!(
                "Strategin ”{}” har inte haft någon insats än.",
                strategy(&due.subject)
            ),
        },
        Rule::ReviewMissing => format!(
            "Rådet har inte granskat tidslinjen för {} för {}.",
            area(&due.subject),
            period.to_lowercase()
        ),
        Rule::CaseAssigned => {
            let area = due.area.as_deref().map(area).unwrap_or_default();
            match due.recipients.first() {
                Some(Recipient::Forum(Forum::ProcessOwner(process))) => format!(
                    "Ett ärende i {area} är tilldelat processägaren för ”{}” sedan {}.",
                    plan.process_title(process.as_str()),
                    date(due.since)
                ),
                _ => format!(
                    "Ett ärende i {area} är tilldelat dig sedan {}.",
                    date(due.since)
                ),
            }
        }
    };
    Todo {
        due: due.clone(),
        what: due.rule.label(),
        about,
    }
}

/// An item's kind as the subject of a sentence.
fn item_kind(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Eskalering => "En eskalering",
        ItemKind::Rapport => "En rapport",
        ItemKind::Fraga => "En fråga",
        ItemKind::Information => "En skrivelse med information",
    }
}
