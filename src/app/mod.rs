//! The application services: load an aggregate from its stream, let the domain decide,
//! append the events with the version that was loaded, tagged and with the actor's
//! metadata. The web layer and the CLI call these; they never touch the log directly.

mod commands;
pub mod follow_up;
pub mod indicators;
mod plan;
mod privacy;
pub mod submission;

use serde_json::{Value, json};
use std::sync::Arc;
use time::Date;
use uuid::Uuid;

use crate::domain::DomainError;
use crate::domain::actor::Actor;
use crate::domain::event::{self, Aggregate, DecodeError};
use crate::event_log::{
    AppendError, AppendResult, Cursor, EventStore, ExpectedVersion, NewEvent, RecordedEvent,
};

pub use commands::*;
pub use follow_up::{IssuedReport, ReportCheck};
pub use indicators::{FetchFailed, IndicatorValueInput, Recorded, Units};
pub use plan::{ImportOutcome, PlanCache};
pub use privacy::{ErasureTarget, RetentionCandidate, SecrecyTarget};
pub use submission::Submission;

/// Who is acting and in which request: becomes every event's metadata.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub actor: Actor,
    pub correlation_id: Uuid,
    pub request_id: Option<String>,
    /// The request's one-time key, when it may arrive twice (a form, a retried API call).
    pub submission: Option<Submission>,
}

impl CommandContext {
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            correlation_id: Uuid::now_v7(),
            request_id: None,
            submission: None,
        }
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// The metadata of an event this command appends. `causation_id` is the event that
    /// led to it, when there is one (the item whose answer closes an escalation).
    fn metadata(&self, area: Option<&str>, causation_id: Option<Uuid>) -> Value {
        let mut metadata = json!({
            "actor": self.actor.user_id,
            "actor_name": self.actor.name,
            "role": self.actor.role,
            "correlation_id": self.correlation_id,
        });
        if let Some(area) = area {
            metadata["area"] = json!(area);
        }
        if let Some(causation_id) = causation_id {
            metadata["causation_id"] = json!(causation_id);
        }
        if let Some(request_id) = &self.request_id {
            metadata["request_id"] = json!(request_id);
        }
        metadata
    }
}

/// What a command did: the id of what it created or changed, and where its events landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Done {
    pub id: Uuid,
    /// The log position of the command's last event.
    pub position: i64,
    /// The commit-order cursor of the command's last event (for read-your-writes).
    pub cursor: Cursor,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Someone else changed the same thing at the same time.
    #[error("a concurrent change to {stream_id}")]
    Conflict { stream_id: String },
    /// The acting user may not do this. The message is Swedish, for the user.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A submission key (a form's, an Idempotency-Key) came again with other content.
    #[error("a submission key was reused for another request")]
    SubmissionReused,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        // Text PostgreSQL cannot store or compare (a NUL character) is the caller's input,
        // not a failure of the database.
        if let sqlx::Error::Database(database) = &error
            && matches!(database.code().as_deref(), Some("22021" | "22P05"))
        {
            return AppError::Domain(DomainError::Invalid(vec![crate::domain::FieldError::new(
                "text",
                "Texten innehåller ett tecken som inte kan sparas (till exempel ett nolltecken).",
            )]));
        }
        AppError::Internal(anyhow::Error::new(error).context("Failed to reach the event log"))
    }
}

impl From<DecodeError> for AppError {
    fn from(error: DecodeError) -> Self {
        AppError::Internal(anyhow::Error::new(error).context("Failed to read an event"))
    }
}

impl From<AppendError> for AppError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::WrongExpectedVersion { stream_id, .. } => AppError::Conflict { stream_id },
            // Events with these ids are in the log already: the same request, recorded long
            // enough ago that its key has been forgotten.
            AppendError::EventIdConflict { .. } => AppError::Domain(DomainError::conflict(
                "Det här är redan sparat: formuläret eller förfrågan har skickats förut.",
            )),
            other => AppError::Internal(
                anyhow::Error::new(other).context("Failed to append to the event log"),
            ),
        }
    }
}

