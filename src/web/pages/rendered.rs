//! Parts of pages kept rendered while the read models under them stand still.
//!
//! A read model changes only when its projection moves its checkpoint, so a part rendered
//! from a set of projections is the same for as long as their checkpoints are: a request
//! reads those checkpoints (one small query) and reuses the part only when they are where
//! they were when it was rendered. While one request renders a part, the others asking for
//! it wait for that rendering instead of repeating it (the council's view aggregates over
//! the whole log; 32 people opening it at once should cost one aggregation, not 32).
//!
//! The key of a part names everything else it depends on: the page, its filters and
//! paging, the calendar day (for ages and "silent for 90 days") and what the viewer may
//! read (secret text). The space is bounded by a byte budget; the oldest parts go first.
//!
//! What a part can show late: an erasure destroys a key when its event is appended, and a
//! part rendered before stays until the projections apply that event (milliseconds; the
//! erasing user's own next page waits for it, as every page after a change does).

use maud::PreEscaped;
use sqlx::PgPool;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Bytes of rendered HTML (with keys) kept at most.
const BUDGET: usize = 16 * 1024 * 1024;

/// The rendered parts of this instance's pages.
#[derive(Clone, Default)]
pub struct Rendered {
    inner: Arc<Mutex<Parts>>,
}

#[derive(Default)]
struct Parts {
    slots: HashMap<String, Arc<Slot>>,
    /// Keys in the order their slots were made, oldest first (for eviction).
    order: VecDeque<String>,
    bytes: usize,
}

struct Slot {
    /// The checkpoints (positions) of the projections read, when the slot was made.
    version: Vec<i64>,
    html: OnceCell<Arc<str>>,
    /// Bytes counted against the budget for this slot (0 until filled and counted).
    counted: AtomicUsize,
}

impl Rendered {
    /// The part under `key`, rendered by `render` unless it was rendered while the
    /// projections named in `reads` stood where they stand now.
    pub async fn get_or_render<E, F, Fut>(
        &self,
        pool: &PgPool,
        reads: &[&str],
        key: String,
        render: F,
    ) -> Result<PreEscaped<Arc<str>>, E>
    where
        E: From<sqlx::Error>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>>,
    {
        let version = checkpoints(pool, reads).await?;
        let slot = self.slot(&key, version);
        let html = slot
            .html
            .get_or_try_init(|| async { render().await.map(Arc::<str>::from) })
            .await?
            .clone();
        self.account(&key, &slot, html.len());
        Ok(PreEscaped(html))
    }

    /// The slot for `key` at `version`: the existing one if it is at that version, else a
    /// new, empty one in its place.
    fn slot(&self, key: &str, version: Vec<i64>) -> Arc<Slot> {
        let mut parts = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = parts.slots.get(key)
            && slot.version == version
        {
            return slot.clone();
        }
        let slot = Arc::new(Slot {
            version,
            html: OnceCell::new(),
            counted: AtomicUsize::new(0),
        });
        if let Some(old) = parts.slots.insert(key.to_owned(), slot.clone()) {
            parts.bytes -= old.counted.load(Ordering::Relaxed);
        } else {
            parts.order.push_back(key.to_owned());
        }
        slot
    }

    /// Counts a newly filled slot against the budget (once) and evicts the oldest parts
    /// while over it.
    fn account(&self, key: &str, slot: &Arc<Slot>, len: usize) {
        let mut parts = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let current = parts.slots.get(key).is_some_and(|s| Arc::ptr_eq(s, slot));
        let size = len + key.len();
        if !current
            || slot
                .counted
                .compare_exchange(0, size, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        parts.bytes += size;
        while parts.bytes > BUDGET {
            let Some(oldest) = parts.order.pop_front() else {
                break;
            };
            if let Some(slot) = parts.slots.remove(&oldest) {
                parts.bytes -= slot.counted.load(Ordering::Relaxed);
            }
        }
    }
}

/// The checkpoint positions of `names`, in the order given (missing ones as -1).
async fn checkpoints(pool: &PgPool, names: &[&str]) -> sqlx::Result<Vec<i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, position FROM projection_checkpoints WHERE name = ANY($1)")
            .bind(names)
            .fetch_all(pool)
            .await?;
    Ok(names
        .iter()
        .map(|name| {
            rows.iter()
                .find(|(found, _)| found == name)
                .map_or(-1, |(_, position)| *position)
        })
        .collect())
}
