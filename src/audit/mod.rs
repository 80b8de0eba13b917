//! The auditor's view of a strategy: its history from the log, its state replayed as of
//! any moment, what changed between two moments, the proof that the record is whole
//! ([`verify`]) and exports that can be checked without a database ([`export`]).
//!
//! The replay folds the events themselves, never today's read models: a read model could
//! be wrong, and the point of an audit is to not have to trust it.

pub mod export;
pub mod replay;
pub mod verify;

use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use crate::event_log::{Cursor, RecordedEvent};

pub use replay::{Change, StrategyState, diff, replay};

/// A moment to replay to: a place in the log, or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum AsOf {
    /// Everything up to and including the event at this position, in commit order.
    Position(i64),
    /// Everything recorded at or before this time.
    #[serde(with = "time::serde::rfc3339")]
    Time(OffsetDateTime),
    /// Everything.
    Now,
}

impl AsOf {
    /// Reads `per` as a page or the API gets it: a position (`4711`), a date
    /// (`2025-06-30`, the whole day in Swedish time), a time (RFC 3339), or empty for now.
    pub fn parse(text: &str) -> Result<AsOf, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(AsOf::Now);
        }
        if let Ok(position) = text.parse::<i64>() {
            return if position >= 1 {
                Ok(AsOf::Position(position))
            } else {
                Err("En position är ett heltal från 1.".into())
            };
        }
        if let Ok(date) = time::Date::parse(
            text,
            time::macros::format_description!("[year]-[month]-[day]"),
        ) {
            let end = date.next_day().ok_or("Datumet ligger för långt fram.")?;
            // Midnight after the day, Swedish time.
            let offset = crate::web::pages::components::stockholm_offset(
                date.midnight().assume_utc() + time::Duration::hours(12),
            );
            return Ok(AsOf::Time(
                end.midnight().assume_offset(offset) - time::Duration::microseconds(1),
            ));
        }
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map(AsOf::Time)
            .map_err(|_| {
                "Ange ett datum (ÅÅÅÅ-MM-DD), en tidpunkt (ÅÅÅÅ-MM-DDTHH:MM:SSZ) eller en position i loggen."
                    .into()
            })
    }

    /// The events of `history` (in commit order) up to this moment. A position resolves to
    /// the cursor of the event at it, which may lie outside the history.
    pub fn prefix<'a>(
        &self,
        history: &'a [RecordedEvent],
        cursor: Option<Cursor>,
    ) -> &'a [RecordedEvent] {
        let end = match (self, cursor) {
            (AsOf::Now, _) => history.len(),
            (AsOf::Position(_), Some(cursor)) => history.partition_point(|e| e.cursor() <= cursor),
            (AsOf::Position(position), None) => {
                history.partition_point(|e| e.position <= *position)
            }
            (AsOf::Time(at), _) => history.partition_point(|e| e.recorded_at <= *at),
        };
        &history[..end]
    }

    /// How a person reads the moment.
    pub fn label(&self) -> String {
        match self {
            AsOf::Now => "nu".into(),
            AsOf::Position(position) => format!("position {position}"),
            AsOf::Time(at) => crate::web::pages::components::datetime(*at),
        }
    }
}

/// The events of a strategy's history: tagged with it, or assigning the owner of a process
/// it has belonged to (in the plan's events about it). `$1` is the `strategy:` tag.
macro_rules! in_history {
    () => {
        "(tags @> ARRAY[$1::text]
          OR (event_type = 'ProcessOwnerAssigned'
              AND stream_id IN (SELECT DISTINCT 'process-' || (data->>'process') FROM events
                                WHERE stream_id = 'plan' AND tags @> ARRAY[$1::text]
                                  AND data ? 'process')))"
    };
}

const HISTORY: &str = crate::event_log::select_events!(
    "WHERE ",
    in_history!(),
    " ORDER BY events.transaction_id, events.position"
);

