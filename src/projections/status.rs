//! How far each projection has come, how far behind it is, and why it waits.

use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::ALL;

/// Counting unapplied events stops here (a projection that far behind is rebuilding).
const LAG_COUNT_CAP: i64 = 1_000_000;

#[derive(Debug, Clone, Serialize)]
pub struct ProjectionStatus {
    pub name: &'static str,
    /// The checkpoint: the last applied event's position and transaction id.
    pub position: i64,
    pub transaction_id: i64,
    pub version: Option<i32>,
    pub expected_version: i32,
    pub events_applied: i64,
    /// Events in the log after the checkpoint (capped at a million).
    pub lag_events: i64,
    /// Of those, how many can be read now; the rest wait for older transactions to end.
    pub readable_events: i64,
    /// Seconds since the oldest unapplied event was recorded.
    pub lag_seconds: Option<f64>,
    /// Why it waits, when it does.
    pub waiting: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// The transaction holding the log's horizon back, if one is.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HorizonHolder {
    pub pid: Option<i32>,
    pub database: Option<String>,
    pub state: Option<String>,
    pub open_seconds: Option<f64>,
    pub application: Option<String>,
}

pub async fn all(pool: &PgPool) -> sqlx::Result<Vec<ProjectionStatus>> {
    let mut statuses = Vec::new();
    let holder = horizon_holder(pool).await?;
    for projection in ALL {
        let row: Option<(i64, i64, i32, i64, OffsetDateTime)> = sqlx::query_as(
            "SELECT transaction_id, position, version, events_applied, updated_at FROM projection_checkpoints WHERE name = $1",
        )
        .bind(projection.name)
        .fetch_optional(pool)
        .await?;
        let (transaction_id, position, version, events_applied, updated_at) = match row {
            Some((transaction_id, position, version, applied, updated)) => (
                transaction_id,
                position,
                Some(version),
                applied,
                Some(updated),
            ),
            None => (0, 0, None, 0, None),
        };
        let (lag_events, readable_events, lag_seconds): (i64, i64, Option<f64>) = sqlx::query_as(
            "WITH pending AS (
                 SELECT transaction_id, recorded_at FROM events
                 WHERE (transaction_id, position) > ($1::int8::text::xid8, $2)
                 ORDER BY transaction_id, position LIMIT $3
             )
             SELECT count(*),
                    count(*) FILTER (WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())),
                    extract(epoch FROM now() - min(recorded_at))::float8
             FROM pending",
        )
        .bind(transaction_id)
        .bind(position)
        .bind(LAG_COUNT_CAP)
        .fetch_one(pool)
        .await?;
        let waiting = if version.is_none() {
            Some("not started yet: no instance has run it".to_owned())
        } else if lag_events > 0 && readable_events == 0 {
            Some(match &holder {
                Some(holder) => format!(
                    "waiting for an open transaction to end (pid {}, database {}, {}, open {:.0} s, application {:?}); \
                     events it cannot read yet would otherwise be skipped",
                    holder.pid.unwrap_or_default(),
                    holder.database.as_deref().unwrap_or("?"),
                    holder.state.as_deref().unwrap_or("?"),
                    holder.open_seconds.unwrap_or_default(),
                    holder.application.as_deref().unwrap_or("")
                ),
                None => "waiting for an open transaction to end".to_owned(),
            })
        } else if version != Some(projection.version) {
            Some("its layout changed: it is being rebuilt".to_owned())
        } else {
            None
        };
        statuses.push(ProjectionStatus {
            name: projection.name,
            position,
            transaction_id,
            version,
            expected_version: projection.version,
            events_applied,
            lag_events,
            readable_events,
            lag_seconds: if lag_events > 0 { lag_seconds } else { None },
            waiting,
            updated_at,
        });
    }
    Ok(statuses)
}

/// The oldest transaction that has an id, which is what holds the horizon.
pub async fn horizon_holder(pool: &PgPool) -> sqlx::Result<Option<HorizonHolder>> {
    sqlx::query_as(
        "SELECT pid, datname::text AS database, state, extract(epoch FROM now() - xact_start)::float8 AS open_seconds,
                application_name AS application
         FROM pg_stat_activity
         WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
         ORDER BY age(backend_xid) DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}
