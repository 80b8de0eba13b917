//! The plan in memory, kept up to date with the `plan` stream, and importing plan files.

use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::{AppError, CommandContext, Services};
use crate::domain::area::{self, AreaEvent, Areas};

use crate::domain::plan::document::PlanDocument;
use crate::domain::plan::{self, ImportCounts, Plan, PlanEvent};
use crate::domain::values::Slug;
use crate::event_log::{EventStore, NewEvent};

/// How long a plan read from the log is used before the log is asked for newer events.
/// Plan revisions are rare; a page or a command may see one up to this much later.
const FRESH_FOR: Duration = Duration::from_millis(500);

/// The plan folded from its stream, shared by every request of this instance.
#[derive(Clone, Default)]
pub struct PlanCache {
    inner: Arc<RwLock<Cached>>,
}

#[derive(Default)]
struct Cached {
    plan: Arc<Plan>,
    checked: Option<Instant>,
}

impl PlanCache {
    /// The plan, caught up with the log unless it was checked a moment ago.
    pub async fn current(&self, store: &EventStore) -> Result<Arc<Plan>, AppError> {
        {
            let cached = self
                .inner
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if cached.checked.is_some_and(|at| at.elapsed() < FRESH_FOR) {
                return Ok(cached.plan.clone());
            }
        }
        self.refresh(store).await
    }

    /// The plan, caught up with the log now.
    pub async fn refresh(&self, store: &EventStore) -> Result<Arc<Plan>, AppError> {
        let known = self
            .inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .plan
            .clone();
        let newer = store.read_stream_after(plan::STREAM, known.version).await?;
        let plan = if newer.is_empty() {
            known
        } else {
            let mut plan = (*known).clone();
            for stored in &newer {
                plan = plan.apply(&PlanEvent::decode(&stored.event_type, &stored.data)?);
            }
            Arc::new(plan)
        };
        let mut cached = self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if plan.version >= cached.plan.version {
            cached.plan = plan;
        }
        cached.checked = Some(Instant::now());
        Ok(cached.plan.clone())
    }
}

/// What importing a plan file did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportOutcome {
    /// Events appended to the `plan` stream (0 when the file matched the plan).
    pub plan_events: usize,
    pub counts: ImportCounts,
    pub areas_added: usize,
}

const IMPORT_ATTEMPTS: usize = 3;

impl Services {
    /// Imports a plan file: appends only what differs from the plan in the log, and the
    /// file's areas that do not exist yet, in one transaction.
    pub async fn import_plan(
        &self,
        ctx: &CommandContext,
        text: &str,
    ) -> Result<ImportOutcome, AppError> {
        let document = PlanDocument::parse(text).map_err(|problems| {
            AppError::Domain(crate::domain::DomainError::invalid("plan", problems))
        })?;
        let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
        for attempt in 1..=IMPORT_ATTEMPTS {
            match self.try_import(ctx, &document, &sha256).await {
                Err(AppError::Conflict { .. }) if attempt < IMPORT_ATTEMPTS => continue,
                outcome => return outcome,
            }
        }
        unreachable!("the last attempt returns")
    }

