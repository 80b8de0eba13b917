//! Follow-up (uppföljning): the municipality's reporting rhythm and the reports it issues.
//!
//! The plan names no rhythm for following up its strategies; the coordinator chooses one
//! (tertial, quarter, half-year or year) and may change it. Tertial is the default until a
//! choice is recorded. When a report for a period is issued (fastställd), the log records
//! the period, the log position the report was compiled from and the SHA-256 of its PDF,
//! so that the same PDF can be compiled again from the log and checked. One stream,
//! `follow-up`.

use serde::{Deserialize, Serialize};
use time::{Date, Month};
use uuid::Uuid;

use super::error::DomainError;
use super::event::Aggregate;
use super::reminders::ReminderRules;
use super::strategy::period_serde;
use super::values::Period;

pub const STREAM: &str = "follow-up";

/// How often strategies are followed up and reports compiled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    #[default]
    Tertial,
    Kvartal,
    Halvar,
    Helar,
}

impl Cycle {
    pub const ALL: [Cycle; 4] = [Cycle::Tertial, Cycle::Kvartal, Cycle::Halvar, Cycle::Helar];

    /// The rhythm in words, as in "Uppföljningen görs per tertial".
    pub fn label(self) -> &'static str {
        match self {
            Cycle::Tertial => "tertial",
            Cycle::Kvartal => "kvartal",
            Cycle::Halvar => "halvår",
            Cycle::Helar => "år",
        }
    }

    /// The stored name (`tertial`, `kvartal`, `halvar`, `helar`).
    pub fn as_str(self) -> &'static str {
        match self {
            Cycle::Tertial => "tertial",
            Cycle::Kvartal => "kvartal",
            Cycle::Halvar => "halvar",
            Cycle::Helar => "helar",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Cycle::ALL.into_iter().find(|cycle| cycle.as_str() == text)
    }

    /// How many months one period lasts.
    fn months(self) -> u8 {
        match self {
            Cycle::Tertial => 4,
            Cycle::Kvartal => 3,
            Cycle::Halvar => 6,
            Cycle::Helar => 12,
        }
    }

    /// The period of this rhythm that `day` falls in.
    pub fn period_containing(self, day: Date) -> ReportPeriod {
        let index = (u8::from(day.month()) - 1) / self.months() + 1;
        ReportPeriod {
            cycle: self,
            year: day.year(),
            index,
        }
    }

    /// The last period of this rhythm that has ended by `today`.
    pub fn last_ended(self, today: Date) -> ReportPeriod {
        self.period_containing(today).previous()
    }
}

/// One period of a rhythm: "Tertial 2 2026" is May to August 2026.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReportPeriod {
    pub cycle: Cycle,
    pub year: i32,
    /// 1-based: tertial 1–3, quarter 1–4, half-year 1–2, year 1.
    pub index: u8,
}

impl ReportPeriod {
    pub fn start(&self) -> Date {
        let month = (self.index - 1) * self.cycle.months() + 1;
        Date::from_calendar_date(self.year, Month::try_from(month).expect("1–12"), 1)
            .expect("a valid first day")
    }

    pub fn end(&self) -> Date {
        self.next().start().previous_day().expect("a day before")
    }

    pub fn as_period(&self) -> Period {
        Period {
            start: self.start(),
            end: self.end(),
        }
    }

    fn per_year(&self) -> u8 {
        12 / self.cycle.months()
    }

    pub fn previous(&self) -> Self {
        if self.index > 1 {
            Self {
                index: self.index - 1,
                ..*self
            }
        } else {
            Self {
                year: self.year - 1,
                index: self.per_year(),
                ..*self
            }
        }
    }

    pub fn next(&self) -> Self {
        if self.index < self.per_year() {
            Self {
                index: self.index + 1,
                ..*self
            }
        } else {
            Self {
                year: self.year + 1,
                index: 1,
                ..*self
            }
        }
    }

    /// The period in words: "Tertial 2 2026", "Kvartal 3 2026", "Första halvåret 2026",
    /// "Helåret 2026".
    pub fn label(&self) -> String {
        match self.cycle {
            Cycle::Tertial => format!("Tertial {} {}", self.index, self.year),
            Cycle::Kvartal => format!("Kvartal {} {}", self.index, self.year),
            Cycle::Halvar if self.index == 1 => format!("Första halvåret {}", self.year),
            Cycle::Halvar => format!("Andra halvåret {}", self.year),
            Cycle::Helar => format!("Helåret {}", self.year),
        }
    }

