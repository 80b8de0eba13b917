//! Running the projections: one task per projection in every Insats instance, of which
//! exactly one at a time applies batches (the holder of the projection's advisory lock);
//! the others stand by and take over within a second or two when it goes away.
//!
//! A batch: read the checkpoint; find the next up to N events in commit order below the
//! horizon; apply them with the projection's statements; move the checkpoint, in the same
//! transaction, only if it still is where it was read (so a batch is applied exactly once
//! even if two runners ever overlap, or a rebuild swapped the tables meanwhile). Woken by
//! this instance's appends and by NOTIFY from other instances; polling is the fallback.

use sqlx::postgres::PgListener;
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::{Names, Projection, rebuild};
use crate::event_log::{Cursor, NOTIFY_CHANNEL};

/// Batches start small (low latency when caught up) and double while they come back full
/// (throughput when far behind).
const SMALL_BATCH: i64 = 500;
const LARGE_BATCH: i64 = 10_000;
/// When nothing wakes a runner, it polls this often.
const POLL: Duration = Duration::from_millis(1000);
/// While events exist that the horizon does not let it read yet, it polls this often.
const HORIZON_POLL: Duration = Duration::from_millis(20);
/// A standby runner tries to take over this often.
const STANDBY_RETRY: Duration = Duration::from_millis(1000);

/// The advisory lock key of a projection's leadership.
pub fn lock_key(projection: &Projection) -> i64 {
    // "INSATS" in the high bits, the projection's index below.
    let index = super::ALL
        .iter()
        .position(|candidate| candidate.name == projection.name)
        .unwrap_or(0) as i64;
    0x494E_5341_5453_0000 | index
}

/// The projection tasks of one instance. Dropping it does not stop them; call `stop`.
pub struct Runtime {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

impl Runtime {
    /// Starts a task per projection, woken by `appended` (this instance's appends) and by
    /// notifications from other instances.
    pub fn start(pool: PgPool, appended: watch::Receiver<Cursor>) -> Self {
        Self::start_some(pool, appended, &super::ALL)
    }

    /// Starts tasks for the given projections only.
    pub fn start_some(
        pool: PgPool,
        appended: watch::Receiver<Cursor>,
        projections: &[&'static Projection],
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        tasks.spawn(listen(
            pool.clone(),
            wake.clone(),
            appended,
            stopped.clone(),
        ));
        for projection in projections {
            tasks.spawn(run(pool.clone(), projection, wake.clone(), stopped.clone()));
        }
        Self { tasks, stop }
    }

    /// Stops every task, letting a batch in flight finish (or roll back).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Stops at once, as a crash would: batches in flight are abandoned mid-way.
    pub fn abort(mut self) {
        self.tasks.abort_all();
    }
}

/// Forwards this instance's appends and other instances' notifications to the runners.
async fn listen(
    pool: PgPool,
    wake: Arc<Notify>,
    mut appended: watch::Receiver<Cursor>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut listener: Option<PgListener> = None;
    let mut appends_open = true;
    loop {
        if listener.is_none() {
            listener = match PgListener::connect_with(&pool).await {
                Ok(mut connected) => match connected.listen(NOTIFY_CHANNEL).await {
                    Ok(()) => Some(connected),
                    Err(_) => None,
                },
                Err(_) => None,
            };
        }
        tokio::select! {
            _ = stopped.changed() => return,
            changed = appended.changed(), if appends_open => {
                // When the event store is gone, only notifications wake the runners.
                appends_open = changed.is_ok();
                wake.notify_waiters();
            }
            notification = async {
                match listener.as_mut() {
                    Some(listener) => listener.try_recv().await.map(|_| ()),
                    None => {
                        tokio::time::sleep(POLL).await;
                        Ok(())
                    }
                }
            } => {
                if notification.is_err() {
                    listener = None;
                }
                wake.notify_waiters();
            }
        }
    }
}

/// One projection's task: stand by until it holds the lock, then apply batches.
async fn run(
    pool: PgPool,
    projection: &'static Projection,
    wake: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        if *stopped.borrow() {
            return;
        }
        match lead(&pool, projection, &wake, &mut stopped).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(projection = projection.name, error = %error, "projection runner paused");
            }
        }
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(STANDBY_RETRY) => {}
        }
    }
}

