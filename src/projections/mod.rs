//! Projections: the read models people look at, built from the log.
//!
//! A projection is a set of tables and a few set-based SQL statements that apply a range
//! of the log, `(from, to]` in commit order, to those tables. The runtime
//! ([`runtime`]) reads the log from the projection's checkpoint below the horizon, applies
//! a batch and moves the checkpoint in the same transaction; [`rebuild`] builds fresh
//! tables from position zero with the same statements and swaps them in. Because the same
//! SQL serves both paths, an incremental build and a rebuild cannot drift apart.
//!
//! The projections: [`timeline`] (each area's timeline), [`cases`] (cases per area),
//! [`council`] (the information flow between forums, the council's reviews) and
//! [`strategy`] (activity per strategy, area and month; status reports; process owners;
//! decisions). See `docs/projections.md`.

pub mod cases;
pub mod council;
pub mod rebuild;
pub mod runtime;
pub mod secrecy;
pub mod status;
pub mod strategy;
pub mod timeline;

use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use tokio::time::Instant;

use crate::event_log::Cursor;

/// One read-model table: its columns and its indexes, with `{t}` standing for the
/// table's name (the live name, or the name of a fresh copy being rebuilt).
pub struct Table {
    pub name: &'static str,
    pub columns: &'static str,
    pub indexes: &'static [&'static str],
    /// Whether the projection's own statements read through the indexes, so a rebuild
    /// needs them from the start (otherwise they are built after loading, which is faster).
    pub indexes_serve_apply: bool,
}

/// A projection: its tables, the statements that apply a range of the log to them, and
/// a version that changes whenever the tables or the statements change.
pub struct Projection {
    pub name: &'static str,
    pub version: i32,
    pub tables: &'static [Table],
    /// Each statement gets `$1, $2` = the cursor after which the range starts and
    /// `$3, $4` = the cursor at which it ends (transaction id, position), and names its
    /// tables as `{table_name}`; `{range}` stands for the range condition on `events e`.
    pub apply: &'static [&'static str],
}

/// The range condition on `events e` for the statements' `{range}`.
pub const RANGE: &str = "(e.transaction_id, e.position) > ($1::int8::text::xid8, $2) \
     AND (e.transaction_id, e.position) <= ($3::int8::text::xid8, $4)";

/// Every projection.
pub const ALL: [&Projection; 5] = [
    &timeline::PROJECTION,
    &cases::PROJECTION,
    &council::PROJECTION,
    &strategy::PROJECTION,
    &secrecy::PROJECTION,
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

    /// The statements with table names resolved (`suffix` is "" for the live tables).
    pub fn apply_sql(&self, suffix: &str) -> Vec<String> {
        self.apply
            .iter()
            .map(|statement| self.resolve(statement, suffix))
            .collect()
    }

    fn resolve(&self, sql: &str, suffix: &str) -> String {
        let mut sql = sql.replace("{range}", RANGE);
        for table in self.tables {
            sql = sql.replace(
                &format!("{{{}}}", table.name),
                &format!("{}{suffix}", table.name),
            );
        }
        sql
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

    /// Creates the indexes that [`Projection::create_tables`] left out for loading.
    pub async fn create_deferred_indexes(
        &self,
        connection: &mut PgConnection,
        suffix: &str,
    ) -> sqlx::Result<()> {
        for table in self
            .tables
            .iter()
            .filter(|table| !table.indexes_serve_apply)
        {
            create_indexes(connection, table, &format!("{}{suffix}", table.name)).await?;
        }
        Ok(())
    }
}

async fn create_indexes(
    connection: &mut PgConnection,
    table: &Table,
    name: &str,
) -> sqlx::Result<()> {
    {
        for index in table.indexes {
            // Unnamed: PostgreSQL picks a free name, so a rebuilt copy never collides.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE INDEX ON {name} {index}"
            )))
            .execute(&mut *connection)
            .await?;
        }
        Ok(())
    }
}

impl Projection {
    /// Applies the log range `(from, to]` to the tables with `suffix`.
    pub async fn apply_range(
        &self,
        connection: &mut PgConnection,
        statements: &[String],
        from: Cursor,
        to: Cursor,
    ) -> sqlx::Result<()> {
        for statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .bind(from.transaction_id)
                .bind(from.position)
                .bind(to.transaction_id)
                .bind(to.position)
                .execute(&mut *connection)
                .await?;
        }
        Ok(())
    }
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
