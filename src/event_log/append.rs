//! Appending a batch of events to one stream: one statement, one round trip.
//!
//! Two statements do it, both a single round trip, both with the batch as typed arrays:
//!
//! - When Insats knows the hash at the expected version (a new stream starts at the genesis
//!   hash; otherwise the [`super::heads::HeadCache`] remembers the last (version, hash) it
//!   saw per stream, and a (stream, version) pair's hash never changes), it computes the
//!   chain itself and the statement is a plain insert, guarded by "the expected head exists
//!   with that hash".
//! - Otherwise (an [`ExpectedVersion::Any`] append, or a head it has not seen) the statement
//!   finds the head itself and extends the chain with `sha256()` in a recursive query.
//!
//! Both produce the same hashes. The unique index on (stream, version) is what finally
//! serialises concurrent appends to one stream; appends to different streams never wait
//! for each other. When the insert fails or finds no head, a second query tells a retried
//! append (same ids, same content: the original result is returned) from a conflicting one.

use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use std::collections::HashSet;
use time::OffsetDateTime;
use uuid::Uuid;

use super::chain::{self, EventBody, GENESIS, Hash};
use super::{Cursor, EventStore, ExpectedVersion, NewEvent};

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AppendResult {
    /// Global position of the batch's first and last event.
    pub first_position: i64,
    pub last_position: i64,
    /// Stream version of the batch's last event.
    pub last_version: i64,
    /// Commit-order cursor of the batch's last event: a reader that has passed it has
    /// seen the whole batch.
    pub cursor: Cursor,
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("stream {stream_id} is at version {actual}, not at the expected {expected:?}")]
    WrongExpectedVersion {
        stream_id: String,
        expected: ExpectedVersion,
        /// The stream's current version; 0 when it has no events.
        actual: i64,
    },
    #[error("event {event_id} was already appended with different content")]
    EventIdConflict { event_id: Uuid },
    #[error("invalid batch: {0}")]
    InvalidBatch(&'static str),
    #[error("the event log could not be written")]
    Database(#[from] sqlx::Error),
}

/// How often an [`ExpectedVersion::Any`] append retries after losing a race.
const ANY_RETRIES: usize = 64;

/// `$1` stream, `$2` expected version (0: new stream), `$3` the hash at `$2`, `$4`
/// recorded_at, `$5`… the batch, carrying its own `prev_hash` and `hash`.
const APPEND_WITH_KNOWN_HEAD: &str = "
    INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version,
                        data, metadata, tags, recorded_at, prev_hash, hash)
    SELECT b.event_id, $1, $2 + b.ord, b.event_type, b.schema_version, b.data, b.metadata,
           $10[b.tag_from:b.tag_to], $4, b.prev_hash, b.hash
    FROM unnest($5::uuid[], $6::text[], $7::int4[], $8::jsonb[], $9::jsonb[], $11::int4[],
                $12::int4[], $13::bytea[], $14::bytea[])
         WITH ORDINALITY AS b(event_id, event_type, schema_version, data, metadata, tag_from,
                              tag_to, prev_hash, hash, ord)
    WHERE $2 = 0
       OR EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND stream_version = $2 AND hash = $3)
    ORDER BY b.ord
    RETURNING position, stream_version, transaction_id::text::bigint, hash";

/// `$1` stream, `$2` expected version (0: new stream, -1: whatever the head is), `$3`
/// recorded_at, `$4`… the batch with each event's body digest; the head is found here.
macro_rules! append_finding_head {
    ($head:literal) => {
        concat!(
            "WITH RECURSIVE head AS (",
            $head,
            "), start AS (
                SELECT stream_version AS v, hash AS h FROM head
                UNION ALL
                -- A new stream starts after the genesis hash (32 zero bytes, chain::GENESIS).
                SELECT 0, decode(repeat('00', 32), 'hex') WHERE $2 <= 0 AND NOT EXISTS (SELECT 1 FROM head)
            ), batch AS (
                SELECT * FROM unnest($4::uuid[], $5::text[], $6::int4[], $7::jsonb[], $8::jsonb[],
                                     $10::int4[], $11::int4[], $12::bytea[])
                     WITH ORDINALITY AS b(event_id, event_type, schema_version, data, metadata,
                                          tag_from, tag_to, digest, ord)
            ), chain AS (
                SELECT 0::bigint AS ord, v::bigint AS v, NULL::bytea AS prev, h FROM start
                UNION ALL
                SELECT b.ord, c.v + 1, c.h, sha256(c.h || int8send(c.v + 1) || b.digest)
                FROM chain c JOIN batch b ON b.ord = c.ord + 1
            )
            INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version,
                                data, metadata, tags, recorded_at, prev_hash, hash)
            SELECT b.event_id, $1, c.v, b.event_type, b.schema_version, b.data, b.metadata,
                   $9[b.tag_from:b.tag_to], $3, c.prev, c.h
            FROM chain c JOIN batch b ON b.ord = c.ord
            ORDER BY c.ord
            RETURNING position, stream_version, transaction_id::text::bigint, hash"
        )
    };
}

