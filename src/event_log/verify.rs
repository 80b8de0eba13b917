//! Verifying the per-stream hash chains.
//!
//! [`ChainVerifier`] is pure: it takes a stream's events in version order and checks that
//! versions run 1, 2, 3 … without a gap, that each event's `prev_hash` is the hash of the
//! event before it, and that each stored hash equals the hash recomputed from the row.
//! An edited row fails the last check; a deleted row shows as a gap at the next event.
//! (A deleted last event of a stream leaves no gap; the global seals catch that.)

use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::chain::{self, GENESIS, Hash};
use super::read::event_from_row;
use super::{EventStore, RecordedEvent};

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// Every checked chain is whole.
    Verified {
        /// The highest position among the checked events (0 when there were none).
        up_to_position: i64,
        events_checked: u64,
    },
    /// At least one link is broken; `first` is the one with the lowest position.
    Broken {
        first: BrokenLink,
        broken_links: u64,
        events_checked: u64,
    },
}

impl Verification {
    pub fn is_verified(&self) -> bool {
        matches!(self, Verification::Verified { .. })
    }
}

/// A place where a chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub position: i64,
    pub stream_id: String,
    pub stream_version: i64,
    pub problem: LinkProblem,
}

/// What is wrong at a broken link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkProblem {
    /// The event has this version, but the stream's previous event had version
    /// `expected - 1`: the versions in between are missing (deleted rows).
    MissingVersions { expected: i64, found: i64 },
    /// The stored `prev_hash` is not the hash of the previous event in the stream.
    PrevHashMismatch,
    /// The stored hash is not the hash of the row's content: the row was altered.
    ContentAltered,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            position,
            stream_id,
            stream_version,
            problem,
        } = self;
        write!(
            f,
            "position {position} (stream {stream_id}, version {stream_version}): "
        )?;
        match problem {
            LinkProblem::MissingVersions { expected, found } if found - expected == 1 => {
                write!(f, "version {expected} is missing")
            }
            LinkProblem::MissingVersions { expected, found } => {
                write!(f, "versions {expected} to {} are missing", found - 1)
            }
            LinkProblem::PrevHashMismatch => {
                write!(f, "prev_hash does not match the previous event's hash")
            }
            LinkProblem::ContentAltered => write!(f, "the content does not match its hash"),
        }
    }
}

/// Checks chains from events fed in (stream, version) order.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    current_stream: Option<String>,
    last_version: i64,
    last_hash: Hash,
    up_to_position: i64,
    events_checked: u64,
    first_broken: Option<BrokenLink>,
    broken_links: u64,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks one event against the one fed before it. Returns the broken link, if any.
    pub fn feed(&mut self, event: &RecordedEvent) -> Option<BrokenLink> {
        if self.current_stream.as_deref() != Some(event.stream_id.as_str()) {
            self.current_stream = Some(event.stream_id.clone());
            self.last_version = 0;
            self.last_hash = GENESIS;
        }
        self.events_checked += 1;
        self.up_to_position = self.up_to_position.max(event.position);

        let problem = link_problem(event, self.last_version, &self.last_hash);

        // Continue from what is stored, so one broken link is reported once, not for
        // every event after it.
        self.last_version = event.stream_version;
        self.last_hash = event.hash.as_slice().try_into().unwrap_or(GENESIS);

        let broken = problem.map(|problem| BrokenLink {
            position: event.position,
            stream_id: event.stream_id.clone(),
            stream_version: event.stream_version,
            problem,
        })?;
        self.broken_links += 1;
        if self
            .first_broken
            .as_ref()
            .is_none_or(|first| broken.position < first.position)
        {
            self.first_broken = Some(broken.clone());
        }
        Some(broken)
    }

    pub fn finish(self) -> Verification {
        match self.first_broken {
            None => Verification::Verified {
                up_to_position: self.up_to_position,
                events_checked: self.events_checked,
            },
            Some(first) => Verification::Broken {
                first,
                broken_links: self.broken_links,
                events_checked: self.events_checked,
            },
        }
    }
}

/// What is wrong with `event` as the link after (`last_version`, `last_hash`) of its
/// stream, if anything.
pub fn link_problem(
    event: &RecordedEvent,
    last_version: i64,
    last_hash: &Hash,
) -> Option<LinkProblem> {
    if event.stream_version != last_version + 1 {
        Some(LinkProblem::MissingVersions {
            expected: last_version + 1,
            found: event.stream_version,
        })
    } else if event.prev_hash.as_slice() != last_hash {
        Some(LinkProblem::PrevHashMismatch)
    } else {
        content_problem(event)
    }
}