const HISTORY_UP_TO: &str = concat!(
    "SELECT position, recorded_at, event_type, data - $5::text[],
            (SELECT substr(tag, 6) FROM unnest(tags) AS tag WHERE tag LIKE 'area:%' LIMIT 1)
     FROM events WHERE ",
    in_history!(),
    " AND ($2::int8 IS NULL OR (transaction_id, position) <= ($2::int8::text::xid8, $3))
      AND ($4::timestamptz IS NULL OR recorded_at <= $4)
     ORDER BY events.transaction_id, events.position"
);

/// The history of a strategy: every event tagged with it (its definition and revisions,
/// activities, cases, items, status reports, decisions), and the owner assignments of the
/// processes it has belonged to, in commit order. Events as stored: sealed text stays
/// sealed, so the hashes can be checked.
pub async fn history(pool: &PgPool, strategy: &str) -> sqlx::Result<Vec<RecordedEvent>> {
    let tag = format!("strategy:{strategy}");
    let mut connection = pool.acquire().await?;
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *connection)
        .await?;
    let events = sqlx::query(HISTORY)
        .bind(&tag)
        .try_map(|row: PgRow| crate::event_log::event_from_row(&row))
        .fetch_all(&mut *connection)
        .await;
    sqlx::query("RESET statement_timeout")
        .execute(&mut *connection)
        .await?;
    events
}

/// The state of `strategy` as of `as_of`, folded straight from the log: only the events up
/// to the moment, and only the columns the fold reads. It reads no sealed field, so nothing
/// is decrypted: a status report's comment is left empty here (the auditor's pages fold
/// opened events, and show it). The same fold as [`load`]'s, without reading the whole history.
pub async fn state_as_of(
    pool: &PgPool,
    strategy: &str,
    as_of: AsOf,
) -> Result<StrategyState, crate::app::AppError> {
    let tag = format!("strategy:{strategy}");
    let (cursor, time) = match as_of {
        AsOf::Now => (None, None),
        AsOf::Time(at) => (None, Some(at)),
        AsOf::Position(position) => match cursor_at(pool, position).await? {
            Some(cursor) => (Some(cursor), None),
            None => return Err(no_such_position()),
        },
    };
    let rows: Vec<(i64, OffsetDateTime, String, Value, Option<String>)> =
        sqlx::query_as(HISTORY_UP_TO)
            .bind(&tag)
            .bind(cursor.map(|c| c.transaction_id))
            .bind(cursor.map(|c| c.position))
            .bind(time)
            .bind(UNREAD_FIELDS)
            .fetch_all(pool)
            .await?;
    Ok(replay::replay_steps(
        strategy,
        rows.iter().map(
            |(position, recorded_at, event_type, data, area)| replay::Step {
                position: *position,
                recorded_at: *recorded_at,
                event_type,
                data,
                area: area.as_deref(),
            },
        ),
    ))
}

/// The free-text fields the fold never reads (the sealed ones, which are also the largest):
/// left in the database instead of sent and parsed.
const UNREAD_FIELDS: &[&str] = &[
    "comment",
    "description",
    "text",
    "answer",
    "reason",
    "resolution",
    "feedback",
];

fn no_such_position() -> crate::app::AppError {
    crate::app::AppError::Domain(crate::domain::DomainError::Invalid(vec![
        crate::domain::FieldError::new(
            "per",
            "Det finns ingen händelse på den positionen i loggen.",
        ),
    ]))
}

/// The cursor of the event at `position`, if there is one.
pub async fn cursor_at(pool: &PgPool, position: i64) -> sqlx::Result<Option<Cursor>> {
    crate::projections::cursor_at(pool, position).await
}

/// A copy of the events with their sealed text opened for reading (or the erasure
/// marker), for showing and replaying. The stored events keep their ciphertext.
pub async fn opened(
    privacy: &crate::privacy::Privacy,
    events: &[RecordedEvent],
) -> sqlx::Result<Vec<RecordedEvent>> {
    let mut copy = events.to_vec();
    privacy
        .open_all(copy.iter_mut().map(|event| &mut event.data))
        .await?;
    Ok(copy)
}

