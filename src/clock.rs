//! Time as Insats sees it: one clock for "now" and "today in Växjö", and the ways dates
//! and times are written for people.
//!
//! Today is Europe/Stockholm's, never UTC's: between midnight in Sweden and midnight UTC the
//! two disagree, and a form that presets a date or a rule that asks "is it due?" must agree
//! with the wall clock in Växjö. Summer time comes from the IANA time-zone database bundled
//! with `jiff` (so it is right on a machine without one, and for years whose rules change),
//! not from rules written here.
//!
//! Tests and the demo set the clock (`Clock::fixed`) and move it (`Clock::advance`) instead
//! of sleeping or depending on the day they run.

use std::sync::{Arc, LazyLock, Mutex};
use time::{Date, OffsetDateTime, UtcOffset};

/// The municipality's time zone.
static STOCKHOLM: LazyLock<jiff::tz::TimeZone> = LazyLock::new(|| {
    jiff::tz::TimeZone::get("Europe/Stockholm")
        .expect("the bundled time-zone database knows Europe/Stockholm")
});

/// Where Insats takes the time from: the system, or a time that tests and the demo set.
#[derive(Clone, Debug)]
pub struct Clock(Source);

#[derive(Clone, Debug)]
enum Source {
    System,
    Set(Arc<Mutex<OffsetDateTime>>),
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock standing at `at` until it is set or moved.
    pub fn fixed(at: OffsetDateTime) -> Self {
        Self(Source::Set(Arc::new(Mutex::new(at))))
    }

    /// A clock standing at noon in Växjö on `day`.
    pub fn on(day: Date) -> Self {
        let noon = day.with_hms(12, 0, 0).expect("noon exists").assume_utc();
        Self::fixed(noon.to_offset(offset_at(noon)))
    }

    pub fn now(&self) -> OffsetDateTime {
        match &self.0 {
            Source::System => OffsetDateTime::now_utc(),
            Source::Set(at) => *at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// Today in Växjö.
    pub fn today(&self) -> Date {
        local(self.now()).date()
    }

    /// Sets a set clock to `at` (the system's clock cannot be set).
    pub fn set(&self, at: OffsetDateTime) {
        match &self.0 {
            Source::System => panic!("the system's clock cannot be set"),
            Source::Set(now) => *now.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = at,
        }
    }

    /// Moves a set clock on by `by`.
    pub fn advance(&self, by: time::Duration) {
        self.set(self.now() + by);
    }
}

/// Stockholm's offset from UTC at the instant `at` (+1, or +2 in summer time).
pub fn offset_at(at: OffsetDateTime) -> UtcOffset {
    let seconds = jiff::Timestamp::from_second(at.unix_timestamp())
        .map(|instant| STOCKHOLM.to_offset(instant).seconds())
        .unwrap_or(3600);
    UtcOffset::from_whole_seconds(seconds).expect("Stockholm's offset is a valid offset")
}

/// The instant the day `day` begins in Växjö (its midnight, Swedish time).
pub fn start_of_day(day: Date) -> OffsetDateTime {
    let civil = jiff::civil::date(
        day.year() as i16,
        u8::from(day.month()) as i8,
        day.day() as i8,
    )
    .at(0, 0, 0, 0);
    STOCKHOLM
        .to_ambiguous_timestamp(civil)
        .compatible()
        .ok()
        .and_then(|instant| OffsetDateTime::from_unix_timestamp(instant.as_second()).ok())
        .map(local)
        .unwrap_or_else(|| day.midnight().assume_utc())
}

/// The same instant on the wall clock in Växjö.
pub fn local(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(offset_at(at))
}

/// A date as people write it in Sweden: "4 maj 2026".
pub fn date(date: Date) -> String {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mars", "apr", "maj", "juni", "juli", "aug", "sep", "okt", "nov", "dec",
    ];
    format!(
        "{} {} {}",
        date.day(),
        MONTHS[u8::from(date.month()) as usize - 1],
        date.year()
    )
}

/// An instant as people in Växjö read it: "4 maj 2026 14:05".
pub fn datetime(at: OffsetDateTime) -> String {
    let local = local(at);
    format!(
        "{} {:02}:{:02}",
        date(local.date()),
        local.hour(),
        local.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn today_is_vaxjos_not_utcs() {
        // 23:30 UTC on 4 May is 01:30 on 5 May in Växjö (summer time).
        let clock = Clock::fixed(datetime!(2026-05-04 23:30 UTC));
        assert_eq!(clock.today(), time::macros::date!(2026 - 05 - 05));
        // 23:30 UTC on 4 December is 00:30 on 5 December (winter time).
        clock.set(datetime!(2026-12-04 23:30 UTC));
        assert_eq!(clock.today(), time::macros::date!(2026 - 12 - 05));
        clock.set(datetime!(2026-12-04 22:30 UTC));
        assert_eq!(clock.today(), time::macros::date!(2026 - 12 - 04));
        clock.advance(time::Duration::hours(2));
        assert_eq!(clock.today(), time::macros::date!(2026 - 12 - 05));
    }

    #[test]
    fn summer_time_starts_and_ends_as_the_time_zone_database_says() {
        // 2026: from 01:00 UTC on 29 March to 01:00 UTC on 25 October.
        assert_eq!(offset_at(datetime!(2026-03-29 00:59 UTC)).whole_hours(), 1);
        assert_eq!(offset_at(datetime!(2026-03-29 01:00 UTC)).whole_hours(), 2);
        assert_eq!(offset_at(datetime!(2026-10-25 00:59 UTC)).whole_hours(), 2);
        assert_eq!(offset_at(datetime!(2026-10-25 01:00 UTC)).whole_hours(), 1);
        assert_eq!(
            datetime(datetime!(2026-05-04 12:05 UTC)),
            "4 maj 2026 14:05"
        );
        assert_eq!(
            start_of_day(time::macros::date!(2026 - 05 - 05)),
            datetime!(2026-05-04 22:00 UTC)
        );
        assert_eq!(
            start_of_day(time::macros::date!(2026 - 12 - 05)),
            datetime!(2026-12-04 23:00 UTC)
        );
    }
}
