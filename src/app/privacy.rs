//! Erasing personal data under a decision, marking texts secret, and the retention rule.

use serde::Serialize;
use uuid::Uuid;

use super::{AppError, CommandContext, Done, Services, allow, done, submission};
use crate::access::Action;
use crate::domain::DomainError;
use crate::domain::activity::{self, Activity};
use crate::domain::case::{self, Case};
use crate::domain::feedback::{self, Feedback};
use crate::domain::item::{self, Item};
use crate::domain::privacy::{self as domain, Erasure, ErasureEvent, Secrecy};
use crate::domain::values::{Citation, FreeText, Slug};
use crate::event_log::ExpectedVersion;

pub use crate::domain::privacy::SecrecyTarget;

/// Whose personal data to erase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureTarget {
    Case(Uuid),
    Activity(Uuid),
    Item(Uuid),
    /// An accessibility report from the accessibility statement's form.
    Feedback(Uuid),
}

impl ErasureTarget {
    pub fn subject(&self) -> String {
        match self {
            ErasureTarget::Case(id) => format!("case:{id}"),
            ErasureTarget::Activity(id) => format!("activity:{id}"),
            ErasureTarget::Item(id) => format!("item:{id}"),
            ErasureTarget::Feedback(id) => format!("feedback:{id}"),
        }
    }
}

/// A closed case whose text the retention rule would erase.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RetentionCandidate {
    pub case_id: Uuid,
    pub area: Option<String>,
    pub title: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<time::OffsetDateTime>,
}

impl Services {
    /// Erases a subject's personal data: its key is destroyed and an erasure event says
    /// who, when, under which decision and why, in one transaction. Every view then shows
    /// "[raderat enligt beslut …]" where the text was.
    pub async fn erase_personal_data(
        &self,
        ctx: &CommandContext,
        target: ErasureTarget,
        decision: &str,
        reason: &str,
        rule: Option<String>,
    ) -> Result<Done, AppError> {
        allow(ctx, &Action::Administer)?;
        let decision = Citation::parse(
            "decision",
            decision,
            "Ange vilket beslut som medger gallringen.",
        )
        .map_err(|error| DomainError::Invalid(vec![error]))?;
        let reason =
            FreeText::parse("reason", reason).map_err(|error| DomainError::Invalid(vec![error]))?;
        if let Some(done) = self.answered_before(ctx).await? {
            return Ok(done);
        }
        let outcome = self.erase(ctx, target, decision, reason, rule).await;
        self.or_answered(ctx, outcome).await
    }

    async fn erase(
        &self,
        ctx: &CommandContext,
        target: ErasureTarget,
        decision: Citation,
        reason: FreeText,
        rule: Option<String>,
    ) -> Result<Done, AppError> {
        let area = self.area_of(target).await?;
        let subject = target.subject();
        let erasure_id = ctx.new_id("erasure");
        let plan = self.plan().await?;
        let events = vec![ErasureEvent::PersonalDataErased {
            erasure_id,
            subject: subject.clone(),
            decision: decision.clone(),
            reason,
            rule,
            area,
        }];
        let stream = domain::erasure_stream(erasure_id);
        let mut rows = self.to_new_events(ctx, &stream, Erasure::default(), events, None, &plan);
        // The reason is sealed under the erasure's own key, never the one destroyed here.
        self.seal(&mut rows).await?;
        let mut transaction = self.store.pool().begin().await?;
        if let submission::Claim::Answered(done) = submission::claim(&mut transaction, ctx).await? {
            return Ok(done);
        }
        if !self
            .privacy
            .destroy_key(&mut transaction, &subject, decision.as_str())
            .await?
        {
            return Err(DomainError::conflict("Det finns inga personuppgifter kvar att radera (de är redan raderade eller fanns aldrig).").into());
        }
        let result = self
            .store
            .append_in(&mut transaction, &stream, ExpectedVersion::NoStream, &rows)
            .await?;
        let done = done(erasure_id, result);
        submission::complete(&mut transaction, ctx, &done).await?;
        transaction.commit().await?;
        Ok(done)
    }