const APPEND_AT_VERSION: &str = append_finding_head!(
    "SELECT stream_version, hash FROM events WHERE stream_id = $1 AND stream_version = $2"
);
const APPEND_AT_END: &str = append_finding_head!(
    "SELECT stream_version, hash FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1"
);

const FIND_EARLIER_APPEND: &str = "
    SELECT e.position, e.stream_version, e.transaction_id::text::bigint, e.hash,
           (e.stream_id = $1 AND e.event_type = b.event_type
            AND e.schema_version = b.schema_version AND e.data = b.data) AS same_content,
           e.event_id
    FROM unnest($2::uuid[], $3::text[], $4::int4[], $5::jsonb[])
         AS b(event_id, event_type, schema_version, data)
    JOIN events e ON e.event_id = b.event_id";

const STREAM_VERSION: &str =
    "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1";

/// A batch as the append statements receive it: one array per column.
struct Batch<'a> {
    recorded_at: OffsetDateTime,
    event_ids: Vec<Uuid>,
    event_types: Vec<&'a str>,
    schema_versions: Vec<i32>,
    data: Vec<Json<&'a Value>>,
    metadata: Vec<Json<&'a Value>>,
    /// All tags, one after the other; event `i` has `tags[tag_from[i]..=tag_to[i]]` (1-based).
    tags: Vec<&'a str>,
    tag_from: Vec<i32>,
    tag_to: Vec<i32>,
    digests: Vec<Hash>,
}

