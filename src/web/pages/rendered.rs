//! Parts of pages kept rendered while the read models under them stand still.
//!
//! A read model changes only when its projection applies a batch that changes its tables,
//! and each such batch moves the projection's *generation* on, in the batch's own
//! transaction (`projection_checkpoints.generation`; batches over events the projection
//! ignores leave it where it was). So a part rendered from a set of projections is the same
//! for as long as their generations are: a page reads where every projection stands (one
//! small query, [`Standing`]) and reuses a part only when the projections it was rendered
//! from stand where they stood then. While one request renders a part, the others asking
//! for it wait for that rendering instead of repeating it (the council's view aggregates
//! over the whole log; 32 people opening it at once should cost one aggregation, not 32).
//!
//! A page is cut into parts by what they read (the council's flow of items apart from the
//! activity matrix; a strategy's activity apart from its open cases), so that a new
//! activity renders again only what shows activities.
//!
//! What a part shows besides the read models: the plan's titles and the areas' names, whose
//! versions [`Standing`] holds too; and text opened with a subject's key. Erasure destroys
//! keys outside the projections, so [`Standing`] also counts the keys destroyed: after an
//! erasure no part rendered before it is shown again.
//!
//! The key of a part names everything else it depends on: the page, its filters and
//! paging, the calendar day (for ages and "silent for 90 days") and what the viewer may
//! read (secret text). The space is bounded by a byte budget; the oldest parts go first.

use maud::PreEscaped;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

use crate::app::AppError;
use crate::web::AppState;

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
    /// Where the projections read (and the erasures) stood when the slot was made.
    version: Vec<i64>,
    html: OnceCell<Arc<str>>,
    /// Bytes counted against the budget for this slot (0 until filled and counted).
    counted: AtomicUsize,
}

/// Where the read models stand: each projection's generation, how many subjects' keys have
/// been destroyed, and the versions of the plan and the areas (whose titles and names every
/// part shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    generations: Vec<(String, i64)>,
    erased: i64,
    plan: i64,
    areas: i64,
}

impl Standing {
    /// Reads where the read models stand now.
    pub async fn now(state: &AppState) -> Result<Self, AppError> {
        Self::read(&state.pool, &state.queries.naming().await?).await
    }

    /// Reads where the read models stand now on `db` (a connection the page goes on to
    /// read with), with the plan and the areas as `naming` holds them.
    pub async fn read(
        db: impl sqlx::PgExecutor<'_>,
        naming: &crate::queries::timeline::Naming,
    ) -> Result<Self, AppError> {
        let (generations, erased): (sqlx::types::Json<Vec<(String, i64)>>, i64) = sqlx::query_as(
            "SELECT (SELECT coalesce(json_agg(json_build_array(name, generation)), '[]')
                         FROM projection_checkpoints),
                        coalesce((SELECT destroyed FROM key_destructions), 0)",
        )
        .fetch_one(db)
        .await?;
        Ok(Self {
            generations: generations.0,
            erased,
            plan: naming.plan.version,
            areas: naming.areas.version,
        })
    }

    /// The generations of `reads` (-1 for a projection not started yet), then the
    /// erasures and the plan's and the areas' versions.
    fn version(&self, reads: &[&str]) -> Vec<i64> {
        reads
            .iter()
            .map(|name| {
                self.generations
                    .iter()
                    .find(|(found, _)| found == name)
                    .map_or(-1, |(_, generation)| *generation)
            })
            .chain([self.erased, self.plan, self.areas])
            .collect()
    }
}

impl Rendered {
    /// The part under `key`, rendered by `render` unless it was rendered while the
    /// projections named in `reads` stood where they stand in `standing`.
    pub async fn get_or_render<E, F, Fut>(
        &self,
        standing: &Standing,
        reads: &[&str],
        key: String,
        render: F,
    ) -> Result<PreEscaped<Arc<str>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, E>>,
    {
        let slot = self.slot(&key, standing.version(reads));
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
