//! Follow-up: the rhythm the coordinator chooses, and issuing a period's report (its PDF
//! compiled from the log, its SHA-256 recorded with the place in the log it was compiled
//! as of), and checking a PDF against the log.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{AppError, CommandContext, Done, Services, Units, allow};
use crate::access::Action;
use crate::domain::DomainError;
use crate::domain::follow_up::{self, Cycle, FollowUp, Issued, ReportPeriod};
use crate::domain::item::{self, Forum, Item, ItemKind, NewItem};
use crate::domain::values::{FreeText, Title};
use crate::event_log::Cursor;
use crate::report::{self, Report};

/// A report issued now: what was recorded, and its PDF.
pub struct IssuedReport {
    pub done: Done,
    pub sha256: String,
    pub pdf: Vec<u8>,
}

/// What checking a PDF against the log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportCheck {
    /// The PDF is an issued report, and compiling it again from the log gives the same
    /// bytes.
    Issued { issued: Issued, same: bool },
    /// Not an issued report, but Insats made it: compiled as of `as_of`, which gives the
    /// same bytes again (or not).
    Compiled {
        period: ReportPeriod,
        as_of: Cursor,
        same: bool,
    },
    /// Not a report Insats knows.
    Unknown,
}

/// The SHA-256 of a PDF, in hex.
pub fn digest(pdf: &[u8]) -> String {
    hex::encode(Sha256::digest(pdf))
}

impl Services {
    /// The rhythm of follow-up and the reports issued so far.
    pub async fn follow_up(&self) -> Result<FollowUp, AppError> {
        Ok(self.load::<FollowUp>(follow_up::STREAM).await?.0)
    }

    /// The period a day falls in, by the rhythm the coordinator chose.
    pub async fn follow_up_period(&self, day: time::Date) -> Result<ReportPeriod, AppError> {
        Ok(self.follow_up().await?.cycle.period_containing(day))
    }

    /// The coordinator chooses how often strategies are followed up.
    pub async fn set_follow_up_cycle(
        &self,
        ctx: &CommandContext,
        cycle: &str,
    ) -> Result<Done, AppError> {
        allow(ctx, &Action::FollowUp)?;
        let cycle = Cycle::parse(cycle).ok_or_else(|| {
            DomainError::invalid("cycle", "Välj tertial, kvartal, halvår eller helår.")
        })?;
        let id = ctx.new_id("follow-up");
        self.execute::<FollowUp>(ctx, follow_up::STREAM, id, |state| {
            Ok(state.set_cycle(cycle)?)
        })
        .await
    }

    /// The coordinator tunes the reminders' rules (three numbers of days).
    pub async fn set_reminder_rules(
        &self,
        ctx: &CommandContext,
        report_days_before: &str,
        item_waiting_days: &str,
        silent_days: &str,
    ) -> Result<Done, AppError> {
        allow(ctx, &Action::FollowUp)?;
        let rules = crate::domain::reminders::ReminderRules::parse(
            report_days_before,
            item_waiting_days,
            silent_days,
        )?;
        let id = ctx.new_id("reminder-rules");
        self.execute::<FollowUp>(ctx, follow_up::STREAM, id, |state| {
            Ok(state.set_reminder_rules(rules)?)
        })
        .await
    }

    /// Compiles the report for a period as of `as_of` (now when `None`).
    pub async fn report(
        &self,
        units: &Units,
        period: ReportPeriod,
        as_of: Option<Cursor>,
    ) -> Result<Report, AppError> {
        report::compile(self, units, period, as_of).await
    }

    /// The coordinator issues the report for a period as the log stands now.
    pub async fn issue_report(
        &self,
        ctx: &CommandContext,
        units: &Units,
        period: ReportPeriod,
    ) -> Result<IssuedReport, AppError> {
        allow(ctx, &Action::FollowUp)?;
        if period.start() > self.today() {
            return Err(DomainError::invalid(
                "period",
                "Perioden har inte börjat än. Välj en period som har börjat.",
            )
            .into());
        }
        let compiled = self.report(units, period, None).await?;
        let pdf = report::pdf::render(&compiled);
        let sha256 = digest(&pdf);
        let id = ctx.new_id("issued-report");
        let at = (compiled.as_of.transaction_id, compiled.as_of.position);
        let done = self
            .execute::<FollowUp>(ctx, follow_up::STREAM, id, |state| {
                Ok(state.issue(id, period, at, &sha256)?)
            })
            .await?;
        Ok(IssuedReport { done, sha256, pdf })
    }