impl AppError {
    /// The HTTP status this error is answered with, by the API and the pages alike: 422 for
    /// invalid input, 404 for something that does not exist, 409 for a state that does not
    /// allow it or a concurrent change, 403 for what the actor may not do, 503 when the
    /// database is out of reach, 500 for a fault in Insats.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Domain(DomainError::Invalid(_)) | AppError::SubmissionReused => 422,
            AppError::Domain(DomainError::NotFound(_)) => 404,
            AppError::Domain(DomainError::Conflict(_)) | AppError::Conflict { .. } => 409,
            AppError::Forbidden(_) => 403,
            AppError::Internal(error) if is_unavailable(error) => 503,
            AppError::Internal(_) => 500,
        }
    }

    /// What the person is told, in Swedish, one sentence per problem.
    pub fn messages(&self) -> Vec<(Option<String>, String)> {
        match self {
            AppError::Domain(DomainError::Invalid(errors)) => errors
                .iter()
                .map(|error| (Some(error.field.clone()), error.message.clone()))
                .collect(),
            AppError::Domain(DomainError::NotFound(message))
            | AppError::Domain(DomainError::Conflict(message))
            | AppError::Forbidden(message) => vec![(None, message.clone())],
            AppError::Conflict { .. } => vec![(
                None,
                "Någon annan ändrade samma sak samtidigt. Läs in den igen och försök på nytt."
                    .into(),
            )],
            AppError::SubmissionReused => vec![(
                None,
                "Det här har redan skickats en gång, med annat innehåll.".into(),
            )],
            AppError::Internal(_) if self.status() == 503 => vec![(
                None,
                "Databasen svarar inte just nu. Försök igen om en stund.".into(),
            )],
            AppError::Internal(_) => vec![(
                None,
                "Något gick fel hos Insats. Försök igen om en stund.".into(),
            )],
        }
    }
}

/// Whether the database was out of reach (down, restarting, recovering, refusing
/// connections), as opposed to a fault in Insats.
pub fn is_unavailable(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| match cause.downcast_ref::<sqlx::Error>() {
            Some(
            sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            // A connection cut mid-message reads as a protocol error.
            | sqlx::Error::Protocol(_),
        ) => true,
            // SQLSTATE classes 08 (connection exception), 53 (insufficient resources) and 57
            // (operator intervention: shutdown, crash, "the database system is starting up").
            Some(sqlx::Error::Database(database)) => database.code().is_some_and(|code| {
                code.starts_with("08") || code.starts_with("53") || code.starts_with("57")
            }),
            _ => false,
        })
}

/// Asks the access rules whether the context's actor may do `action`.
pub fn allow(ctx: &CommandContext, action: &crate::access::Action<'_>) -> Result<(), AppError> {
    crate::access::authorize(&ctx.actor, action).map_err(|refusal| AppError::Forbidden(refusal.0))
}

/// The application services over one event store: what the web layer and the CLI call to
/// act on the log (commands) and to read the plan, the areas and sealed text.
#[derive(Clone)]
pub struct Services {
    store: EventStore,
    plan: PlanCache,
    areas: plan::AreaCache,
    privacy: crate::privacy::Privacy,
    clock: crate::clock::Clock,
}

impl Services {
    /// The services over `store`, sealing free text with data keys wrapped by `keyring`.
    pub fn new(store: EventStore, keyring: crate::privacy::Keyring) -> Self {
        Self {
            plan: PlanCache::default(),
            areas: plan::AreaCache::default(),
            privacy: crate::privacy::Privacy::new(store.pool().clone(), keyring),
            store,
            clock: crate::clock::Clock::system(),
        }
    }

    pub fn privacy(&self) -> &crate::privacy::Privacy {
        &self.privacy
    }

    /// The same services on another clock (tests and the demo set the time).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Today in Växjö, by the services' clock.
    pub fn today(&self) -> Date {
        self.clock.today()
    }

    /// Reads a stream and folds it into an aggregate's state; also returns its version.
    pub async fn load<A: Aggregate>(&self, stream: &str) -> Result<(A, i64), AppError> {
        let mut recorded = self.store.read_stream(stream, None).await?;
        let version = recorded.last().map_or(0, |event| event.stream_version);
        // The domain decides on the text as it reads now (erased text reads as the marker).
        self.privacy
            .open_all(recorded.iter_mut().map(|event| &mut event.data))
            .await?;
        let state = decode_all::<A>(&recorded)?
            .iter()
            .fold(A::default(), A::apply);
        Ok((state, version))
    }

    /// Turns domain events for `stream` into log events with this context's metadata (and,
    /// for a submission, ids derived from it).
    fn to_new_events<A: Aggregate>(
        &self,
        ctx: &CommandContext,
        stream: &str,
        state: A,
        events: Vec<A::Event>,
        causation_id: Option<Uuid>,
        plan: &crate::domain::plan::Plan,
    ) -> Vec<NewEvent> {
        let mut rows =
            to_log_events(state, events, plan, |area| ctx.metadata(area, causation_id)).1;
        for (index, row) in rows.iter_mut().enumerate() {
            if let Some(event_id) = ctx.event_id(stream, index) {
                row.event_id = event_id;
            }
        }
        rows
    }

