//! The auditor's view of a strategy: its history from the log, its state replayed as of
//! any moment, what changed between two moments, the proof that the record is whole
//! ([`verify`]) and exports that can be checked without a database ([`export`]).
//!
//! The page folds the strategy history's read model, which holds the fold's inputs of each
//! event of the history side by side (fast at a million events); [`state_from_log`] folds
//! the log itself, for whoever does not want to trust a read model, and a test holds the
//! two equal.

pub mod export;
pub mod verify;

use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use crate::event_log::{Cursor, RecordedEvent};

pub use crate::domain::replay::{self, Change, StrategyState, diff};

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
            // Just before midnight after the day, Swedish time.
            return Ok(AsOf::Time(
                crate::clock::start_of_day(end) - time::Duration::microseconds(1),
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
            AsOf::Time(at) => crate::clock::datetime(*at),
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
    "SELECT position, recorded_at, event_type, schema_version, data - $5::text[],
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

/// Where `as_of` lies: a cursor (for a position) or a time, or neither (now).
async fn moment(
    pool: &PgPool,
    as_of: AsOf,
) -> Result<(Option<Cursor>, Option<OffsetDateTime>), crate::app::AppError> {
    Ok(match as_of {
        AsOf::Now => (None, None),
        AsOf::Time(at) => (None, Some(at)),
        AsOf::Position(position) => match cursor_at(pool, position).await? {
            Some(cursor) => (Some(cursor), None),
            None => return Err(no_such_position()),
        },
    })
}

/// The state of `strategy` as of `as_of`, folded from the strategy history's read model
/// (`projections::history`): the fold's inputs of each event of the history, side by side
/// on disk. What the auditor's page shows; [`state_from_log`] folds the log itself and a
/// test holds the two equal.
pub async fn state_as_of(
    pool: &PgPool,
    strategy: &str,
    as_of: AsOf,
) -> Result<StrategyState, crate::app::AppError> {
    let (cursor, time) = moment(pool, as_of).await?;
    if history_behind(pool, strategy, cursor, time).await? {
        return state_from_log(pool, strategy, as_of).await;
    }
    let keys = history_keys(pool, strategy).await?;
    let mut query = sqlx::QueryBuilder::new(
        "SELECT position, recorded_at, area, input FROM strategy_history WHERE strategy = ANY(",
    );
    query.push_bind(&keys).push(")");
    up_to(&mut query, cursor, time);
    query.push(" ORDER BY transaction_id, position");
    let rows: Vec<(
        i64,
        OffsetDateTime,
        Option<String>,
        sqlx::types::Json<replay::Input>,
    )> = query.build_query_as().fetch_all(pool).await?;
    let steps: Vec<replay::Step> = rows
        .into_iter()
        .map(|(position, recorded_at, area, input)| replay::Step {
            position,
            recorded_at,
            input: input.0,
            area,
        })
        .collect();
    Ok(replay::replay(strategy, &steps))
}

/// The keys under which the history's read model keeps what a replay of `strategy` folds:
/// the strategy itself, and each process it has belonged to (their owners' assignments).
/// Asked for by key, so that each is a range of the read model's index.
async fn history_keys(pool: &PgPool, strategy: &str) -> sqlx::Result<Vec<String>> {
    let processes: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT process FROM strategy_history
         WHERE strategy = $1 AND kind = 'defined' AND process IS NOT NULL",
    )
    .bind(strategy)
    .fetch_all(pool)
    .await?;
    Ok(std::iter::once(strategy.to_owned())
        .chain(
            processes
                .iter()
                .map(|p| crate::projections::history::process_key(p)),
        )
        .collect())
}

/// Limits a read of the history's read model to the moment: up to a cursor, or a time.
/// Only the condition the moment needs is written, so each reads as an index range.
fn up_to(
    query: &mut sqlx::QueryBuilder<sqlx::Postgres>,
    cursor: Option<Cursor>,
    time: Option<OffsetDateTime>,
) {
    if let Some(cursor) = cursor {
        query
            .push(" AND (transaction_id, position) <= (")
            .push_bind(cursor.transaction_id)
            .push(", ")
            .push_bind(cursor.position)
            .push(")");
    }
    if let Some(time) = time {
        query.push(" AND recorded_at <= ").push_bind(time);
    }
}

/// Whether the log holds an event of `strategy`, up to the moment, that the history's read
/// model has not applied yet (it follows the log by a moment, or is being rebuilt). The
/// auditor then gets the fold of the log itself, never a state that silently lacks events.
async fn history_behind(
    pool: &PgPool,
    strategy: &str,
    cursor: Option<Cursor>,
    time: Option<OffsetDateTime>,
) -> Result<bool, crate::app::AppError> {
    let checkpoint: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id, position FROM projection_checkpoints WHERE name = $1",
    )
    .bind(crate::projections::history::PROJECTION.name)
    .fetch_optional(pool)
    .await?;
    let Some((transaction_id, position)) = checkpoint else {
        return Ok(true);
    };
    // With the checkpoint's values in the statement (planned for them, not kept as a
    // generic plan), and the tag tested per row rather than through the tags' index, this
    // reads the few events past the checkpoint instead of every event of the strategy.
    let behind: bool = sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM events e
             WHERE (e.transaction_id, e.position) > ($1::int8::text::xid8, $2)
               AND ($3::int8 IS NULL OR (e.transaction_id, e.position) <= ($3::int8::text::xid8, $4))
               AND ($5::timestamptz IS NULL OR e.recorded_at <= $5)
               AND $6 = ANY(e.tags))",
    )
    .persistent(false)
    .bind(transaction_id)
    .bind(position)
    .bind(cursor.map(|c| c.transaction_id))
    .bind(cursor.map(|c| c.position))
    .bind(time)
    .bind(format!("strategy:{strategy}"))
    .fetch_one(pool)
    .await?;
    Ok(behind)
}

