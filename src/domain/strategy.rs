//! Status reports on a strategy: the process owner says, for a period, whether the
//! strategy runs according to plan, is at risk, or is off track. One stream per strategy,
//! `strategy-<id>`; a later report for the same period supersedes an earlier one.

use serde::{Deserialize, Serialize};
use time::{Date, Month};
use uuid::Uuid;

use super::error::DomainError;
use super::event::Aggregate;
use super::values::{FreeText, Period, Slug};

pub fn stream(strategy: &str) -> String {
    format!("strategy-{strategy}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyStatus {
    EnligtPlan,
    Risk,
    Avvikelse,
}

impl StrategyStatus {
    pub const ALL: [StrategyStatus; 3] = [
        StrategyStatus::EnligtPlan,
        StrategyStatus::Risk,
        StrategyStatus::Avvikelse,
    ];

    pub fn label(self) -> &'static str {
        match self {
            StrategyStatus::EnligtPlan => "Enligt plan",
            StrategyStatus::Risk => "Risk",
            StrategyStatus::Avvikelse => "Avvikelse",
        }
    }

    /// The label of a status as stored (`enligt_plan`, `risk`, `avvikelse`).
    pub fn label_of(stored: &str) -> &'static str {
        serde_json::from_value::<StrategyStatus>(serde_json::Value::String(stored.to_owned()))
            .map_or("Okänd", StrategyStatus::label)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum StrategyEvent {
    StrategyStatusReported {
        report_id: Uuid,
        strategy: Slug,
        process: Slug,
        #[serde(with = "period_serde")]
        period: Period,
        status: StrategyStatus,
        comment: FreeText,
    },
}

/// A period stored as `{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}`.
pub mod period_serde {
    use super::Period;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::Date;

    #[derive(Serialize, Deserialize)]
    struct Stored {
        #[serde(with = "crate::domain::values::iso_date")]
        start: Date,
        #[serde(with = "crate::domain::values::iso_date")]
        end: Date,
    }

    pub fn serialize<S: Serializer>(period: &Period, serializer: S) -> Result<S::Ok, S::Error> {
        Stored {
            start: period.start,
            end: period.end,
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Period, D::Error> {
        let stored = Stored::deserialize(deserializer)?;
        Ok(Period {
            start: stored.start,
            end: stored.end,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrategyReports {
    pub latest: Option<(Period, StrategyStatus)>,
    pub version: i64,
}

impl StrategyReports {
    pub fn report(
        &self,
        report_id: Uuid,
        strategy: Slug,
        process: Slug,
        period: Period,
        status: StrategyStatus,
        comment: FreeText,
    ) -> Result<Vec<StrategyEvent>, DomainError> {
        if status != StrategyStatus::EnligtPlan && comment.is_empty() {
            return Err(DomainError::invalid(
                "comment",
                "Beskriv risken eller avvikelsen i en kommentar.",
            ));
        }
        Ok(vec![StrategyEvent::StrategyStatusReported {
            report_id,
            strategy,
            process,
            period,
            status,
            comment,
        }])
    }
}

impl Aggregate for StrategyReports {
    type Event = StrategyEvent;

    fn apply(mut self, event: &StrategyEvent) -> Self {
        self.version += 1;
        let StrategyEvent::StrategyStatusReported { period, status, .. } = event;
        self.latest = Some((*period, *status));
        self
    }

    fn tags(&self, event: &StrategyEvent) -> Vec<String> {
        let StrategyEvent::StrategyStatusReported {
            strategy,
            process,
            report_id,
            ..
        } = event;
        vec![
            format!("strategy:{strategy}"),
            format!("process:{process}"),
            format!("report:{report_id}"),
        ]
    }
}

/// The last tertial that has ended (jan–apr, maj–aug, sep–dec) before `today`.
pub fn last_tertial(today: Date) -> (Date, Date) {
    let year = today.year();
    let date = |y: i32, m: Month, d: u8| Date::from_calendar_date(y, m, d).expect("a valid date");
    match today.month() as u8 {
        1..=4 => (
            date(year - 1, Month::September, 1),
            date(year - 1, Month::December, 31),
        ),
        5..=8 => (date(year, Month::January, 1), date(year, Month::April, 30)),
        _ => (date(year, Month::May, 1), date(year, Month::August, 31)),
    }
}

/// The tertial (January–April, May–August, September–December) a day falls in.
pub fn tertial_containing(day: Date) -> (Date, Date) {
    let year = day.year();
    let date = |m: Month, d: u8| Date::from_calendar_date(year, m, d).expect("a valid date");
    match day.month() as u8 {
        1..=4 => (date(Month::January, 1), date(Month::April, 30)),
        5..=8 => (date(Month::May, 1), date(Month::August, 31)),
        _ => (date(Month::September, 1), date(Month::December, 31)),
    }
}

/// The first period the council has not reviewed, in the rhythm the coordinator chose:
/// the period after the last reviewed period's end, or, with no review yet, the last
/// complete one.
pub fn first_unreviewed(
    cycle: super::follow_up::Cycle,
    last_reviewed_end: Option<Date>,
    today: Date,
) -> (Date, Date) {
    let period = match last_reviewed_end.and_then(|end| end.next_day()) {
        Some(after) => cycle.period_containing(after),
        None => cycle.period_containing(today).previous(),
    };
    (period.start(), period.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_unreviewed_period_follows_the_last_review() {
        use crate::domain::follow_up::Cycle::{Kvartal, Tertial};
        use time::macros::date;
        let today = date!(2026 - 12 - 02);
        let first_unreviewed = |last, today| first_unreviewed(Tertial, last, today);
        assert_eq!(
            super::first_unreviewed(Kvartal, None, today),
            (date!(2026 - 07 - 01), date!(2026 - 09 - 30))
        );
        assert_eq!(
            super::first_unreviewed(Kvartal, Some(date!(2026 - 09 - 30)), today),
            (date!(2026 - 10 - 01), date!(2026 - 12 - 31))
        );
        assert_eq!(
            first_unreviewed(None, today),
            (date!(2026 - 05 - 01), date!(2026 - 08 - 31))
        );
        assert_eq!(
            first_unreviewed(Some(date!(2026 - 04 - 30)), today),
            (date!(2026 - 05 - 01), date!(2026 - 08 - 31))
        );
        assert_eq!(
            first_unreviewed(Some(date!(2025 - 12 - 31)), today),
            (date!(2026 - 01 - 01), date!(2026 - 04 - 30))
        );
        assert_eq!(
            first_unreviewed(Some(date!(2026 - 08 - 31)), today),
            (date!(2026 - 09 - 01), date!(2026 - 12 - 31))
        );
    }
    use crate::domain::event::{decode, encode};
    use time::macros::date;

    #[test]
    fn the_last_ended_tertial() {
        assert_eq!(
            last_tertial(date!(2026 - 11 - 27)),
            (date!(2026 - 05 - 01), date!(2026 - 08 - 31))
        );
        assert_eq!(
            last_tertial(date!(2026 - 02 - 01)),
            (date!(2025 - 09 - 01), date!(2025 - 12 - 31))
        );
        assert_eq!(
            last_tertial(date!(2026 - 05 - 01)),
            (date!(2026 - 01 - 01), date!(2026 - 04 - 30))
        );
    }

    #[test]
    fn risk_and_deviation_need_a_comment() {
        let period = Period::parse(
            "2026-01-01",
            "2026-04-30",
            time::macros::date!(2026 - 05 - 01),
        )
        .unwrap();
        let slug = |s: &str| Slug::parse("s", s).unwrap();
        let reports = StrategyReports::default();
        assert!(matches!(
            reports.report(
                Uuid::now_v7(),
                slug("matchningsmetodik"),
                slug("arbetsmarknad-och-naringsliv"),
                period,
                StrategyStatus::Risk,
                FreeText::default()
            ),
            Err(DomainError::Invalid(_))
        ));
        let events = reports
            .report(
                Uuid::now_v7(),
                slug("matchningsmetodik"),
                slug("arbetsmarknad-och-naringsliv"),
                period,
                StrategyStatus::EnligtPlan,
                FreeText::default(),
            )
            .unwrap();
        let (event_type, data) = encode(&events[0]);
        assert_eq!(event_type, "StrategyStatusReported");
        assert_eq!(
            data["period"],
            serde_json::json!({"start": "2026-01-01", "end": "2026-04-30"})
        );
        assert_eq!(data["status"], "enligt_plan");
        assert_eq!(
            decode::<StrategyEvent>(&event_type, 1, &data).unwrap(),
            events[0]
        );
    }
}
