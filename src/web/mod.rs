//! The web layer: the JSON API, the HTML pages and the health check, over one state.

mod health;

use axum::Router;
use axum::routing::get;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tower_http::trace::TraceLayer;

use crate::event_log::EventStore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub events: EventStore,
    /// Set once the migrations have been applied.
    pub schema_ready: Arc<AtomicBool>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