    /// An issued report's PDF, compiled again from the log as of the place it was issued
    /// from; 404 for an id that names no issued report.
    pub async fn issued_report(
        &self,
        units: &Units,
        report_id: Uuid,
    ) -> Result<(Issued, Vec<u8>), AppError> {
        let issued = self.issued(report_id).await?;
        let pdf = self
            .compile_pdf(units, issued.period, issued.transaction_id, issued.position)
            .await?;
        Ok((issued, pdf))
    }

    /// A period's report as a PDF, compiled from the log as of a place in it.
    async fn compile_pdf(
        &self,
        units: &Units,
        period: ReportPeriod,
        transaction_id: i64,
        position: i64,
    ) -> Result<Vec<u8>, AppError> {
        let compiled = self
            .report(units, period, Some(Cursor::new(transaction_id, position)))
            .await?;
        Ok(report::pdf::render(&compiled))
    }

    /// The coordinator, as the committee's föredragande, sends an issued report to the
    /// Integrationsberedning: an item of the kind "rapport" from the coordinator to the
    /// committee, naming the report's period and where it is read. A report is sent once:
    /// its item's id follows from the report's, and sending again is refused with 409.
    pub async fn send_report(
        &self,
        ctx: &CommandContext,
        report_id: Uuid,
    ) -> Result<Done, AppError> {
        allow(ctx, &Action::FollowUp)?;
        let issued = self.issued(report_id).await?;
        let item_id = sent_item_id(report_id);
        let (sent, _) = self.load::<Item>(&item::stream(item_id)).await?;
        if sent.id.is_some() {
            return Err(DomainError::conflict(
                "Rapporten är redan skickad till Integrationsberedningen.",
            )
            .into());
        }
        let label = issued.period.label();
        let new_item = NewItem {
            from: Forum::Coordinator,
            to: Forum::Committee,
            kind: ItemKind::Rapport,
            title: Title::parse("title", &format!("Uppföljningsrapport {label}"))
                .map_err(|error| DomainError::Invalid(vec![error]))?,
            text: FreeText::parse(
                "text",
                &format!(
                    "Den fastställda uppföljningsrapporten för {label} finns att läsa och \
                     ladda ner i Insats under Rapporter, fastställda rapporter."
                ),
            )
            .map_err(|error| DomainError::Invalid(vec![error]))?,
            strategy: None,
            area: None,
            case_id: None,
        };
        self.execute::<Item>(ctx, &item::stream(item_id), item_id, |item| {
            Ok(item.raise(item_id, new_item.clone())?)
        })
        .await
    }

    /// Whether an issued report has been sent to the Integrationsberedning.
    pub async fn report_sent(&self, report_id: Uuid) -> Result<bool, AppError> {
        let (sent, _) = self
            .load::<Item>(&item::stream(sent_item_id(report_id)))
            .await?;
        Ok(sent.id.is_some())
    }

    /// An issued report by its id; 404 for an id that names none.
    async fn issued(&self, report_id: Uuid) -> Result<Issued, AppError> {
        self.follow_up()
            .await?
            .issued
            .into_iter()
            .find(|issued| issued.report_id == report_id)
            .ok_or_else(|| {
                DomainError::not_found("Det finns ingen fastställd rapport med den adressen.")
                    .into()
            })
    }

    /// Checks a PDF against the log: is it an issued report, or one Insats compiled, and
    /// does compiling it again give the same bytes?
    pub async fn check_report(&self, units: &Units, pdf: &[u8]) -> Result<ReportCheck, AppError> {
        let follow_up = self.follow_up().await?;
        if let Some(issued) = follow_up.by_digest(&digest(pdf)).cloned() {
            let again = self
                .compile_pdf(units, issued.period, issued.transaction_id, issued.position)
                .await?;
            return Ok(ReportCheck::Issued {
                same: again == pdf,
                issued,
            });
        }
        let Some((period, as_of)) = report::pdf::provenance(pdf) else {
            return Ok(ReportCheck::Unknown);
        };
        let compiled = self.report(units, period, Some(as_of)).await?;
        Ok(ReportCheck::Compiled {
            period,
            as_of,
            same: report::pdf::render(&compiled) == pdf,
        })
    }
}

/// The id of the item that sends an issued report to the committee: derived from the
/// report's, so that it is sent once.
fn sent_item_id(report_id: Uuid) -> Uuid {
    super::submission::uuid_of(
        &Sha256::new()
            .chain_update(b"insats report sent to integrationsberedning v1")
            .chain_update(report_id.as_bytes())
            .finalize(),
    )
}