    async fn try_import(
        &self,
        ctx: &CommandContext,
        document: &PlanDocument,
        sha256: &str,
    ) -> Result<ImportOutcome, AppError> {
        let plan = self.plan.refresh(&self.store).await?;
        let plan_events = plan.diff(&document.nodes(), sha256);
        let (areas, areas_version) = self.load::<Areas>(area::STREAM).await?;
        let mut area_events = Vec::new();
        for file_area in &document.areas {
            if areas.get(&file_area.id).is_none() {
                area_events.push(AreaEvent::AreaAdded {
                    id: Slug::parse("id", &file_area.id)
                        .map_err(|error| crate::domain::DomainError::Invalid(vec![error]))?,
                    name: file_area.name.clone(),
                    from_plan: true,
                });
            }
        }
        let counts = match plan_events.last() {
            Some(PlanEvent::Imported { counts, .. }) => *counts,
            _ => ImportCounts::default(),
        };
        let outcome = ImportOutcome {
            plan_events: plan_events.len(),
            counts,
            areas_added: area_events.len(),
        };
        if plan_events.is_empty() && area_events.is_empty() {
            return Ok(outcome);
        }

        let plan_rows: Vec<NewEvent> = plan_events
            .iter()
            .map(|event| {
                NewEvent::new(event.event_type(), event.data())
                    .with_metadata(ctx.metadata(None, None))
                    .with_tags(event.tags(&plan))
            })
            .collect();
        let area_rows = self.to_new_events(
            ctx,
            crate::domain::area::STREAM,
            areas,
            area_events,
            None,
            &plan,
        );

        let mut transaction = self.store.pool().begin().await?;
        if !plan_rows.is_empty() {
            self.store
                .append_in(
                    &mut transaction,
                    plan::STREAM,
                    super::expected(plan.version),
                    &plan_rows,
                )
                .await?;
        }
        if !area_rows.is_empty() {
            self.store
                .append_in(
                    &mut transaction,
                    area::STREAM,
                    super::expected(areas_version),
                    &area_rows,
                )
                .await?;
        }
        transaction.commit().await?;
        self.plan.refresh(&self.store).await?;
        self.areas.forget();
        Ok(outcome)
    }

    /// On first start with an empty log, Insats imports the bundled Växjö plan.
    pub async fn import_bundled_plan_if_empty(&self) -> Result<Option<ImportOutcome>, AppError> {
        if self.store.stream_version(plan::STREAM).await? > 0 {
            return Ok(None);
        }
        let ctx = CommandContext::new(crate::domain::actor::Actor::system());
        let outcome = self.import_plan(&ctx, plan::document::BUNDLED).await?;
        tracing::info!(
            events = outcome.plan_events,
            areas = outcome.areas_added,
            "imported the bundled Växjö plan"
        );
        Ok(Some(outcome))
    }

    /// All areas, in the order they were added (folded in memory, caught up with the log
    /// unless checked a moment ago; a change made through this instance shows at once).
    pub async fn areas(&self) -> Result<Arc<Areas>, AppError> {
        self.areas.current(&self.store).await
    }

    /// Each area's id and name, in the order they were added (for naming forums and areas
    /// in words where the log holds ids).
    pub async fn area_names(&self) -> Result<Vec<(String, String)>, AppError> {
        Ok(self.areas().await?.names())
    }
}

/// The areas folded from their stream, shared by every request of this instance. Pages
/// ask for them several times per request; reading the stream each time cost a query.
#[derive(Clone, Default)]
pub struct AreaCache {
    inner: Arc<RwLock<CachedAreas>>,
}

#[derive(Default)]
struct CachedAreas {
    areas: Arc<Areas>,
    version: i64,
    checked: Option<Instant>,
}

impl AreaCache {
    pub async fn current(&self, store: &EventStore) -> Result<Arc<Areas>, AppError> {
        let known = {
            let cached = self
                .inner
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if cached.checked.is_some_and(|at| at.elapsed() < FRESH_FOR) {
                return Ok(cached.areas.clone());
            }
            (cached.areas.clone(), cached.version)
        };
        let newer = store.read_stream_after(area::STREAM, known.1).await?;
        let mut cached = self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(last) = newer.last()
            && last.stream_version > cached.version
        {
            let mut areas = (*known.0).clone();
            for event in super::decode_all::<Areas>(&newer)? {
                areas = crate::domain::event::Aggregate::apply(areas, &event);
            }
            cached.areas = Arc::new(areas);
            cached.version = last.stream_version;
        }
        cached.checked = Some(Instant::now());
        Ok(cached.areas.clone())
    }

    /// The next read asks the log: this instance has just changed the areas.
    pub fn forget(&self) {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .checked = None;
    }
}
