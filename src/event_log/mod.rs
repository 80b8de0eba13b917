//! The append-only event log in PostgreSQL: every action taken in Insats is one row of
//! the `events` table, and every read model is built from it.
//!
//! - [`EventStore::append`] writes a batch of events to one stream with an expected
//!   version, in one statement, extending the stream's hash chain ([`chain`]).
//! - [`EventStore::read_all`] and [`EventStore::read_by_tag`] read in commit order with
//!   the gap-safe cursor ([`Cursor`]); [`EventStore::read_stream`] reads one stream.
//! - [`verify`] recomputes the chains and names the first broken link.
//!
//! See `docs/event-log.md` for the table and the reasoning behind each mechanism.

mod append;
pub mod chain;
mod heads;
mod notify;
mod read;
pub mod seal;
pub mod verify;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

pub use append::{AppendError, AppendResult, BulkHead, BulkStream};
pub use notify::AppendNotifier;
pub(crate) use read::select_events;
pub use read::{event_from_row, read_all as read_all_on};
pub use verify::{BrokenLink, LinkProblem, LogVerification, Verification};

/// The channel on which appends are announced. A wake-up only, never the source of truth.
pub const NOTIFY_CHANNEL: &str = "insats_events";

/// What the caller expects of the stream before its events are appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have exactly this version.
    Exact(i64),
    /// Append after whatever the stream's last event is.
    Any,
}

/// An event to append. Its id is the idempotency key of the append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub data: Value,
    pub metadata: Value,
    pub tags: Vec<String>,
}

impl NewEvent {
    /// A new event with a fresh time-ordered id, schema version 1 and no tags.
    pub fn new(event_type: impl Into<String>, data: Value) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version: 1,
            data,
            metadata: Value::Object(Default::default()),
            tags: Vec::new(),
        }
    }

    pub fn with_metadata(mut self, metadata: Value) -> Self {
        self.metadata = metadata;
        self
    }

    pub fn with_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
}

/// A place in the log's commit order: the inserting transaction's id, then the position.
///
/// Positions come from a sequence at insert time but become visible at commit, so
/// "position greater than N" can skip an event whose transaction committed late. The pair
/// (transaction id, position), read only below the oldest running transaction, cannot.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Cursor {
    pub transaction_id: i64,
    pub position: i64,
}

impl Cursor {
    /// Before the first event.
    pub const START: Cursor = Cursor {
        transaction_id: 0,
        position: 0,
    };

    pub fn new(transaction_id: i64, position: i64) -> Self {
        Self {
            transaction_id,
            position,
        }
    }
}

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub position: i64,
    pub transaction_id: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub schema_version: i32,
    pub data: Value,
    pub metadata: Value,
    pub tags: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    #[serde(with = "hex::serde")]
    pub prev_hash: Vec<u8>,
    #[serde(with = "hex::serde")]
    pub hash: Vec<u8>,
}

impl RecordedEvent {
    /// This event's place in commit order.
    pub fn cursor(&self) -> Cursor {
        Cursor::new(self.transaction_id, self.position)
    }

    /// The part of the event that its hash covers.
    pub fn body(&self) -> chain::EventBody<'_> {
        chain::EventBody {
            event_id: self.event_id,
            stream_id: &self.stream_id,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            data: &self.data,
            metadata: &self.metadata,
            tags: &self.tags,
            recorded_at: self.recorded_at,
        }
    }
}

/// The event log. Cheap to clone; every clone shares the pool and the append notifier.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
    notifier: AppendNotifier,
    heads: Arc<heads::HeadCache>,
}

impl EventStore {
    /// An event store on `pool`. Must be called inside a Tokio runtime: it starts the
    /// task that announces appends on [`NOTIFY_CHANNEL`].
    pub fn new(pool: PgPool) -> Self {
        let notifier = AppendNotifier::start(pool.clone());
        Self {
            pool,
            notifier,
            heads: Arc::default(),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Wakes up in-process readers after each append (cross-process readers LISTEN).
    pub fn notifier(&self) -> &AppendNotifier {
        &self.notifier
    }
}