/// The state of `strategy` as of `as_of`, folded straight from the log: only the events up
/// to the moment, and only the columns the fold reads. It reads no sealed field, so nothing
/// is decrypted: a status report's comment stays sealed in the state.
pub async fn state_from_log(
    pool: &PgPool,
    strategy: &str,
    as_of: AsOf,
) -> Result<StrategyState, crate::app::AppError> {
    let tag = format!("strategy:{strategy}");
    let (cursor, time) = moment(pool, as_of).await?;
    let rows: Vec<(i64, OffsetDateTime, String, i32, Value, Option<String>)> =
        sqlx::query_as(HISTORY_UP_TO)
            .bind(&tag)
            .bind(cursor.map(|c| c.transaction_id))
            .bind(cursor.map(|c| c.position))
            .bind(time)
            .bind(UNREAD_FIELDS)
            .fetch_all(pool)
            .await?;
    let steps: Vec<replay::Step> = rows
        .into_iter()
        .filter_map(
            |(position, recorded_at, event_type, schema_version, data, area)| {
                let decoded =
                    crate::domain::catalogue::decode(&event_type, schema_version, data).ok()?;
                Some(replay::Step {
                    position,
                    recorded_at,
                    input: replay::Input::of(strategy, &decoded.event, &decoded.texts),
                    area,
                })
            },
        )
        .collect();
    Ok(replay::replay(strategy, &steps))
}

/// The state of `strategy` after `events` (a prefix of its history, as the log holds it).
pub fn replay(strategy: &str, events: &[RecordedEvent]) -> StrategyState {
    let steps: Vec<replay::Step> = events
        .iter()
        .filter_map(|event| {
            let decoded = crate::domain::catalogue::decode(
                &event.event_type,
                event.schema_version,
                event.data.clone(),
            )
            .ok()?;
            Some(replay::Step {
                position: event.position,
                recorded_at: event.recorded_at,
                input: replay::Input::of(strategy, &decoded.event, &decoded.texts),
                area: event
                    .tags
                    .iter()
                    .find_map(|tag| tag.strip_prefix("area:"))
                    .map(str::to_owned),
            })
        })
        .collect();
    replay::replay(strategy, &steps)
}

