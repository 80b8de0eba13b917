//! `GET /healthz`: 200 when the database answers and its schema is in place, else 503.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::AppState;

const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize)]
pub struct Health {
    status: &'static str,
    database: &'static str,
}

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
        }),
    )
}