    /// The period in an address: `2026-tertial-2`, `2026-kvartal-3`, `2026-halvar-1`,
    /// `2026-helar`.
    pub fn key(&self) -> String {
        match self.cycle {
            Cycle::Helar => format!("{}-helar", self.year),
            cycle => format!("{}-{}-{}", self.year, cycle.as_str(), self.index),
        }
    }

    /// Reads [`ReportPeriod::key`] back.
    pub fn from_key(key: &str) -> Option<Self> {
        let mut parts = key.split('-');
        let year: i32 = parts.next()?.parse().ok()?;
        if !(2000..=2100).contains(&year) {
            return None;
        }
        let cycle = Cycle::parse(parts.next()?)?;
        let index = match (cycle, parts.next()) {
            (Cycle::Helar, None) => 1,
            (Cycle::Helar, Some(_)) => return None,
            (_, Some(index)) => index.parse().ok()?,
            (_, None) => return None,
        };
        let period = Self { cycle, year, index };
        (parts.next().is_none() && (1..=period.per_year()).contains(&index)).then_some(period)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum FollowUpEvent {
    /// The coordinator chose the rhythm of follow-up.
    FollowUpCycleSet { cycle: Cycle },
    /// The coordinator tuned the reminders' rules.
    ReminderRulesSet {
        #[serde(flatten)]
        rules: ReminderRules,
    },
    /// The coordinator issued (fastställde) the report for a period.
    ReportIssued {
        report_id: Uuid,
        cycle: Cycle,
        #[serde(with = "period_serde")]
        period: Period,
        /// The commit-order place in the log the report was compiled as of: every event
        /// at or before it, none after.
        transaction_id: i64,
        position: i64,
        /// The SHA-256 of the PDF, in hex.
        sha256: String,
    },
}

/// An issued report as the follow-up stream remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub report_id: Uuid,
    pub period: ReportPeriod,
    pub transaction_id: i64,
    pub position: i64,
    pub sha256: String,
}

/// The follow-up as its events leave it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FollowUp {
    pub cycle: Cycle,
    pub issued: Vec<Issued>,
    /// The reminders' rules (the defaults until the coordinator tunes them).
    pub reminders: ReminderRules,
    pub version: i64,
}

impl FollowUp {
    pub fn set_cycle(&self, cycle: Cycle) -> Result<Vec<FollowUpEvent>, DomainError> {
        if cycle == self.cycle && self.version > 0 {
            return Err(DomainError::conflict(format!(
                "Uppföljningen görs redan per {}.",
                cycle.label()
            )));
        }
        Ok(vec![FollowUpEvent::FollowUpCycleSet { cycle }])
    }

    /// The coordinator tunes the reminders' rules; the same rules again are refused.
    pub fn set_reminder_rules(
        &self,
        rules: ReminderRules,
    ) -> Result<Vec<FollowUpEvent>, DomainError> {
        if rules == self.reminders {
            return Err(DomainError::conflict(
                "Påminnelserna följer redan de reglerna.",
            ));
        }
        Ok(vec![FollowUpEvent::ReminderRulesSet { rules }])
    }

    /// Issues a report. The same PDF issued twice for a period is refused: it is issued
    /// already. A newer compilation (after later events) may be issued again.
    pub fn issue(
        &self,
        report_id: Uuid,
        period: ReportPeriod,
        at: (i64, i64),
        sha256: &str,
    ) -> Result<Vec<FollowUpEvent>, DomainError> {
        if self
            .issued
            .iter()
            .any(|issued| issued.period == period && issued.sha256 == sha256)
        {
            return Err(DomainError::conflict(format!(
                "Rapporten för {} är redan fastställd i den här lydelsen.",
                period.label().to_lowercase()
            )));
        }
        Ok(vec![FollowUpEvent::ReportIssued {
            report_id,
            cycle: period.cycle,
            period: period.as_period(),
            transaction_id: at.0,
            position: at.1,
            sha256: sha256.to_owned(),
        }])
    }

    /// The issued report whose PDF has this SHA-256.
    pub fn by_digest(&self, sha256: &str) -> Option<&Issued> {
        self.issued.iter().find(|issued| issued.sha256 == sha256)
    }
}

/// The report period a stored period and rhythm name.
pub fn stored_period(cycle: Cycle, period: &Period) -> ReportPeriod {
    cycle.period_containing(period.start)
}

