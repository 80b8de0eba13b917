//! Projections: the read models people look at, built from the log.
//!
//! A projection is a set of tables and a function that applies a range of the log,
//! `(from, to]` in commit order, to those tables: it reads the range's events of the types
//! it needs, decoded through the domain's catalogue (which upcasts older schema versions:
//! no projection reads an event's raw JSON), and writes them with set-based statements
//! that take the batch as arrays. The runtime ([`runtime`]) reads the log from the
//! projection's checkpoint below the horizon, applies a batch and moves the checkpoint in
//! the same transaction; [`rebuild`] builds fresh tables from position zero with the same
//! function and swaps them in. Because the same code serves both paths, an incremental
//! build and a rebuild cannot drift apart.
//!
//! The projections: [`timeline`] (each area's timeline), [`cases`] (cases per area),
//! [`council`] (the information flow between forums, the council's reviews) and
//! [`strategy`] (activity per strategy, area and month; status reports; process owners;
//! decisions), [`history`] (what the auditor replays) and [`indicators`] (the key
//! indicators' figures). See `docs/projections.md`.

pub mod cases;
pub mod council;
pub mod history;
pub mod indicators;
pub mod rebuild;
pub mod runtime;
pub mod secrecy;
pub mod status;
pub mod strategy;
pub mod timeline;

use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use tokio::time::Instant;

use crate::domain::catalogue;
use crate::event_log::Cursor;

/// One read-model table: its columns and its indexes, with `{t}` standing for the
/// table's name (the live name, or the name of a fresh copy being rebuilt).
pub struct Table {
    pub name: &'static str,
    pub columns: &'static str,
    /// Each `(columns)` or `USING method (…)`; `UNIQUE (columns)` for a key that a rebuild,
    /// loading rows that are all new, may build after loading too.
    pub indexes: &'static [&'static str],
    /// Whether the projection's own statements read through the indexes, so a rebuild
    /// needs them from the start (otherwise they are built after loading, which is faster).
    pub indexes_serve_apply: bool,
}

/// A projection: its tables, the event types it reads, how it applies a batch of them,
/// and a version that changes whenever the tables or the way they are filled change.
#[derive(Clone, Copy)]
pub struct Projection {
    pub name: &'static str,
    pub version: i32,
    pub tables: &'static [Table],
    /// The event types it reads (names from the catalogue); a batch reads only these.
    pub reads: fn(&catalogue::EventType) -> bool,
    /// Applies a batch of decoded events, in commit order, to the tables `names` gives.
    pub apply: Apply,
    /// How many of a rebuild's chunks may be written at once: 1, unless a batch only adds
    /// rows that depend on no other batch (then two, each on its own connection, so
    /// PostgreSQL writes on both of a small machine's cores).
    pub chunks_at_once: usize,
}

/// How a projection applies a batch: its tables' names (live, or a rebuild's fresh copy),
/// the events, on the batch's transaction.
pub type Apply = for<'a> fn(
    &'a mut PgConnection,
    &'a Names,
    &'a [Applied],
) -> futures_util::future::BoxFuture<'a, sqlx::Result<()>>;

/// The names of a projection's tables: the live ones, or a fresh copy's (`<table>_next`).
pub struct Names {
    suffix: String,
}

impl Names {
    pub fn live() -> Self {
        Self {
            suffix: String::new(),
        }
    }

    pub fn with_suffix(suffix: &str) -> Self {
        Self {
            suffix: suffix.to_owned(),
        }
    }

    /// The name of `table` as this batch writes it.
    pub fn of(&self, table: &str) -> String {
        format!("{table}{}", self.suffix)
    }

    /// `sql` with each `{table}` replaced by that table's name.
    pub fn resolve(&self, sql: &str, tables: &[Table]) -> String {
        let mut sql = sql.to_owned();
        for table in tables {
            sql = sql.replace(&format!("{{{}}}", table.name), &self.of(table.name));
        }
        sql
    }
}

/// An event as a projection applies it: where it is in the log, its envelope, and the
/// event itself decoded through the catalogue (free text taken out, still sealed).
#[derive(Debug, Clone)]
pub struct Applied {
    pub position: i64,
    pub transaction_id: i64,
    pub stream_id: String,
    pub event_type: String,
    pub recorded_at: time::OffsetDateTime,
    pub tags: Vec<String>,
    pub meta: Meta,
    pub event: catalogue::DomainEvent,
    /// The event's free-text fields as stored (sealed), by field.
    pub texts: serde_json::Map<String, serde_json::Value>,
    /// Whether the event's stored data is already in its type's current schema (the
    /// catalogue says), so a read model that keeps the data whole may copy it as stored
    /// instead of writing it again.
    pub stored_as_current: bool,
}

impl Applied {
    /// The values of the event's tags with `prefix` (`area:`, `strategy:` …).
    pub fn tagged<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.tags
            .iter()
            .filter_map(move |tag| tag.strip_prefix(prefix))
    }

    /// A free-text field as stored (sealed), or JSON null when the event has none.
    pub fn text(&self, field: &str) -> serde_json::Value {
        self.texts
            .get(field)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }
}