impl EventStore {
    /// Appends `events` to `stream_id` if the stream is where `expected` says.
    ///
    /// Retrying an append with the same event ids and the same content returns the
    /// original result and writes nothing. An event id that exists with other content is
    /// an [`AppendError::EventIdConflict`].
    pub async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, AppendError> {
        let batch = Batch::prepare(stream_id, expected, events)?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            // After a lost race, an `Any` append asks the database for the head.
            let head = if attempts == 1 {
                self.known_head(stream_id, expected)
            } else {
                None
            };
            let mut connection = self.pool.acquire().await?;
            match insert(&mut connection, stream_id, expected, head, &batch).await {
                Ok(Some((result, last_hash))) => {
                    self.heads
                        .remember(stream_id, result.last_version, &last_hash);
                    self.notifier.appended(result.cursor);
                    return Ok(result);
                }
                Ok(None) => {}
                Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {}
                Err(error) => return Err(error.into()),
            }
            drop(connection);

            if let Some(result) = self.earlier_append(stream_id, &batch).await? {
                return Ok(result);
            }
            if expected == ExpectedVersion::Any && attempts < ANY_RETRIES {
                tokio::task::yield_now().await;
                continue;
            }
            return Err(self.wrong_version(stream_id, expected).await?);
        }
    }

    /// Appends inside the caller's transaction on `connection`; the events become visible
    /// when it commits. A conflict aborts the transaction: the caller rolls back (and may
    /// retry the whole transaction). Retries of stored batches are recognised only by
    /// [`EventStore::append`].
    pub async fn append_in(
        &self,
        connection: &mut PgConnection,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, AppendError> {
        let batch = Batch::prepare(stream_id, expected, events)?;
        let head = self.known_head(stream_id, expected);
        match insert(connection, stream_id, expected, head, &batch).await {
            // Not remembered as the stream's head: the transaction may still roll back.
            Ok(Some((result, _))) => {
                self.notifier.appended(result.cursor);
                Ok(result)
            }
            Ok(None) => Err(self.wrong_version(stream_id, expected).await?),
            Err(sqlx::Error::Database(error))
                if error.constraint() == Some("events_event_id_unique") =>
            {
                // The conflicting transaction has committed, so the pool sees its rows.
                let event_id = sqlx::query_scalar(
                    "SELECT event_id FROM events WHERE event_id = ANY($1) ORDER BY position LIMIT 1",
                )
                .bind(&batch.event_ids)
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(batch.event_ids[0]);
                Err(AppendError::EventIdConflict { event_id })
            }
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                Err(self.wrong_version(stream_id, expected).await?)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The version of the stream's last event; 0 when the stream has none.
    pub async fn stream_version(&self, stream_id: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(STREAM_VERSION)
            .bind(stream_id)
            .fetch_one(&self.pool)
            .await
    }

    /// The hash at the version this append starts after, when Insats knows it.
    fn known_head(&self, stream_id: &str, expected: ExpectedVersion) -> Option<(i64, Hash)> {
        match expected {
            ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => Some((0, GENESIS)),
            ExpectedVersion::Exact(version) => self
                .heads
                .get(stream_id)
                .filter(|(known, _)| *known == version),
            ExpectedVersion::Any => self.heads.get(stream_id),
        }
    }

    async fn wrong_version(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
    ) -> Result<AppendError, sqlx::Error> {
        Ok(AppendError::WrongExpectedVersion {
            stream_id: stream_id.to_owned(),
            expected,
            actual: self.stream_version(stream_id).await?,
        })
    }

    /// The result of an earlier append of the same batch, if this is a retry of one.
    async fn earlier_append(
        &self,
        stream_id: &str,
        batch: &Batch<'_>,
    ) -> Result<Option<AppendResult>, AppendError> {
        let rows = sqlx::query(FIND_EARLIER_APPEND)
            .bind(stream_id)
            .bind(&batch.event_ids)
            .bind(&batch.event_types)
            .bind(&batch.schema_versions)
            .bind(&batch.data)
            .fetch_all(&self.pool)
            .await?;
        if let Some(row) = rows.iter().find(|row| !row.get::<bool, _>(4)) {
            return Err(AppendError::EventIdConflict {
                event_id: row.get(5),
            });
        }
        match rows.len() {
            0 => Ok(None),
            n if n == batch.event_ids.len() => Ok(Some(result_from_rows(&rows)?.0)),
            // Some of the ids were appended in another batch: not a retry of this one.
            _ => Err(AppendError::EventIdConflict {
                event_id: rows[0].get(5),
            }),
        }
    }
}

/// Runs an append statement: with the chain computed here when the head is known, else
/// letting PostgreSQL find the head. `None` when the expected head does not exist.
async fn insert(
    connection: &mut PgConnection,
    stream_id: &str,
    expected: ExpectedVersion,
    head: Option<(i64, Hash)>,
    batch: &Batch<'_>,
) -> Result<Option<(AppendResult, Vec<u8>)>, sqlx::Error> {
    let rows = match head {
        Some((version, head_hash)) => {
            let (prev_hashes, hashes) = batch.chain(version, head_hash);
            let prev_hashes: Vec<&[u8]> = prev_hashes.iter().map(|h| h.as_slice()).collect();
            let hashes: Vec<&[u8]> = hashes.iter().map(|h| h.as_slice()).collect();
            sqlx::query(APPEND_WITH_KNOWN_HEAD)
                .bind(stream_id)
                .bind(version)
                .bind(head_hash.as_slice())
                .bind(batch.recorded_at)
                .bind(&batch.event_ids)
                .bind(&batch.event_types)
                .bind(&batch.schema_versions)
                .bind(&batch.data)
                .bind(&batch.metadata)
                .bind(&batch.tags)
                .bind(&batch.tag_from)
                .bind(&batch.tag_to)
                .bind(prev_hashes)
                .bind(hashes)
                .fetch_all(connection)
                .await?
        }
        None => {
            let (sql, expected_number) = match expected {
                ExpectedVersion::NoStream => (APPEND_AT_VERSION, 0),
                ExpectedVersion::Exact(version) => (APPEND_AT_VERSION, version),
                ExpectedVersion::Any => (APPEND_AT_END, -1),
            };
            let digests: Vec<&[u8]> = batch.digests.iter().map(|d| d.as_slice()).collect();
            sqlx::query(sql)
                .bind(stream_id)
                .bind(expected_number)
                .bind(batch.recorded_at)
                .bind(&batch.event_ids)
                .bind(&batch.event_types)
                .bind(&batch.schema_versions)
                .bind(&batch.data)
                .bind(&batch.metadata)
                .bind(&batch.tags)
                .bind(&batch.tag_from)
                .bind(&batch.tag_to)
                .bind(digests)
                .fetch_all(connection)
                .await?
        }
    };
    if rows.is_empty() {
        return Ok(None);
    }
    debug_assert_eq!(
        rows.len(),
        batch.event_ids.len(),
        "an append inserts all or none"
    );
    result_from_rows(&rows).map(Some)
}

/// The append's result from its rows (position, version, transaction id, hash), with the
/// hash of its last event.
fn result_from_rows(
    rows: &[sqlx::postgres::PgRow],
) -> Result<(AppendResult, Vec<u8>), sqlx::Error> {
    let mut first_position = i64::MAX;
    let mut last_position = i64::MIN;
    let mut last_version = i64::MIN;
    let mut last_hash = Vec::new();
    let mut transaction_id = 0;
    for row in rows {
        let position: i64 = row.try_get(0)?;
        first_position = first_position.min(position);
        last_position = last_position.max(position);
        let version: i64 = row.try_get(1)?;
        if version > last_version {
            last_version = version;
            last_hash = row.try_get(3)?;
        }
        transaction_id = row.try_get(2)?;
    }
    let result = AppendResult {
        first_position,
        last_position,
        last_version,
        cursor: Cursor::new(transaction_id, last_position),
    };
    Ok((result, last_hash))
}

impl<'a> Batch<'a> {
    /// Validates the batch, stamps it with the time and computes each body digest.
    fn prepare(
        stream_id: &str,
        expected: ExpectedVersion,
        events: &'a [NewEvent],
    ) -> Result<Self, AppendError> {
        validate(stream_id, expected, events)?;
        let recorded_at = chain::truncate_to_micros(OffsetDateTime::now_utc());
        let mut batch = Batch {
            recorded_at,
            event_ids: Vec::with_capacity(events.len()),
            event_types: Vec::with_capacity(events.len()),
            schema_versions: Vec::with_capacity(events.len()),
            data: Vec::with_capacity(events.len()),
            metadata: Vec::with_capacity(events.len()),
            tags: Vec::new(),
            tag_from: Vec::with_capacity(events.len()),
            tag_to: Vec::with_capacity(events.len()),
            digests: Vec::with_capacity(events.len()),
        };
        for event in events {
            batch.digests.push(
                EventBody {
                    event_id: event.event_id,
                    stream_id,
                    event_type: &event.event_type,
                    schema_version: event.schema_version,
                    data: &event.data,
                    metadata: &event.metadata,
                    tags: &event.tags,
                    recorded_at,
                }
                .digest(),
            );
            batch.event_ids.push(event.event_id);
            batch.event_types.push(&event.event_type);
            batch.schema_versions.push(event.schema_version);
            batch.data.push(Json(&event.data));
            batch.metadata.push(Json(&event.metadata));
            // PostgreSQL array slices are 1-based and inclusive; from > to is empty.
            batch.tag_from.push(batch.tags.len() as i32 + 1);
            batch.tags.extend(event.tags.iter().map(String::as_str));
            batch.tag_to.push(batch.tags.len() as i32);
        }
        Ok(batch)
    }

    /// The `prev_hash` and `hash` of each event when the stream is at `version` with
    /// `head_hash`.
    fn chain(&self, version: i64, head_hash: Hash) -> (Vec<Hash>, Vec<Hash>) {
        let mut prev = head_hash;
        let mut prev_hashes = Vec::with_capacity(self.digests.len());
        let mut hashes = Vec::with_capacity(self.digests.len());
        for (offset, digest) in self.digests.iter().enumerate() {
            let hash = chain::link(&prev, version + 1 + offset as i64, digest);
            prev_hashes.push(prev);
            hashes.push(hash);
            prev = hash;
        }
        (prev_hashes, hashes)
    }
}

fn validate(
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<(), AppendError> {
    if matches!(expected, ExpectedVersion::Exact(v) if v < 0) {
        return Err(AppendError::InvalidBatch(
            "an expected version cannot be negative",
        ));
    }
    validate_events(stream_id, events.iter())
}

fn validate_events<'a>(
    stream_id: &str,
    events: impl ExactSizeIterator<Item = &'a NewEvent>,
) -> Result<(), AppendError> {
    if stream_id.is_empty() {
        return Err(AppendError::InvalidBatch("the stream id is empty"));
    }
    if events.len() == 0 {
        return Err(AppendError::InvalidBatch(
            "a batch needs at least one event",
        ));
    }
    let events: Vec<&NewEvent> = events.collect();
    let mut ids = HashSet::with_capacity(events.len());
    if !events.iter().all(|event| ids.insert(event.event_id)) {
        return Err(AppendError::InvalidBatch(
            "an event id appears twice in the batch",
        ));
    }
    if events.iter().any(|event| event.event_type.is_empty()) {
        return Err(AppendError::InvalidBatch("an event has no type"));
    }
    Ok(())
}

/// One stream's part of a bulk load: its events, each with the time it is recorded at,
/// appended after the head the caller knows.
#[derive(Debug, Clone)]
pub struct BulkStream {
    pub stream_id: String,
    /// The stream's version and hash before these events (0 and the genesis hash for a
    /// new stream).
    pub after_version: i64,
    pub after_hash: Hash,
    pub events: Vec<(NewEvent, OffsetDateTime)>,
}

/// A stream's head after a bulk load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkHead {
    pub version: i64,
    pub hash: Hash,
}

const APPEND_BULK: &str = "
    INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version,
                        data, metadata, tags, recorded_at, prev_hash, hash)
    SELECT b.event_id, b.stream_id, b.stream_version, b.event_type, b.schema_version, b.data, b.metadata,
           $1[b.tag_from:b.tag_to], b.recorded_at, b.prev_hash, b.hash
    FROM unnest($2::uuid[], $3::text[], $4::int8[], $5::text[], $6::int4[], $7::jsonb[], $8::jsonb[],
                $9::int4[], $10::int4[], $11::timestamptz[], $12::bytea[], $13::bytea[])
         WITH ORDINALITY AS b(event_id, stream_id, stream_version, event_type, schema_version, data, metadata,
                              tag_from, tag_to, recorded_at, prev_hash, hash, ord)
    ORDER BY b.ord";

