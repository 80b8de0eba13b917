//! Rebuilding a projection blue/green: fresh tables (`<table>_next`) are filled from
//! position zero with the projection's own statements, in chunks (so no long transaction
//! holds the log's horizon back; two at once where the projection's rows depend on no other
//! batch), indexed, then swapped in by renaming, in one short
//! transaction that first catches them up. The live tables keep serving reads, and the
//! live runner keeps applying to them, until the swap.

use sqlx::PgPool;

use super::{Names, Projection};
use crate::event_log::Cursor;

/// Events per rebuild transaction (shared by the chunks written at once).
const CHUNK: i64 = 50_000;
const NEXT: &str = "_next";
const OLD: &str = "_old";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rebuilt {
    pub events: u64,
    pub cursor: Cursor,
}

const CHUNK_END: &str = "
    WITH b AS (
        SELECT transaction_id, position FROM events
        WHERE (transaction_id, position) > ($1::int8::text::xid8, $2)
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, position
        LIMIT $3
    )
    SELECT (SELECT count(*) FROM b), last.transaction_id::text::bigint, last.position
    FROM (SELECT transaction_id, position FROM b ORDER BY transaction_id DESC, position DESC LIMIT 1) last";

/// Rebuilds `projection` from position zero and swaps the result in. `progress` gets
/// (events done, events in the log) after every chunk.
pub async fn rebuild(
    pool: &PgPool,
    projection: &Projection,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<Rebuilt> {
    rebuild_in_chunks_of(pool, projection, CHUNK, progress).await
}

/// [`rebuild`], with `events` read and written per round of chunks (shared by the chunks
/// written at once) instead of 50 000: the tests rebuild a short history in several
/// chunks, so that chunks written at once are covered by them.
pub async fn rebuild_in_chunks_of(
    pool: &PgPool,
    projection: &Projection,
    events: i64,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<Rebuilt> {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    let names = Names::with_suffix(NEXT);

    // Fresh statistics of the log first: without them (a log just loaded in bulk, before
    // autovacuum came by, or a server with autovacuum off) PostgreSQL plans the statements
    // that read it as if it were tiny, and the strategy overview's rebuild of 300 000
    // events took over five minutes instead of nine seconds. Sampling the log costs little
    // next to reading all of it.
    let mut transaction = unlimited(pool).await?;
    sqlx::query("ANALYZE events")
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    let mut connection = pool.acquire().await?;
    for table in projection.tables {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS {}{NEXT}",
            table.name
        )))
        .execute(&mut *connection)
        .await?;
    }
    // Loading without secondary indexes and indexing afterwards is much faster.
    projection
        .create_tables(&mut connection, NEXT, true)
        .await?;
    drop(connection);

    // Each chunk is read and written in a transaction of its own, on a task of its own; a
    // projection whose batches only add rows of their own has two written at once, which
    // may commit in either order. A chunk that fails stops the others (dropping the set).
    let mut cursor = Cursor::START;
    let mut done: u64 = 0;
    let at_once = projection.chunks_at_once.max(1);
    // Chunks written at once share the memory of one chunk.
    let chunk = (events / at_once as i64).max(1);
    let mut writing = tokio::task::JoinSet::new();
    let mut read_to_end = false;
    loop {
        while !read_to_end && writing.len() < at_once {
            match next_chunk(pool, cursor, chunk).await? {
                Some((count, end)) => {
                    writing.spawn(write_chunk(pool.clone(), *projection, cursor, end, count));
                    cursor = end;
                }
                None => read_to_end = true,
            }
        }
        let Some(written) = writing.join_next().await else {
            break;
        };
        done += written??;
        progress(done, total.max(done as i64) as u64);
    }

    projection.create_deferred_indexes(pool, NEXT).await?;
    let mut transaction = unlimited(pool).await?;
    for table in projection.tables {
        let name = format!("{}{NEXT}", table.name);
        sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {name}")))
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;

    let rebuilt = swap(pool, projection, &names, cursor, done).await?;
    progress(rebuilt.events, total.max(rebuilt.events as i64) as u64);
    Ok(rebuilt)
}

