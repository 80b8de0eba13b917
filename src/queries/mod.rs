//! The read side: everything the pages and the API show, read from the read models (never
//! from the log), with the viewer's rights to secret text applied and sealed text opened,
//! as typed results and the application's error. Pages and API handlers read through
//! [`Queries`] alone; the projections write the tables it reads.

pub mod cases;
pub mod council;
pub mod indicators;
pub mod strategies;
pub mod timeline;
pub mod todo;

use sqlx::PgPool;
use std::time::Duration;
use time::Date;

use crate::app::{AppError, Services};
use crate::domain::DomainError;

/// How long a read waits for its read models to catch up with a change it was asked
/// after (read-your-writes).
pub const READ_YOUR_WRITES: Duration = Duration::from_secs(2);

/// The read side over one database and the application services (plan, areas, keys,
/// clock).
#[derive(Clone)]
pub struct Queries {
    pool: PgPool,
    services: Services,
    due: std::sync::Arc<todo::DueCache>,
}

impl Queries {
    pub fn new(pool: PgPool, services: Services) -> Self {
        Self {
            pool,
            services,
            due: Default::default(),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Today in Växjö, by the services' clock.
    pub fn today(&self) -> Date {
        self.services.today()
    }

    /// Read-your-writes: waits, at most [`READ_YOUR_WRITES`], until the read models
    /// `names` have applied the event at log position `after`. Whether they have; a
    /// position with no event is refused (field `after`).
    pub async fn settle(&self, after: Option<i64>, names: &[&str]) -> Result<bool, AppError> {
        let Some(position) = after else {
            return Ok(true);
        };
        let Some(cursor) = crate::projections::cursor_at(&self.pool, position).await? else {
            return Err(DomainError::invalid(
                "after",
                "Det finns ingen händelse på den positionen.",
            )
            .into());
        };
        Ok(crate::projections::wait_for(&self.pool, names, cursor, READ_YOUR_WRITES).await?)
    }
}

/// A period asked for by its first and last day (`YYYY-MM-DD`, each optional): a year up
/// to today unless given. Refused (fields `from`, `to`) when a date cannot be read or the
/// period ends before it begins.
pub fn period(from: Option<&str>, to: Option<&str>, today: Date) -> Result<(Date, Date), AppError> {
    let to = parse_date("to", to)?.unwrap_or(today);
    let from = parse_date("from", from)?.unwrap_or(to - time::Duration::days(365));
    if to < from {
        return Err(
            DomainError::invalid("to", "Periodens slut kan inte ligga före dess början.").into(),
        );
    }
    Ok((from, to))
}

/// A date `YYYY-MM-DD` given for `field`, if one was given.
pub fn parse_date(field: &str, text: Option<&str>) -> Result<Option<Date>, AppError> {
    let Some(text) = text.filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format)
        .map(Some)
        .map_err(|_| DomainError::invalid(field, "Skriv datumet som ÅÅÅÅ-MM-DD.").into())
}