    /// Loads `stream`, lets `decide` choose the events, and appends them with the
    /// version that was loaded as the expected version. A submission that was answered
    /// before gets that answer without deciding again.
    pub(crate) async fn execute<A: Aggregate>(
        &self,
        ctx: &CommandContext,
        stream: &str,
        id: Uuid,
        decide: impl Fn(&A) -> Result<Vec<A::Event>, AppError>,
    ) -> Result<Done, AppError> {
        let plan = self.plan().await?;
        let (plan, decide) = (&plan, &decide);
        until_committed(move || async move {
            if let Some(done) = self.answered_before(ctx).await? {
                return Ok(Try::Done(done));
            }
            let (state, version) = self.load::<A>(stream).await?;
            // A repeat that loads the state its first arrival left is refused by the domain
            // ("already exists"): it gets the first arrival's answer instead.
            let events = match decide(&state) {
                Ok(events) => events,
                Err(error) => return self.or_answered(ctx, Err(error)).await.map(Try::Done),
            };
            let mut new_events = self.to_new_events(ctx, stream, state, events, None, plan);
            self.seal(&mut new_events).await?;
            Try::of(
                self.commit(ctx, id, vec![(stream.to_owned(), version, new_events)])
                    .await,
            )
        })
        .await
    }

    /// `outcome`, unless it is a refusal and an earlier arrival of the same submission has
    /// been answered meanwhile: then that answer. (A repeat that decides on the state the
    /// first arrival left is refused by the domain; it must get the first answer.)
    pub(crate) async fn or_answered(
        &self,
        ctx: &CommandContext,
        outcome: Result<Done, AppError>,
    ) -> Result<Done, AppError> {
        match outcome {
            Err(error) if ctx.submission.is_some() => match self.answered_before(ctx).await? {
                Some(done) => Ok(done),
                None => Err(error),
            },
            outcome => outcome,
        }
    }

    /// The answer an earlier arrival of this command's submission got, if any.
    pub(crate) async fn answered_before(
        &self,
        ctx: &CommandContext,
    ) -> Result<Option<Done>, AppError> {
        submission::earlier(self.store.pool(), ctx).await
    }

    /// Appends a command's events, one batch per stream, each expecting the version that
    /// was loaded (0: a new stream). With a submission, the events' ids are derived from it
    /// and the submission is claimed and completed in the same transaction; a repeat that
    /// arrives meanwhile gets the first arrival's answer instead. Returns where the last
    /// batch landed, as `Done` for `id`.
    pub(crate) async fn commit(
        &self,
        ctx: &CommandContext,
        id: Uuid,
        batches: Vec<(String, i64, Vec<NewEvent>)>,
    ) -> Result<Done, AppError> {
        let batches: Vec<(String, i64, Vec<NewEvent>)> = batches
            .into_iter()
            .filter(|(_, _, events)| !events.is_empty())
            .collect();
        // One stream and no submission: one statement, no transaction.
        if ctx.submission.is_none()
            && let [(stream, version, events)] = batches.as_slice()
        {
            let result = self
                .store
                .append(stream, expected(*version), events)
                .await?;
            return Ok(done(id, result));
        }
        let mut transaction = self.store.pool().begin().await?;
        if let submission::Claim::Answered(done) = submission::claim(&mut transaction, ctx).await? {
            return Ok(done);
        }
        let mut last = None;
        for (stream, version, events) in &batches {
            last = Some(
                self.store
                    .append_in(&mut transaction, stream, expected(*version), events)
                    .await?,
            );
        }
        let result = last.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a command decided no events to append"))
        })?;
        let done = done(id, result);
        submission::complete(&mut transaction, ctx, &done).await?;
        transaction.commit().await?;
        Ok(done)
    }

    /// Seals the free text of events about to be appended.
    pub(crate) async fn seal(&self, events: &mut [NewEvent]) -> Result<(), AppError> {
        self.privacy.seal(events).await.map_err(|error| {
            // A database failure anywhere in the chain is the database's, not a refusal.
            if error.chain().any(|cause| cause.is::<sqlx::Error>()) {
                AppError::Internal(error)
            } else {
                AppError::Domain(DomainError::conflict(format!(
                    "Det går inte att skriva mer om det här: {error}."
                )))
            }
        })
    }

    /// The plan as it stands now (catching up with any new plan events first).
    pub async fn plan(&self) -> Result<Arc<crate::domain::plan::Plan>, AppError> {
        self.plan.current(&self.store).await
    }
}