/// Whether the stored hash is the hash of the row's content after its stored `prev_hash`:
/// checks one event on its own, without its stream.
pub fn content_problem(event: &RecordedEvent) -> Option<LinkProblem> {
    let prev: Hash = event.prev_hash.as_slice().try_into().unwrap_or(GENESIS);
    let recomputed = chain::link(&prev, event.stream_version, &event.body().digest());
    (event.hash.as_slice() != recomputed).then_some(LinkProblem::ContentAltered)
}

/// The whole log checked in one pass in commit order: every stream's chain and every seal.
#[derive(Debug, Clone, Serialize)]
pub struct LogVerification {
    pub events_checked: u64,
    pub streams_checked: u64,
    /// The last event checked (position and time), if any.
    pub up_to_position: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub up_to_time: Option<time::OffsetDateTime>,
    pub seals_checked: u64,
    /// The last seal found whole: the log is proven complete up to its cursor.
    pub sealed_up_to_position: Option<i64>,
    /// The first [`LISTED`] broken links, by position, and how many there are in all.
    pub broken_links: Vec<BrokenLink>,
    pub broken_link_count: u64,
    pub seal_mismatches: Vec<super::seal::SealMismatch>,
}

impl LogVerification {
    pub fn is_verified(&self) -> bool {
        self.broken_links.is_empty() && self.seal_mismatches.is_empty()
    }
}

const ALL_IN_COMMIT_ORDER: &str =
    super::select_events!("ORDER BY events.transaction_id, events.position");

/// How many broken links a verification lists (it counts them all).
pub const LISTED: usize = 100;

const STREAM_IN_ORDER: &str = super::select_events!("WHERE stream_id = $1 ORDER BY stream_version");

const ALL_IN_STREAM_ORDER: &str = super::select_events!("ORDER BY stream_id, stream_version");

impl EventStore {
    /// Verifies the chain of one stream.
    pub async fn verify_stream(&self, stream_id: &str) -> Result<Verification, sqlx::Error> {
        let mut verifier = ChainVerifier::new();
        let mut rows = sqlx::query(STREAM_IN_ORDER)
            .bind(stream_id)
            .try_map(|row: PgRow| event_from_row(&row))
            .fetch(&self.pool);
        while let Some(event) = rows.try_next().await? {
            verifier.feed(&event);
        }
        Ok(verifier.finish())
    }

    /// Verifies the chain of every stream in the log, calling `progress` with the number
    /// of events checked so far every few thousand events.
    pub async fn verify_all(
        &self,
        mut progress: impl FnMut(u64),
    ) -> Result<Verification, sqlx::Error> {
        let mut transaction = self.pool.begin().await?;
        // A full scan may take longer than the pool's statement timeout allows.
        sqlx::query("SET LOCAL statement_timeout = 0")
            .execute(&mut *transaction)
            .await?;
        let mut verifier = ChainVerifier::new();
        {
            let mut rows = sqlx::query(ALL_IN_STREAM_ORDER)
                .try_map(|row: PgRow| event_from_row(&row))
                .fetch(&mut *transaction);
            while let Some(event) = rows.try_next().await? {
                verifier.feed(&event);
                if verifier.events_checked.is_multiple_of(4096) {
                    progress(verifier.events_checked);
                }
            }
        }
        transaction.commit().await?;
        progress(verifier.events_checked);
        Ok(verifier.finish())
    }

    /// Verifies the whole log in one pass in commit order: every stream's chain and every
    /// seal, calling `progress` with the number of events checked every few thousand.
    pub async fn verify_log(
        &self,
        mut progress: impl FnMut(u64),
    ) -> Result<LogVerification, sqlx::Error> {
        let seals = super::seal::decode_all(&self.seals().await?);
        let mut checker = super::seal::SealChecker::new(seals);
        let mut chains = super::seal::InterleavedChains::default();
        let mut transaction = self.pool.begin().await?;
        sqlx::query("SET LOCAL statement_timeout = 0")
            .execute(&mut *transaction)
            .await?;
        let mut outcome = LogVerification {
            events_checked: 0,
            streams_checked: 0,
            up_to_position: 0,
            up_to_time: None,
            seals_checked: 0,
            sealed_up_to_position: None,
            broken_links: Vec::new(),
            broken_link_count: 0,
            seal_mismatches: Vec::new(),
        };
        let mut broken = 0u64;
        {
            let mut rows = sqlx::query(ALL_IN_COMMIT_ORDER)
                .try_map(|row: PgRow| event_from_row(&row))
                .fetch(&mut *transaction);
            while let Some(event) = rows.try_next().await? {
                if let Some(problem) = chains.feed(&event) {
                    broken += 1;
                    if outcome.broken_links.len() < LISTED {
                        outcome.broken_links.push(BrokenLink {
                            position: event.position,
                            stream_id: event.stream_id.clone(),
                            stream_version: event.stream_version,
                            problem,
                        });
                    }
                }
                checker.feed(&event);
                outcome.events_checked += 1;
                outcome.up_to_position = event.position;
                outcome.up_to_time = Some(event.recorded_at);
                if outcome.events_checked.is_multiple_of(8192) {
                    progress(outcome.events_checked);
                }
            }
        }
        transaction.commit().await?;
        checker.finish();
        progress(outcome.events_checked);
        outcome.broken_links.sort_by_key(|link| link.position);
        outcome.broken_link_count = broken;
        outcome.streams_checked = chains.streams() as u64;
        outcome.seals_checked = checker.seals_checked() as u64;
        outcome.sealed_up_to_position = checker.proven_up_to();
        outcome.seal_mismatches = std::mem::take(&mut checker.mismatches);
        Ok(outcome)
    }