/// What the projections read of an event's metadata: who acted, in which role and area.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Meta {
    pub actor_name: Option<String>,
    pub role: Option<String>,
    pub area: Option<String>,
    /// The event that led to this one in the same command (the item's answer that closes a
    /// case's escalation), when there is one.
    pub causation_id: Option<uuid::Uuid>,
}

/// The events of a range of the log, in commit order, of the types a projection reads: the
/// range is walked in the commit-order index and the types kept as it goes (`OFFSET 0` keeps
/// the types out of the range's plan), about one index entry and one row per event in the
/// range. PostgreSQL cannot tell how few events a row comparison holds (it guesses a ninth
/// of the log), so left to plan the types and the range together it chose, at a million
/// events, for a write's event or two: every event of the council's types through
/// `events_type` (66 000 index entries, 11–25 ms on every write); for a rebuild's chunk of
/// 50 000, with the plan kept for any range: every entry of the types' index with parallel
/// workers (205 ms for the strategy overview's types, 330 for the timeline's); planned for
/// the chunk's own bounds: the whole log read in parallel and sorted (250–420 ms). Walked,
/// the same chunk takes 55–100 ms, whatever the types.
const READ_RANGE: &str = "
    SELECT position, transaction_id::text::bigint, stream_id, event_type, schema_version, data,
           metadata, tags, recorded_at
    FROM (SELECT * FROM events e
          WHERE (e.transaction_id, e.position) > ($1::int8::text::xid8, $2)
            AND (e.transaction_id, e.position) <= ($3::int8::text::xid8, $4)
          ORDER BY e.transaction_id, e.position
          OFFSET 0) e
    WHERE e.event_type = ANY($5)
    ORDER BY e.transaction_id, e.position";

/// Every projection.
pub const ALL: [&Projection; 7] = [
    &timeline::PROJECTION,
    &cases::PROJECTION,
    &council::PROJECTION,
    &strategy::PROJECTION,
    &secrecy::PROJECTION,
    &history::PROJECTION,
    &indicators::PROJECTION,
];

pub fn by_name(name: &str) -> Option<&'static Projection> {
    ALL.into_iter().find(|projection| projection.name == name)
}

impl Projection {
    /// The names of the live tables.
    pub fn table_names(&self) -> Vec<String> {
        self.tables
            .iter()
            .map(|table| table.name.to_owned())
            .collect()
    }

    /// The event types it reads, by name.
    pub fn event_types(&self) -> Vec<&'static str> {
        catalogue::CATALOGUE
            .iter()
            .filter(|event_type| (self.reads)(event_type))
            .map(|event_type| event_type.name)
            .collect()
    }

    /// Creates the tables (with `suffix`) if they do not exist. `for_loading` leaves out
    /// the indexes the statements do not need (see [`Projection::create_deferred_indexes`]).
    pub async fn create_tables(
        &self,
        connection: &mut PgConnection,
        suffix: &str,
        for_loading: bool,
    ) -> sqlx::Result<()> {
        for table in self.tables {
            let name = format!("{}{suffix}", table.name);
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE IF NOT EXISTS {name} ({})",
                table.columns
            )))
            .execute(&mut *connection)
            .await?;
            if !for_loading || table.indexes_serve_apply {
                create_indexes(connection, table, &name).await?;
            }
        }
        Ok(())
    }

    /// Creates the indexes that [`Projection::create_tables`] left out for loading, two at
    /// once, each on a connection of its own: PostgreSQL builds an index on one core (a
    /// GIN index always; a B-tree with workers only if it has them to spare), and the
    /// timeline's indexes (three then, before its key was one of them) took 9 s one after
    /// another at a million events, 5 s of it the tags'.
    pub async fn create_deferred_indexes(&self, pool: &PgPool, suffix: &str) -> sqlx::Result<()> {
        use futures_util::{StreamExt, TryStreamExt};
        let statements: Vec<String> = self
            .tables
            .iter()
            .filter(|table| !table.indexes_serve_apply)
            .flat_map(|table| {
                let name = format!("{}{suffix}", table.name);
                table
                    .indexes
                    .iter()
                    .map(move |index| create_index(&name, index))
            })
            .collect();
        futures_util::stream::iter(statements)
            .map(|statement| async move {
                let mut transaction = rebuild::unlimited(pool).await?;
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut *transaction)
                    .await?;
                transaction.commit().await
            })
            .buffer_unordered(INDEXES_AT_ONCE)
            .try_collect()
            .await
    }
}

/// How many of a rebuild's deferred indexes are built at once.
const INDEXES_AT_ONCE: usize = 2;