/// How many times a command decides and appends before a concurrent change is a 409.
const CONFLICT_ATTEMPTS: u32 = 10;

/// What one try at a command came to: done, or its append lost a race with another writer
/// on one of its streams (the error is the 409 given when the tries run out).
pub(crate) enum Try<T> {
    Done(T),
    Raced(AppError),
}

impl<T> Try<T> {
    /// The outcome of an append: a lost race is `Raced`, any other error stays an error.
    pub(crate) fn of(outcome: Result<T, AppError>) -> Result<Try<T>, AppError> {
        match outcome {
            Ok(value) => Ok(Try::Done(value)),
            Err(error @ AppError::Conflict { .. }) => Ok(Try::Raced(error)),
            Err(error) => Err(error),
        }
    }
}

/// Runs `attempt` (load, decide, append) again while its append loses a race: someone
/// else appended to a stream in between, so it decides again on the newer state (the
/// domain may now refuse), up to [`CONFLICT_ATTEMPTS`] times before giving up with 409.
pub(crate) async fn until_committed<T, Attempt>(
    mut attempt: impl FnMut() -> Attempt,
) -> Result<T, AppError>
where
    Attempt: std::future::Future<Output = Result<Try<T>, AppError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await? {
            Try::Done(value) => return Ok(value),
            Try::Raced(error) if tries >= CONFLICT_ATTEMPTS => return Err(error),
            Try::Raced(_) => {
                // A short, growing, jittered pause, so that writers racing on one stream
                // do not keep colliding.
                let mut jitter = [0u8; 1];
                rand::fill(&mut jitter);
                let pause = u64::from(tries) * 2 + u64::from(jitter[0] % 8);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                tries += 1;
            }
        }
    }
}

fn expected(version: i64) -> ExpectedVersion {
    if version == 0 {
        ExpectedVersion::NoStream
    } else {
        ExpectedVersion::Exact(version)
    }
}

fn done(id: Uuid, result: AppendResult) -> Done {
    Done {
        id,
        position: result.last_position,
        cursor: result.cursor,
    }
}

/// Turns domain events into log events: type, data, the tags of the state before and after
/// each event (with `process:` added for every `strategy:`), and metadata from `metadata`
/// (given the area the event concerns). Returns the state after the events too.
///
/// Before and after: an event belongs to the history of everything it touched, so that a
/// correction moving an activity from one strategy to another is in both strategies'
/// histories (the auditor's replay of the first must see the activity leave it).
pub fn to_log_events<A: Aggregate>(
    mut state: A,
    events: Vec<A::Event>,
    plan: &crate::domain::plan::Plan,
    metadata: impl Fn(Option<&str>) -> Value,
) -> (A, Vec<NewEvent>) {
    let mut new_events = Vec::with_capacity(events.len());
    for event in events {
        let before = state.tags(&event);
        state = state.apply(&event);
        let mut tags = state.tags(&event);
        for tag in before {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        let tags = with_process_tags(tags, plan);
        let area = tags
            .iter()
            .find_map(|tag| tag.strip_prefix("area:"))
            .map(str::to_owned);
        let (event_type, data) = event::encode(&event);
        let mut new_event = NewEvent::new(event_type, data)
            .with_metadata(metadata(area.as_deref()))
            .with_tags(tags);
        new_event.schema_version = event::SCHEMA_VERSION;
        new_events.push(new_event);
    }
    (state, new_events)
}

/// Decodes a stream's stored events into an aggregate's events.
pub fn decode_all<A: Aggregate>(recorded: &[RecordedEvent]) -> Result<Vec<A::Event>, DecodeError> {
    recorded
        .iter()
        .map(|stored| {
            event::decode::<A::Event>(&stored.event_type, stored.schema_version, &stored.data)
        })
        .collect()
}

/// Adds `process:<p>` for every `strategy:<s>` tag, so the log answers "everything in
/// process P" as it answers "everything about strategy S".
fn with_process_tags(mut tags: Vec<String>, plan: &crate::domain::plan::Plan) -> Vec<String> {
    let processes: Vec<String> = tags
        .iter()
        .filter_map(|tag| tag.strip_prefix("strategy:"))
        .filter_map(|strategy| plan.process_of(strategy))
        .map(|process| format!("process:{process}"))
        .collect();
    for process in processes {
        if !tags.contains(&process) {
            tags.push(process);
        }
    }
    tags
}