/// A transaction with no time limit on its statements, for a rebuild's long ones.
pub(super) async fn unlimited(
    pool: &PgPool,
) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut transaction = pool.begin().await?;
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *transaction)
        .await?;
    Ok(transaction)
}

/// How many events the chunk after `after` (at most `limit`) holds and where it ends (none
/// at the end of the log).
async fn next_chunk(
    pool: &PgPool,
    after: Cursor,
    limit: i64,
) -> sqlx::Result<Option<(u64, Cursor)>> {
    let mut transaction = unlimited(pool).await?;
    let next = chunk_end(&mut transaction, after, limit).await?;
    transaction.commit().await?;
    Ok(next)
}

/// Writes the log range `(from, to]` (`count` events of every type) to the fresh tables,
/// in a transaction of its own. Returns `count`.
async fn write_chunk(
    pool: PgPool,
    projection: Projection,
    from: Cursor,
    to: Cursor,
    count: u64,
) -> sqlx::Result<u64> {
    let mut transaction = unlimited(&pool).await?;
    projection
        .apply_range(&mut transaction, &Names::with_suffix(NEXT), from, to)
        .await?;
    transaction.commit().await?;
    Ok(count)
}

async fn chunk_end(
    connection: &mut sqlx::PgConnection,
    after: Cursor,
    limit: i64,
) -> sqlx::Result<Option<(u64, Cursor)>> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(CHUNK_END)
        .bind(after.transaction_id)
        .bind(after.position)
        .bind(limit)
        .fetch_optional(connection)
        .await?;
    Ok(row.map(|(count, transaction_id, position)| {
        (count as u64, Cursor::new(transaction_id, position))
    }))
}

/// Catches the fresh tables up and swaps them for the live ones, in one transaction.
/// Locking the live tables first waits for the live runner's batch in flight; its next
/// batch finds the checkpoint moved and starts over on the new tables.
async fn swap(
    pool: &PgPool,
    projection: &Projection,
    names: &Names,
    mut cursor: Cursor,
    mut done: u64,
) -> anyhow::Result<Rebuilt> {
    let mut transaction = unlimited(pool).await?;
    let live = projection.table_names();
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY($1)",
    )
    .bind(&live)
    .fetch_all(&mut *transaction)
    .await?;
    if !existing.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            existing.join(", ")
        )))
        .execute(&mut *transaction)
        .await?;
    }
    sqlx::query("SELECT 1 FROM projection_checkpoints WHERE name = $1 FOR UPDATE")
        .bind(projection.name)
        .execute(&mut *transaction)
        .await?;
    while let Some((count, end)) = chunk_end(&mut transaction, cursor, CHUNK).await? {
        projection
            .apply_range(&mut transaction, names, cursor, end)
            .await?;
        cursor = end;
        done += count;
    }
    for table in projection.tables {
        let name = table.name;
        if existing.iter().any(|existing| existing == name) {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {name} RENAME TO {name}{OLD}"
            )))
            .execute(&mut *transaction)
            .await?;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {name}{NEXT} RENAME TO {name}"
        )))
        .execute(&mut *transaction)
        .await?;
        if existing.iter().any(|existing| existing == name) {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {name}{OLD}")))
                .execute(&mut *transaction)
                .await?;
        }
    }
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, transaction_id, position, version, events_applied, updated_at)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position,
             version = excluded.version, events_applied = excluded.events_applied, updated_at = now(),
             generation = projection_checkpoints.generation + 1",
    )
    .bind(projection.name)
    .bind(cursor.transaction_id)
    .bind(cursor.position)
    .bind(projection.version)
    .bind(done as i64)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Rebuilt {
        events: done,
        cursor,
    })
}