impl Aggregate for FollowUp {
    type Event = FollowUpEvent;

    fn apply(mut self, event: &FollowUpEvent) -> Self {
        match event {
            FollowUpEvent::FollowUpCycleSet { cycle } => self.cycle = *cycle,
            FollowUpEvent::ReminderRulesSet { rules } => self.reminders = *rules,
            FollowUpEvent::ReportIssued {
                report_id,
                cycle,
                period,
                transaction_id,
                position,
                sha256,
            } => self.issued.push(Issued {
                report_id: *report_id,
                period: stored_period(*cycle, period),
                transaction_id: *transaction_id,
                position: *position,
                sha256: sha256.clone(),
            }),
        }
        self.version += 1;
        self
    }

    fn tags(&self, event: &FollowUpEvent) -> Vec<String> {
        match event {
            FollowUpEvent::ReportIssued { report_id, .. } => {
                vec!["follow-up".into(), format!("issued-report:{report_id}")]
            }
            FollowUpEvent::FollowUpCycleSet { .. } | FollowUpEvent::ReminderRulesSet { .. } => {
                vec!["follow-up".into()]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::fold;
    use time::macros::date;

    #[test]
    fn each_rhythm_cuts_the_year_into_its_periods() {
        let may = date!(2026 - 05 - 14);
        let tertial = Cycle::Tertial.period_containing(may);
        assert_eq!(
            (tertial.start(), tertial.end()),
            (date!(2026 - 05 - 01), date!(2026 - 08 - 31))
        );
        assert_eq!(tertial.label(), "Tertial 2 2026");
        let quarter = Cycle::Kvartal.period_containing(may);
        assert_eq!(
            (quarter.start(), quarter.end()),
            (date!(2026 - 04 - 01), date!(2026 - 06 - 30))
        );
        let half = Cycle::Halvar.period_containing(date!(2026 - 12 - 31));
        assert_eq!(half.label(), "Andra halvåret 2026");
        assert_eq!(half.end(), date!(2026 - 12 - 31));
        let year = Cycle::Helar.period_containing(may);
        assert_eq!(
            (year.start(), year.end()),
            (date!(2026 - 01 - 01), date!(2026 - 12 - 31))
        );
        assert_eq!(year.label(), "Helåret 2026");
    }

    #[test]
    fn the_last_ended_period_crosses_the_new_year() {
        let last = Cycle::Tertial.last_ended(date!(2026 - 02 - 03));
        assert_eq!(last.label(), "Tertial 3 2025");
        assert_eq!(last.start(), date!(2025 - 09 - 01));
        assert_eq!(
            Cycle::Kvartal.last_ended(date!(2026 - 01 - 01)).label(),
            "Kvartal 4 2025"
        );
    }

    #[test]
    fn a_period_key_reads_back_and_nonsense_is_refused() {
        for cycle in Cycle::ALL {
            let period = cycle.period_containing(date!(2025 - 11 - 20));
            assert_eq!(ReportPeriod::from_key(&period.key()), Some(period));
        }
        for bad in [
            "2026-tertial-4",
            "2026-kvartal-0",
            "2026-helar-1",
            "2026",
            "x-tertial-1",
            "2026-tertial-1-2",
            "1850-tertial-1",
        ] {
            assert_eq!(ReportPeriod::from_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn tertial_is_the_rhythm_until_another_is_chosen_and_the_same_pdf_is_issued_once() {
        let follow_up = FollowUp::default();
        assert_eq!(follow_up.cycle, Cycle::Tertial);
        let events = follow_up.set_cycle(Cycle::Kvartal).unwrap();
        let follow_up: FollowUp = fold(&events);
        assert_eq!(follow_up.cycle, Cycle::Kvartal);
        assert!(follow_up.set_cycle(Cycle::Kvartal).is_err());
        let period = Cycle::Kvartal.period_containing(date!(2026 - 02 - 01));
        let issued = follow_up.issue(Uuid::nil(), period, (7, 42), "ab").unwrap();
        let follow_up = issued.iter().fold(follow_up, FollowUp::apply);
        assert_eq!(follow_up.by_digest("ab").map(|i| i.position), Some(42));
        assert_eq!(follow_up.by_digest("ab").map(|i| i.period), Some(period));
        assert!(follow_up.issue(Uuid::nil(), period, (8, 50), "ab").is_err());
        assert!(follow_up.issue(Uuid::nil(), period, (8, 50), "cd").is_ok());
    }
}