    /// The number of events in the log (for progress bars).
    pub async fn count_events(&self) -> Result<i64, sqlx::Error> {
        sqlx::query("SELECT count(*) FROM events")
            .try_map(|row: PgRow| row.try_get(0))
            .fetch_one(&self.pool)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;
    use uuid::Uuid;

    /// A stream of `n` correctly chained events, as the append statement would store them.
    fn stream(stream_id: &str, n: i64, first_position: i64) -> Vec<RecordedEvent> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|version| {
                let mut event = RecordedEvent {
                    position: first_position + version - 1,
                    transaction_id: 1000 + version,
                    event_id: Uuid::from_u128(version as u128 + first_position as u128 * 1000),
                    stream_id: stream_id.to_string(),
                    stream_version: version,
                    event_type: "NoteAdded".into(),
                    schema_version: 1,
                    data: json!({"text": format!("Anteckning {version}")}),
                    metadata: json!({"actor": "anna"}),
                    tags: vec![format!("case:{stream_id}")],
                    recorded_at: datetime!(2026-03-01 10:00:00 UTC),
                    prev_hash: prev.to_vec(),
                    hash: Vec::new(),
                };
                let hash = chain::link(&prev, version, &event.body().digest());
                event.hash = hash.to_vec();
                prev = hash;
                event
            })
            .collect()
    }

    fn verify(events: &[RecordedEvent]) -> Verification {
        let mut verifier = ChainVerifier::new();
        for event in events {
            verifier.feed(event);
        }
        verifier.finish()
    }

    #[test]
    fn intact_streams_verify_up_to_their_last_position() {
        let mut events = stream("a", 3, 1);
        events.extend(stream("b", 2, 10));
        assert_eq!(
            verify(&events),
            Verification::Verified {
                up_to_position: 11,
                events_checked: 5
            }
        );
    }

    #[test]
    fn an_altered_row_is_named_by_its_position() {
        let mut events = stream("a", 4, 1);
        events[2].data = json!({"text": "Ändrad i efterhand"});
        let Verification::Broken {
            first,
            broken_links,
            ..
        } = verify(&events)
        else {
            panic!("an altered row must break the chain");
        };
        assert_eq!(broken_links, 1);
        assert_eq!(first.position, 3);
        assert_eq!(first.problem, LinkProblem::ContentAltered);
    }

    #[test]
    fn a_deleted_row_shows_as_missing_version_at_the_next_event() {
        let mut events = stream("a", 4, 1);
        events.remove(1);
        let Verification::Broken { first, .. } = verify(&events) else {
            panic!("a deleted row must break the chain");
        };
        assert_eq!(first.position, 3);
        assert_eq!(
            first.problem,
            LinkProblem::MissingVersions {
                expected: 2,
                found: 3
            }
        );
        assert_eq!(
            first.to_string(),
            "position 3 (stream a, version 3): version 2 is missing"
        );
    }

    #[test]
    fn a_swapped_prev_hash_is_found() {
        let mut events = stream("a", 3, 1);
        events[1].prev_hash = vec![9; 32];
        let Verification::Broken { first, .. } = verify(&events) else {
            panic!("a wrong prev_hash must break the chain");
        };
        assert_eq!(
            (first.position, first.problem),
            (2, LinkProblem::PrevHashMismatch)
        );
    }

    #[test]
    fn the_first_broken_link_is_the_lowest_position_across_streams() {
        let mut a = stream("a", 3, 20);
        let mut b = stream("b", 3, 5);
        a[0].metadata = json!({"actor": "mallory"});
        b[2].metadata = json!({"actor": "mallory"});
        a.extend(b);
        let Verification::Broken {
            first,
            broken_links,
            ..
        } = verify(&a)
        else {
            panic!("two altered rows must break two chains");
        };
        assert_eq!((first.position, broken_links), (7, 2));
    }
}