    /// The area a subject belongs to; 404 when it does not exist.
    async fn area_of(&self, target: ErasureTarget) -> Result<Option<Slug>, AppError> {
        let area = match target {
            ErasureTarget::Case(id) => self.load::<Case>(&case::stream(id)).await?.0.area,
            ErasureTarget::Activity(id) => {
                self.load::<Activity>(&activity::stream(id)).await?.0.area
            }
            ErasureTarget::Item(id) => {
                let (item, _) = self.load::<Item>(&item::stream(id)).await?;
                match item.item {
                    Some(raised) => return Ok(raised.area),
                    None => None,
                }
            }
            ErasureTarget::Feedback(id) => {
                let (report, _) = self.load::<Feedback>(&feedback::stream(id)).await?;
                return match report.id {
                    Some(_) => Ok(None),
                    None => Err(DomainError::not_found("Det finns ingen sådan rapport.").into()),
                };
            }
        };
        match area {
            Some(area) => Ok(Some(area)),
            None => Err(DomainError::not_found(
                "Det finns inget sådant ärende eller någon sådan insats.",
            )
            .into()),
        }
    }

    /// Marks a text secret, or lifts the mark. `target` is `description:<case>`,
    /// `note:<note>` (with its case), `item:<item>` or `activity:<activity>`.
    pub async fn set_secrecy(
        &self,
        ctx: &CommandContext,
        target: SecrecyTarget,
        secret: bool,
    ) -> Result<Done, AppError> {
        let (area, case_id) = match target {
            SecrecyTarget::CaseDescription(case_id) | SecrecyTarget::Note { case_id, .. } => {
                let (case, _) = self.load::<Case>(&case::stream(case_id)).await?;
                let area = case
                    .area
                    .clone()
                    .ok_or_else(|| DomainError::not_found("Ärendet finns inte."))?;
                allow(
                    ctx,
                    &Action::WriteCase {
                        area: area.as_str(),
                    },
                )?;
                if let SecrecyTarget::Note { note_id, .. } = target {
                    let notes = self.store.read_stream(&case::stream(case_id), None).await?;
                    if !notes
                        .iter()
                        .any(|event| event.data["note_id"] == serde_json::json!(note_id))
                    {
                        return Err(
                            DomainError::not_found("Anteckningen finns inte i ärendet.").into()
                        );
                    }
                }
                (area, Some(case_id))
            }
            SecrecyTarget::Item(item_id) => {
                let (item, _) = self.load::<Item>(&item::stream(item_id)).await?;
                let raised = item
                    .item
                    .ok_or_else(|| DomainError::not_found("Ärendet mellan forumen finns inte."))?;
                let area = raised.area.clone().ok_or_else(|| {
                    DomainError::invalid(
                        "item",
                        "Bara ärenden som gäller ett område kan sekretessmarkeras.",
                    )
                })?;
                allow(
                    ctx,
                    &Action::SendAs {
                        forum: &raised.from,
                    },
                )
                .or_else(|_| {
                    allow(
                        ctx,
                        &Action::WriteCase {
                            area: area.as_str(),
                        },
                    )
                })?;
                (area, raised.case_id)
            }
            SecrecyTarget::Activity(activity_id) => {
                let (activity, _) = self
                    .load::<Activity>(&activity::stream(activity_id))
                    .await?;
                let area = activity
                    .area
                    .ok_or_else(|| DomainError::not_found("Insatsen finns inte."))?;
                allow(
                    ctx,
                    &Action::WriteActivity {
                        area: area.as_str(),
                    },
                )?;
                (area, None)
            }
        };
        let name = target.name();
        let stream = domain::secrecy_stream(&name);
        let id = case_id.unwrap_or_else(Uuid::nil);
        self.execute::<Secrecy>(ctx, &stream, id, |state| {
            Ok(state.set(name.clone(), area.clone(), case_id, secret)?)
        })
        .await
    }

    /// Closed cases older than `years` whose text is still there.
    pub async fn retention_candidates(
        &self,
        years: u32,
    ) -> Result<Vec<RetentionCandidate>, AppError> {
        Ok(sqlx::query_as(
            "SELECT c.case_id, c.area, c.title, c.closed_at FROM cases c
             JOIN data_keys k ON k.subject = 'case:' || c.case_id::text
             WHERE c.status = 'avslutad' AND c.closed_at < now() - make_interval(years => $1)
               AND k.wrapped_key IS NOT NULL
             ORDER BY c.closed_at",
        )
        .bind(years as i32)
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Applies the retention rule: erases each candidate, citing the rule.
    pub async fn apply_retention(
        &self,
        ctx: &CommandContext,
        years: u32,
    ) -> Result<Vec<RetentionCandidate>, AppError> {
        let candidates = self.retention_candidates(years).await?;
        let rule = format!("Ärendens text gallras {years} år efter att ärendet avslutades");
        for candidate in &candidates {
            self.erase_personal_data(
                ctx,
                ErasureTarget::Case(candidate.case_id),
                &format!("Gallringsregel: {rule}"),
                "Gallring enligt regel",
                Some(rule.clone()),
            )
            .await?;
        }
        Ok(candidates)
    }
}