impl EventStore {
    /// Appends many streams' events in one statement, with recorded times given by the
    /// caller: for loading history (demo data, migrations from another system), where the
    /// caller is the only writer of these streams and knows their heads. The hash chains
    /// are computed here; the unique (stream, version) and event id indexes still refuse
    /// anything that conflicts. Returns each stream's new head, in input order.
    pub async fn append_bulk(&self, streams: &[BulkStream]) -> Result<Vec<BulkHead>, AppendError> {
        let count: usize = streams.iter().map(|stream| stream.events.len()).sum();
        let mut tags: Vec<&str> = Vec::new();
        let mut columns = (
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
        );
        let mut heads = Vec::with_capacity(streams.len());
        for stream in streams {
            validate_events(
                &stream.stream_id,
                stream.events.iter().map(|(event, _)| event),
            )?;
            let mut prev = stream.after_hash;
            let mut version = stream.after_version;
            for (event, at) in &stream.events {
                version += 1;
                let recorded_at = chain::truncate_to_micros(*at);
                let digest = EventBody {
                    event_id: event.event_id,
                    stream_id: &stream.stream_id,
                    event_type: &event.event_type,
                    schema_version: event.schema_version,
                    data: &event.data,
                    metadata: &event.metadata,
                    tags: &event.tags,
                    recorded_at,
                }
                .digest();
                let hash = chain::link(&prev, version, &digest);
                columns.0.push(event.event_id);
                columns.1.push(stream.stream_id.as_str());
                columns.2.push(version);
                columns.3.push(event.event_type.as_str());
                columns.4.push(event.schema_version);
                columns.5.push(Json(&event.data));
                columns.6.push(Json(&event.metadata));
                columns.7.push(tags.len() as i32 + 1);
                tags.extend(event.tags.iter().map(String::as_str));
                columns.8.push(tags.len() as i32);
                columns.9.push(recorded_at);
                columns.10.push(prev.to_vec());
                columns.11.push(hash.to_vec());
                prev = hash;
            }
            heads.push(BulkHead {
                version,
                hash: prev,
            });
        }
        if count > 0 {
            sqlx::query(APPEND_BULK)
                .bind(&tags)
                .bind(&columns.0)
                .bind(&columns.1)
                .bind(&columns.2)
                .bind(&columns.3)
                .bind(&columns.4)
                .bind(&columns.5)
                .bind(&columns.6)
                .bind(&columns.7)
                .bind(&columns.8)
                .bind(&columns.9)
                .bind(&columns.10)
                .bind(&columns.11)
                .execute(&self.pool)
                .await?;
            let cursor: (i64, i64) = sqlx::query_as(
                "SELECT transaction_id::text::bigint, position FROM events ORDER BY position DESC LIMIT 1",
            )
            .fetch_one(&self.pool)
            .await?;
            self.notifier.appended(Cursor::new(cursor.0, cursor.1));
        }
        for (stream, head) in streams.iter().zip(&heads) {
            self.heads
                .remember(&stream.stream_id, head.version, &head.hash);
        }
        Ok(heads)
    }
}