/// Takes the lead if the lock is free and applies batches until stopped or the lock's
/// connection fails. `Ok` means stopped.
async fn lead(
    pool: &PgPool,
    projection: &'static Projection,
    wake: &Notify,
    stopped: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut lock = pool.acquire().await?.detach();
    let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(lock_key(projection))
        .fetch_one(&mut lock)
        .await?;
    if !acquired {
        anyhow::bail!("another instance leads");
    }
    tracing::info!(projection = projection.name, "leading the projection");
    let result = apply_while_leading(pool, projection, wake, stopped, &mut lock).await;
    // Closing the connection releases the lock.
    let _ = lock.close().await;
    result
}

async fn apply_while_leading(
    pool: &PgPool,
    projection: &'static Projection,
    wake: &Notify,
    stopped: &mut watch::Receiver<bool>,
    lock: &mut PgConnection,
) -> anyhow::Result<()> {
    ensure_ready(pool, projection).await?;
    let names = Names::live();
    let mut limit = SMALL_BATCH;
    loop {
        if *stopped.borrow() {
            return Ok(());
        }
        // Register interest before working, so a wake-up during the batch is not lost.
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();

        let outcome = apply_batch(pool, projection, &names, limit).await?;
        let pause = match outcome {
            Batch::Applied { events } if events >= limit as u64 => {
                limit = (limit * 2).min(LARGE_BATCH);
                continue;
            }
            Batch::Applied { .. } => {
                limit = SMALL_BATCH;
                continue;
            }
            Batch::Moved => continue,
            Batch::Nothing {
                waiting_on_horizon: true,
            } => HORIZON_POLL,
            Batch::Nothing {
                waiting_on_horizon: false,
            } => POLL,
        };
        tokio::select! {
            _ = stopped.changed() => return Ok(()),
            () = &mut woken => {}
            () = tokio::time::sleep(pause) => {
                // Still the leader? The lock lives as long as its connection.
                lock.ping().await?;
            }
        }
    }
}

/// What one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    Applied {
        events: u64,
    },
    /// Nothing readable; `waiting_on_horizon` when events exist that an open transaction
    /// keeps from being read yet.
    Nothing {
        waiting_on_horizon: bool,
    },
    /// The checkpoint moved under the batch (a rebuild was swapped in); nothing applied.
    Moved,
}

/// The end of the next batch after `from`: the count and the cursor of its last event.
const NEXT_BATCH: &str = "
    WITH b AS (
        SELECT transaction_id, position FROM events
        WHERE (transaction_id, position) > ($1::int8::text::xid8, $2)
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, position
        LIMIT $3
    )
    SELECT (SELECT count(*) FROM b), last.transaction_id::text::bigint, last.position
    FROM (SELECT transaction_id, position FROM b ORDER BY transaction_id DESC, position DESC LIMIT 1) last";

/// For a batch's transaction:
/// - it need not wait for its commit to reach the disk: if the server crashes first, the
///   batch's rows and its checkpoint are lost together and the batch is applied again from
///   the log, and writers' commits do not queue behind the projections' flushes;
/// - its statements are planned for the range at hand: a generic plan, made once for any
///   range, expects a third of the log and reads it with parallel workers (or walks the
///   whole log) to apply a few events.
pub const BATCH_SETTINGS: &str =
    "SET LOCAL synchronous_commit = off; SET LOCAL plan_cache_mode = force_custom_plan";

/// Moves the checkpoint from `($5, $6)` to `($2, $3)` past `$4` events, and the generation
/// on by one if the batch's statements inserted, updated or deleted rows of the tables `$7`
/// (PostgreSQL counts them per transaction; where it is told not to count, every batch
/// counts as a change). Moves nothing if the checkpoint is no longer where the batch began.
const MOVE_CHECKPOINT: &str = "
    UPDATE projection_checkpoints
    SET transaction_id = $2, position = $3, events_applied = events_applied + $4, updated_at = now(),
        generation = generation + (
            SELECT CASE WHEN NOT current_setting('track_counts')::bool
                          OR coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) > 0
                        THEN 1 ELSE 0 END
            FROM pg_stat_xact_user_tables
            WHERE schemaname = current_schema() AND relname = ANY($7))
    WHERE name = $1 AND transaction_id = $5 AND position = $6";