/// The free-text fields the fold never reads (the sealed ones, which are also the largest;
/// a status report's short comment it keeps, sealed, for whoever shows it): left in the
/// database instead of sent and parsed.
const UNREAD_FIELDS: &[&str] = &[
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

/// What an event says, in Swedish: the auditor's words for the plan's and the processes'
/// events, the timeline's for the rest, with processes and areas named as in `plan` and
/// `areas` (id, name).
pub fn describe(
    event: &RecordedEvent,
    plan: &crate::domain::plan::Plan,
    areas: &[(String, String)],
) -> String {
    use crate::domain::activity::ActivityEvent;
    use crate::domain::catalogue::{self, DomainEvent};
    use crate::domain::plan::{NodeKind, PlanEvent};
    use crate::domain::process::ProcessEvent;
    let Ok(decoded) =
        catalogue::decode(&event.event_type, event.schema_version, event.data.clone())
    else {
        return event.event_type.clone();
    };
    match &decoded.event {
        DomainEvent::Plan(PlanEvent::Defined { node }) if node.kind == NodeKind::Strategy => {
            format!("Strategin definierades: {}", node.text("title"))
        }
        DomainEvent::Plan(PlanEvent::Revised { node, .. }) if node.kind == NodeKind::Strategy => {
            format!("Strategin reviderades: {}", node.text("title"))
        }
        DomainEvent::Plan(PlanEvent::Retired {
            kind: NodeKind::Strategy,
            ..
        }) => "Strategin togs bort ur planen".into(),
        DomainEvent::Process(ProcessEvent::ProcessOwnerAssigned {
            process,
            owner_name,
            ..
        }) => format!(
            "Processägare för {}: {}",
            plan.process_title(process.as_str()),
            owner_name.as_str()
        ),
        DomainEvent::Process(ProcessEvent::DecisionRecorded { title, .. }) => {
            format!("Beslut: {}", title.as_str())
        }
        DomainEvent::Activity(ActivityEvent::ActivityRetracted { .. }) => format!(
            "Insatsen drogs tillbaka: {}",
            decoded.text("reason").as_str().unwrap_or_default()
        ),
        other => crate::domain::describe::describe(other, plan, areas),
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

impl Comparison {
    /// The state `before` at the moment `as_of`, and what changed from it to `after`.
    fn of(as_of: AsOf, before: StrategyState, after: &StrategyState) -> Self {
        Self {
            as_of,
            changes: diff(&before, after),
            state: before,
        }
    }
}

/// What the auditor's page shows of a strategy: its state at a moment (and at a second, to
/// compare) from the history's read model, the latest events of its history up to the
/// moment (opened for reading), and how far the history reaches.
pub struct StrategyPage {
    pub strategy: String,
    pub as_of: AsOf,
    pub state: StrategyState,
    pub compare: Option<Comparison>,
    /// The latest events of the history up to the moment, oldest first, opened.
    pub listed: Vec<RecordedEvent>,
    /// Events of the history up to the moment, and in all.
    pub upto: i64,
    pub total: i64,
    pub first_position: Option<i64>,
    pub last_position: Option<i64>,
}

/// Events of the log at the given positions, in commit order.
const HISTORY_AT: &str = crate::event_log::select_events!(
    "WHERE position = ANY($1) ORDER BY events.transaction_id, events.position"
);

/// What the auditor's page of `strategy` shows as of `as_of`, comparing with `compare`:
/// the states folded from the history's read model, and the `listed` latest events.
pub async fn page(
    store: &crate::event_log::EventStore,
    privacy: &crate::privacy::Privacy,
    strategy: &str,
    as_of: AsOf,
    compare: Option<AsOf>,
    listed: i64,
) -> Result<StrategyPage, crate::app::AppError> {
    let pool = store.pool();
    // The states, the listed events and the history's extent are read side by side, each
    // on its own connection.
    let states = async {
        let mut state = state_as_of(pool, strategy, as_of).await?;
        open_report(privacy, &mut state).await?;
        let compare = match compare {
            Some(moment) => {
                let mut before = state_as_of(pool, strategy, moment).await?;
                open_report(privacy, &mut before).await?;
                Some(Comparison::of(moment, before, &state))
            }
            None => None,
        };
        Ok::<_, crate::app::AppError>((state, compare))
    };
    let (cursor, time) = moment(pool, as_of).await?;
    let keys = history_keys(pool, strategy).await?;
    let ((state, compare), listed, (total, first_position, last_position)) = tokio::try_join!(
        states,
        latest(pool, privacy, &keys, cursor, time, listed),
        extent(pool, &keys),
    )?;
    Ok(StrategyPage {
        strategy: strategy.to_owned(),
        as_of,
        upto: state.events as i64,
        state,
        compare,
        listed,
        total,
        first_position,
        last_position,
    })
}

/// The latest `listed` events of a strategy's history (its read model's `keys`) up to a
/// moment, oldest first, opened for reading: the last of each key's range of the read
/// model's index, merged, then read from the log as stored.
async fn latest(
    pool: &PgPool,
    privacy: &crate::privacy::Privacy,
    keys: &[String],
    cursor: Option<Cursor>,
    time: Option<OffsetDateTime>,
    listed: i64,
) -> Result<Vec<RecordedEvent>, crate::app::AppError> {
    let mut query = sqlx::QueryBuilder::new("SELECT h.position FROM unnest(");
    query.push_bind(keys).push(
        "::text[]) AS k(key), LATERAL (
             SELECT transaction_id, position FROM strategy_history
             WHERE strategy = k.key",
    );
    up_to(&mut query, cursor, time);
    query
        .push(" ORDER BY transaction_id DESC, position DESC LIMIT ")
        .push_bind(listed)
        .push(") h ORDER BY h.transaction_id DESC, h.position DESC LIMIT ")
        .push_bind(listed);
    let positions: Vec<i64> = query.build_query_scalar().fetch_all(pool).await?;
    let events: Vec<RecordedEvent> = sqlx::query(HISTORY_AT)
        .bind(&positions)
        .try_map(|row: PgRow| crate::event_log::event_from_row(&row))
        .fetch_all(pool)
        .await?;
    Ok(opened(privacy, &events).await?)
}

/// How many events a strategy's history (its read model's `keys`) holds, and its first
/// and last positions.
async fn extent(
    pool: &PgPool,
    keys: &[String],
) -> Result<(i64, Option<i64>, Option<i64>), crate::app::AppError> {
    Ok(sqlx::query_as(
        "SELECT count(*), min(position), max(position) FROM strategy_history
         WHERE strategy = ANY($1)",
    )
    .bind(keys)
    .fetch_one(pool)
    .await?)
}

/// Opens the latest report's comment in a state folded from sealed inputs.
async fn open_report(
    privacy: &crate::privacy::Privacy,
    state: &mut StrategyState,
) -> sqlx::Result<()> {
    if let Some(report) = &mut state.latest_report
        && !report.sealed_comment.is_null()
    {
        let mut holder = serde_json::json!({ "comment": report.sealed_comment });
        privacy.open(&mut holder).await?;
        report.comment = holder["comment"].as_str().unwrap_or_default().to_owned();
    }
    Ok(())
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
            Some(Comparison::of(moment, before, &state))
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
