//! `GET /healthz`: 200 when the database answers and its schema is in place, else 503;
//! with, in brief, how far each projection is behind the log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::AppState;

const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize)]
pub struct Health {
    status: &'static str,
    database: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    projections: BTreeMap<String, ProjectionHealth>,
}

#[derive(Debug, Serialize)]
pub struct ProjectionHealth {
    position: i64,
    /// Events after the projection's checkpoint (counted up to 10 000).
    lag_events: i64,
}

const PROJECTION_LAG: &str = "
    SELECT c.name, c.position,
           (SELECT count(*) FROM (SELECT 1 FROM events e
                                  WHERE (e.transaction_id, e.position) > (c.transaction_id::text::xid8, c.position)
                                  LIMIT 10000) pending)
    FROM projection_checkpoints c ORDER BY c.name";

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let answers = tokio::time::timeout(
        DATABASE_CHECK_TIMEOUT,
        sqlx::query("SELECT 1").execute(&state.pool),
    )
    .await
    .is_ok_and(|result| result.is_ok());
    let database = match (answers, state.schema_ready.load(Ordering::Acquire)) {
        (false, _) => "unreachable",
        (true, false) => "migrating",
        (true, true) => "ok",
    };
    let mut projections = BTreeMap::new();
    if database == "ok"
        && let Ok(Ok(rows)) = tokio::time::timeout(
            DATABASE_CHECK_TIMEOUT,
            sqlx::query_as::<_, (String, i64, i64)>(PROJECTION_LAG).fetch_all(&state.pool),
        )
        .await
    {
        for (name, position, lag_events) in rows {
            projections.insert(
                name,
                ProjectionHealth {
                    position,
                    lag_events,
                },
            );
        }
    }
    let status = if database == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let label = if status.is_success() {
        "ok"
    } else {
        "unavailable"
    };
    (
        status,
        Json(Health {
            status: label,
            database,
            projections,
        }),
    )
}
