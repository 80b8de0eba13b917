//! Announcing appends: an in-process watch for readers in this instance, and a coalesced
//! `pg_notify` for readers in other instances.
//!
//! The NOTIFY is deliberately not part of the append transaction. PostgreSQL serialises
//! the commits of all transactions that queued a notification (they take one lock on the
//! notification queue until their commit record is flushed), which would undo group commit
//! for concurrent appends. Instead one task per instance sends a notification after
//! appends, at most one every few milliseconds, carrying the newest position it knows of. Readers treat
//! it as a hint to poll; polling below the horizon is the truth.

use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use super::{Cursor, NOTIFY_CHANNEL};

/// Shared by every clone of an [`super::EventStore`].
#[derive(Clone)]
pub struct AppendNotifier {
    latest: Arc<watch::Sender<Cursor>>,
}

impl AppendNotifier {
    pub(super) fn start(pool: PgPool) -> Self {
        let (sender, receiver) = watch::channel(Cursor::START);
        tokio::spawn(announce(pool, receiver));
        Self {
            latest: Arc::new(sender),
        }
    }

    /// Records that events up to `cursor` were appended by this instance.
    pub fn appended(&self, cursor: Cursor) {
        self.latest.send_if_modified(|latest| {
            if cursor > *latest {
                *latest = cursor;
                true
            } else {
                false
            }
        });
    }

    /// A receiver that changes whenever this instance appends.
    pub fn subscribe(&self) -> watch::Receiver<Cursor> {
        self.latest.subscribe()
    }
}

/// At most one notification per this interval, however many appends happen.
const MIN_INTERVAL: Duration = Duration::from_millis(25);

async fn announce(pool: PgPool, mut appended: watch::Receiver<Cursor>) {
    while appended.changed().await.is_ok() {
        tokio::time::sleep(MIN_INTERVAL).await;
        let position = appended.borrow_and_update().position.to_string();
        if let Err(error) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(position)
            .execute(&pool)
            .await
        {
            // Other instances fall back to polling; nothing is lost.
            tracing::debug!(%error, "could not announce an append");
        }
    }
}