/// Who acted, as the metadata says: "Anna i Araby (Områdesteam)".
pub fn actor(event: &RecordedEvent) -> String {
    let text = |key: &str| event.metadata.get(key).and_then(Value::as_str);
    match (text("actor_name"), text("role")) {
        (Some(name), Some(role)) => format!(
            "{name} ({})",
            role.parse::<crate::domain::actor::Role>()
                .map(|r| r.label().to_owned())
                .unwrap_or_else(|_| role.to_owned())
        ),
        (Some(name), None) => name.to_owned(),
        _ => "Insats".into(),
    }
}

/// What an event says, in Swedish.
pub fn describe(event: &RecordedEvent) -> String {
    let text = |key: &str| event.data.get(key).and_then(Value::as_str).unwrap_or("");
    match event.event_type.as_str() {
        "StrategyDefined" => format!("Strategin definierades: {}", text("title")),
        "StrategyReworded" | "StrategyRevised" => {
            format!("Strategin reviderades: {}", text("title"))
        }
        "StrategyRetired" => "Strategin togs bort ur planen".into(),
        "ProcessOwnerAssigned" => format!(
            "Processägare för {}: {}",
            text("process"),
            text("owner_name")
        ),
        "DecisionRecorded" => format!("Beslut: {}", text("title")),
        "ActivityCorrected" => format!("Insatsen rättades: {}", text("title")),
        "ActivityRetracted" => format!("Insatsen drogs tillbaka: {}", text("reason")),
        other => crate::projections::timeline::describe(other, &event.data),
    }
}

/// Everything an auditor looks at for one strategy: its history, and its state at one
/// moment (and at a second, to compare).
pub struct StrategyAudit {
    pub strategy: String,
    /// The history as stored (sealed text sealed), for checking and exports.
    pub history: Vec<RecordedEvent>,
    /// The same events with their text opened, for reading.
    pub opened: Vec<RecordedEvent>,
    pub as_of: AsOf,
    /// How many events of the history lie up to `as_of`.
    pub upto: usize,
    pub state: StrategyState,
    pub compare: Option<Comparison>,
}

pub struct Comparison {
    pub as_of: AsOf,
    pub state: StrategyState,
    /// From the compared moment to `as_of`.
    pub changes: Vec<Change>,
}

/// Loads and replays the history of `strategy` as of `as_of`, and compares with `compare`.
pub async fn load(
    store: &crate::event_log::EventStore,
    privacy: &crate::privacy::Privacy,
    strategy: &str,
    as_of: AsOf,
    compare: Option<AsOf>,
) -> Result<StrategyAudit, crate::app::AppError> {
    let history = history(store.pool(), strategy).await?;
    let opened = opened(privacy, &history).await?;
    let resolve = |moment: AsOf| async move {
        match moment {
            AsOf::Position(position) => match cursor_at(store.pool(), position).await? {
                Some(cursor) => Ok(Some(cursor)),
                None => Err(no_such_position()),
            },
            _ => Ok::<_, crate::app::AppError>(None),
        }
    };
    let cursor = resolve(as_of).await?;
    let upto = as_of.prefix(&opened, cursor).len();
    let state = replay(strategy, &opened[..upto]);
    let compare = match compare {
        Some(moment) => {
            let cursor = resolve(moment).await?;
            let before = replay(strategy, moment.prefix(&opened, cursor));
            let changes = diff(&before, &state);
            Some(Comparison {
                as_of: moment,
                state: before,
                changes,
            })
        }
        None => None,
    };
    Ok(StrategyAudit {
        strategy: strategy.to_owned(),
        history,
        opened,
        as_of,
        upto,
        state,
        compare,
    })
}