/// Applies the next batch of up to `limit` events and moves the checkpoint.
pub async fn apply_batch(
    pool: &PgPool,
    projection: &Projection,
    names: &Names,
    limit: i64,
) -> anyhow::Result<Batch> {
    let mut transaction = pool.begin().await?;
    sqlx::raw_sql(BATCH_SETTINGS)
        .execute(&mut *transaction)
        .await?;
    let (from_transaction, from_position): (i64, i64) = sqlx::query_as(
        "SELECT transaction_id, position FROM projection_checkpoints WHERE name = $1",
    )
    .bind(projection.name)
    .fetch_one(&mut *transaction)
    .await?;
    let from = Cursor::new(from_transaction, from_position);
    let next: Option<(i64, i64, i64)> = sqlx::query_as(NEXT_BATCH)
        .bind(from.transaction_id)
        .bind(from.position)
        .bind(limit)
        .fetch_optional(&mut *transaction)
        .await?;
    let Some((count, to_transaction, to_position)) = next else {
        transaction.rollback().await?;
        // In commit order with a limit, so that PostgreSQL walks the commit-order index
        // from the checkpoint: as `EXISTS (…)` its generic plan scanned the whole log from
        // the start (300 ms at a million events, on every wake-up while writers were busy).
        let pending: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM events WHERE (transaction_id, position) > ($1::int8::text::xid8, $2)
             ORDER BY transaction_id, position LIMIT 1",
        )
        .bind(from.transaction_id)
        .bind(from.position)
        .fetch_optional(pool)
        .await?;
        return Ok(Batch::Nothing {
            waiting_on_horizon: pending.is_some(),
        });
    };
    let to = Cursor::new(to_transaction, to_position);
    projection
        .apply_range(&mut transaction, names, from, to)
        .await?;
    let moved = sqlx::query(MOVE_CHECKPOINT)
        .bind(projection.name)
        .bind(to.transaction_id)
        .bind(to.position)
        .bind(count)
        .bind(from.transaction_id)
        .bind(from.position)
        .bind(projection.table_names())
        .execute(&mut *transaction)
        .await?;
    if moved.rows_affected() != 1 {
        transaction.rollback().await?;
        return Ok(Batch::Moved);
    }
    transaction.commit().await?;
    Ok(Batch::Applied {
        events: count as u64,
    })
}

/// Makes sure the projection's tables exist at its current version: creates them on first
/// run, rebuilds them (blue/green) when the version changed.
pub async fn ensure_ready(pool: &PgPool, projection: &Projection) -> anyhow::Result<()> {
    let version: Option<i32> =
        sqlx::query_scalar("SELECT version FROM projection_checkpoints WHERE name = $1")
            .bind(projection.name)
            .fetch_optional(pool)
            .await?;
    match version {
        Some(version) if version == projection.version => {
            // Tables may be missing if someone dropped them; recreate empty ones is wrong,
            // so rebuild in that case.
            if tables_exist(pool, projection).await? {
                return Ok(());
            }
            rebuild::rebuild(pool, projection, |_, _| {}).await?;
        }
        Some(_) => {
            tracing::info!(
                projection = projection.name,
                "the projection's layout changed: rebuilding it"
            );
            rebuild::rebuild(pool, projection, |_, _| {}).await?;
        }
        None => {
            let mut transaction = pool.begin().await?;
            for table in projection.tables {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP TABLE IF EXISTS {}",
                    table.name
                )))
                .execute(&mut *transaction)
                .await?;
            }
            projection
                .create_tables(&mut transaction, "", false)
                .await?;
            sqlx::query(
                "INSERT INTO projection_checkpoints (name, version) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(projection.name)
            .bind(projection.version)
            .execute(&mut *transaction)
            .await?;
            transaction.commit().await?;
        }
    }
    Ok(())
}

async fn tables_exist(pool: &PgPool, projection: &Projection) -> sqlx::Result<bool> {
    let names = projection.table_names();
    let found: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY($1)")
        .bind(&names)
        .fetch_one(pool)
        .await?;
    Ok(found == names.len() as i64)
}
