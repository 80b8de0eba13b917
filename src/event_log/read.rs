//! Reading the log: in commit order with the gap-safe cursor, by tag, and one stream.
//!
//! A reader in commit order only sees events whose transaction id is below the horizon
//! `pg_snapshot_xmin(pg_current_snapshot())`: every transaction below it has ended, so no
//! event can later appear behind a cursor the reader has already passed. Events of a
//! transaction that is still open, or that committed after an older one still open, wait
//! until the horizon moves past them. The pool's statement and idle-in-transaction
//! timeouts bound how long any transaction of Insats can hold the horizon back.

use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::{Cursor, EventStore, RecordedEvent};

/// `SELECT <every column of an event, as [`event_from_row`] reads them> FROM events …`.
macro_rules! select_events {
    ($($rest:expr),*) => {
        concat!(
            "SELECT position, transaction_id::text::bigint, event_id, stream_id, stream_version, \
             event_type, schema_version, data, metadata, tags, recorded_at, prev_hash, hash \
             FROM events ",
            $($rest),*
        )
    };
}
pub(crate) use select_events;

/// Rows after the cursor whose transactions have all ended, in commit order.
const READ_ALL: &str = select_events!(
    "WHERE (transaction_id, position) > ($1::int8::text::xid8, $2)
       AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY events.transaction_id, events.position
     LIMIT $3"
);

const READ_BY_TAG: &str = select_events!(
    "WHERE tags @> ARRAY[$4::text]
       AND (transaction_id, position) > ($1::int8::text::xid8, $2)
       AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY events.transaction_id, events.position
     LIMIT $3"
);

const READ_LATEST_BY_TAG: &str =
    select_events!("WHERE tags @> ARRAY[$1::text] ORDER BY position DESC LIMIT $2");

const READ_STREAM: &str = select_events!(
    "WHERE stream_id = $1 AND stream_version > $2 AND stream_version <= $3 ORDER BY stream_version"
);

/// Events of some types up to a place in commit order.
const READ_TYPES_AS_OF: &str = select_events!(
    "WHERE event_type = ANY($1)
       AND (transaction_id, position) <= ($2::int8::text::xid8, $3)
     ORDER BY events.transaction_id, events.position"
);

/// Events of some types recorded in a window, up to a place in commit order.
const READ_TYPES_RECORDED_AS_OF: &str = select_events!(
    "WHERE event_type = ANY($1)
       AND (transaction_id, position) <= ($2::int8::text::xid8, $3)
       AND recorded_at >= $4 AND recorded_at < $5
     ORDER BY events.transaction_id, events.position"
);

/// The last event in commit order below the horizon: no event committed later can come
/// before it. (The order names the table's columns: unqualified, `transaction_id` would be
/// the output's bigint, and PostgreSQL would sort the whole log instead of reading the
/// commit-order index backwards: 440 ms at a million events.)
const LAST_FINAL: &str = "SELECT transaction_id::text::bigint, position, recorded_at FROM events
     WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1";

/// The horizon as a cursor: everything before it is final.
const HORIZON: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

impl EventStore {
    /// Up to `limit` events after `after`, in commit order, none of which can ever be
    /// preceded by an event that is not yet visible.
    pub async fn read_all(
        &self,
        after: Cursor,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        read_all(&self.pool, after, limit).await
    }

    /// Like [`EventStore::read_all`], restricted to events carrying `tag`.
    pub async fn read_by_tag(
        &self,
        tag: &str,
        after: Cursor,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        sqlx::query(READ_BY_TAG)
            .bind(after.transaction_id)
            .bind(after.position)
            .bind(limit)
            .bind(tag)
            .try_map(|row: PgRow| event_from_row(&row))
            .fetch_all(&self.pool)
            .await
    }

    /// The newest `limit` events carrying `tag`, newest first (for short lists, not for
    /// reading in commit order).
    pub async fn read_latest_by_tag(
        &self,
        tag: &str,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        sqlx::query(READ_LATEST_BY_TAG)
            .bind(tag)
            .bind(limit)
            .try_map(|row: PgRow| event_from_row(&row))
            .fetch_all(&self.pool)
            .await
    }

    /// The events of one stream up to and including `up_to_version` (all when `None`).
    pub async fn read_stream(
        &self,
        stream_id: &str,
        up_to_version: Option<i64>,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        self.read_stream_between(stream_id, 0, up_to_version.unwrap_or(i64::MAX))
            .await
    }