/// The statement that creates `index` on the table `name` (`UNIQUE (…)` a unique one).
/// Unnamed: PostgreSQL picks a free name, so a rebuilt copy never collides.
fn create_index(name: &str, index: &str) -> String {
    match index.strip_prefix("UNIQUE ") {
        Some(columns) => format!("CREATE UNIQUE INDEX ON {name} {columns}"),
        None => format!("CREATE INDEX ON {name} {index}"),
    }
}

async fn create_indexes(
    connection: &mut PgConnection,
    table: &Table,
    name: &str,
) -> sqlx::Result<()> {
    for index in table.indexes {
        sqlx::query(sqlx::AssertSqlSafe(create_index(name, index)))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

impl Projection {
    /// Applies the log range `(from, to]` to the tables `names` gives: reads the events of
    /// the types it reads, decodes them through the catalogue, and applies them. An event
    /// that cannot be decoded is left out with a warning (the log holds only what Insats
    /// wrote, so this means a bug, never a user's input).
    pub async fn apply_range(
        &self,
        connection: &mut PgConnection,
        names: &Names,
        from: Cursor,
        to: Cursor,
    ) -> sqlx::Result<()> {
        let types = self.event_types();
        let rows: Vec<RangeRow> = sqlx::query_as(READ_RANGE)
            .bind(from.transaction_id)
            .bind(from.position)
            .bind(to.transaction_id)
            .bind(to.position)
            .bind(&types)
            .fetch_all(&mut *connection)
            .await?;
        let events: Vec<Applied> = rows
            .into_iter()
            .filter_map(|row| row.decode(self.name))
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        (self.apply)(connection, names, &events).await
    }
}

#[derive(sqlx::FromRow)]
struct RangeRow {
    position: i64,
    transaction_id: i64,
    stream_id: String,
    event_type: String,
    schema_version: i32,
    data: serde_json::Value,
    metadata: MetaColumn,
    tags: Vec<String>,
    recorded_at: time::OffsetDateTime,
}

/// An event's metadata read straight into [`Meta`], with no JSON value in between (a
/// rebuild reads a million); metadata it cannot read is read as none.
struct MetaColumn(Meta);

impl sqlx::Type<sqlx::Postgres> for MetaColumn {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <sqlx::types::Json<Meta> as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <sqlx::types::Json<Meta> as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for MetaColumn {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let meta = <sqlx::types::Json<Meta> as sqlx::Decode<sqlx::Postgres>>::decode(value);
        Ok(Self(meta.map(|json| json.0).unwrap_or_default()))
    }
}

impl RangeRow {
    fn decode(self, projection: &str) -> Option<Applied> {
        let stored_as_current = catalogue::is_current(&self.event_type, self.schema_version);
        match catalogue::decode(&self.event_type, self.schema_version, self.data) {
            Ok(decoded) => Some(Applied {
                stored_as_current,
                position: self.position,
                transaction_id: self.transaction_id,
                stream_id: self.stream_id,
                meta: self.metadata.0,
                event_type: self.event_type,
                recorded_at: self.recorded_at,
                tags: self.tags,
                event: decoded.event,
                texts: decoded.texts,
            }),
            Err(error) => {
                tracing::warn!(
                    projection,
                    position = self.position,
                    error = %error,
                    "a read model leaves out an event it cannot read"
                );
                None
            }
        }
    }
}

/// Several values in one text cell, for a statement that takes a batch as arrays (SQL
/// arrays of arrays must be rectangular): joined by the unit separator, which no tag, id
/// or slug holds. The statement splits them with `string_to_array(…, E'\x1f')`.
pub fn joined<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> String {
    let mut out = String::new();
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push('\u{1f}');
        }
        out.push_str(value.as_ref());
    }
    out
}

/// The checkpoint of a projection: the cursor of the last event it applied.
pub async fn checkpoint(pool: &PgPool, name: &str) -> sqlx::Result<Option<Cursor>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id, position FROM projection_checkpoints WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(transaction_id, position)| Cursor::new(transaction_id, position)))
}

/// Read-your-writes: waits, at most `timeout`, until every named projection has applied
/// the event at `cursor`. Returns whether they all have.
pub async fn wait_for(
    pool: &PgPool,
    names: &[&str],
    cursor: Cursor,
    timeout: Duration,
) -> sqlx::Result<bool> {
    let deadline = Instant::now() + timeout;
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    loop {
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM unnest($1::text[]) AS wanted(name)
             LEFT JOIN projection_checkpoints c USING (name)
             WHERE c.name IS NULL OR (c.transaction_id, c.position) < ($2, $3)",
        )
        .bind(&names)
        .bind(cursor.transaction_id)
        .bind(cursor.position)
        .fetch_one(pool)
        .await?;
        if behind == 0 {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The commit-order cursor of the event at `position`, for a client that only knows the
/// position a command returned.
pub async fn cursor_at(pool: &PgPool, position: i64) -> sqlx::Result<Option<Cursor>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, position FROM events WHERE position = $1",
    )
    .bind(position)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(transaction_id, position)| Cursor::new(transaction_id, position)))
}