    /// The events of one stream after version `after` (for catching up a cached state).
    pub async fn read_stream_after(
        &self,
        stream_id: &str,
        after: i64,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        self.read_stream_between(stream_id, after, i64::MAX).await
    }

    async fn read_stream_between(
        &self,
        stream_id: &str,
        after: i64,
        up_to: i64,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        let events = sqlx::query(READ_STREAM)
            .bind(stream_id)
            .bind(after)
            .bind(up_to)
            .try_map(|row: PgRow| event_from_row(&row))
            .fetch_all(&self.pool)
            .await?;
        if let Some(last) = events.last() {
            self.heads
                .remember(stream_id, last.stream_version, &last.hash);
        }
        Ok(events)
    }

    /// The last event that is final (every event before it in commit order is visible, and
    /// none can ever be added before it), with the time it was recorded: a place to read
    /// "as of now" from and find exactly the same events at again later. `None` for an
    /// empty log.
    pub async fn last_final(&self) -> Result<Option<(Cursor, OffsetDateTime)>, sqlx::Error> {
        let row: Option<(i64, i64, OffsetDateTime)> = sqlx::query_as(LAST_FINAL)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(transaction_id, position, at)| (Cursor::new(transaction_id, position), at)))
    }

    /// The time the event at `cursor` was recorded, if there is one.
    pub async fn recorded_at(&self, cursor: Cursor) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT recorded_at FROM events
             WHERE position = $2 AND transaction_id = $1::int8::text::xid8",
        )
        .bind(cursor.transaction_id)
        .bind(cursor.position)
        .fetch_optional(&self.pool)
        .await
    }

    /// Every event of the types `types` at or before `as_of` in commit order, in commit
    /// order; with `recorded`, only those recorded from its first instant up to (not
    /// including) its second. Reading as of a final cursor gives the same events whenever
    /// it is asked.
    pub async fn read_types_as_of(
        &self,
        types: &[&str],
        as_of: Cursor,
        recorded: Option<(OffsetDateTime, OffsetDateTime)>,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        let types: Vec<String> = types.iter().map(|name| (*name).to_owned()).collect();
        let query = match recorded {
            None => sqlx::query(READ_TYPES_AS_OF),
            Some(_) => sqlx::query(READ_TYPES_RECORDED_AS_OF),
        }
        .bind(types)
        .bind(as_of.transaction_id)
        .bind(as_of.position);
        let query = match recorded {
            Some((from, to)) => query.bind(from).bind(to),
            None => query,
        };
        query
            .try_map(|row: PgRow| event_from_row(&row))
            .fetch_all(&self.pool)
            .await
    }

    /// The transaction id below which every transaction has ended.
    pub async fn horizon(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(HORIZON).fetch_one(&self.pool).await
    }

    /// Waits, at most `timeout`, until the event at `cursor` can be read in commit order
    /// (every transaction up to its own has ended). Returns whether it can.
    ///
    /// The horizon is the whole server's: a transaction held open in any database of the
    /// cluster holds it back, which is why Insats bounds its own transactions' length.
    pub async fn wait_until_readable(
        &self,
        cursor: Cursor,
        timeout: Duration,
    ) -> Result<bool, sqlx::Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.horizon().await? > cursor.transaction_id {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// [`EventStore::read_all`] on any executor, for readers that hold a transaction.
pub async fn read_all<'e>(
    executor: impl PgExecutor<'e>,
    after: Cursor,
    limit: i64,
) -> Result<Vec<RecordedEvent>, sqlx::Error> {
    sqlx::query(READ_ALL)
        .bind(after.transaction_id)
        .bind(after.position)
        .bind(limit)
        .try_map(|row: PgRow| event_from_row(&row))
        .fetch_all(executor)
        .await
}

pub fn event_from_row(row: &PgRow) -> Result<RecordedEvent, sqlx::Error> {
    Ok(RecordedEvent {
        position: row.try_get(0)?,
        transaction_id: row.try_get(1)?,
        event_id: row.try_get(2)?,
        stream_id: row.try_get(3)?,
        stream_version: row.try_get(4)?,
        event_type: row.try_get(5)?,
        schema_version: row.try_get(6)?,
        data: row.try_get(7)?,
        metadata: row.try_get(8)?,
        tags: row.try_get(9)?,
        recorded_at: row.try_get(10)?,
        prev_hash: row.try_get(11)?,
        hash: row.try_get(12)?,
    })
}
