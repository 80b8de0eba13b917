//! Global seals: a running hash over the log in commit order, appended as an event now and
//! then, so that an auditor can prove that no event was removed between streams.
//!
//! The per-stream chains find an altered row and a row deleted from the middle of a stream.
//! They cannot see a stream's *last* event deleted, or a whole stream removed (an activity
//! is often a stream of one event). The seals can: each `LogSealed` event in the stream
//! [`STREAM`] records, for every event in commit order up to its cursor (the seals
//! themselves excepted),
//!
//! ```text
//! log_hash    = H("insats-seal-v1" ‖ log_hash    ‖ be64(position) ‖ event.hash)   (every event)
//! strategy[s] = H("insats-seal-v1" ‖ strategy[s] ‖ be64(position) ‖ event.hash)   (events tagged strategy:s)
//! ```
//!
//! with the counts of events behind each hash. Recomputing them from the log and comparing
//! at every seal names the stretch between two seals where something was removed or
//! altered; the per-strategy hashes let one strategy's history be checked (and an export of
//! it, offline) without reading the whole log. The seals stream has its own chain, so a
//! removed or altered seal is found like any other event.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

use super::chain::{GENESIS, Hash};
use super::read::event_from_row;
use super::{AppendError, Cursor, EventStore, ExpectedVersion, NewEvent, RecordedEvent};

/// The stream the seals are appended to.
pub const STREAM: &str = "seals";
/// The event type of a seal.
pub const EVENT_TYPE: &str = "LogSealed";
const DOMAIN: &[u8] = b"insats-seal-v1";
/// Events per seal.
pub const EVERY: u64 = 10_000;

/// One step of a running hash.
pub fn extend(running: &Hash, position: i64, event_hash: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN);
    hasher.update(running);
    hasher.update(position.to_be_bytes());
    hasher.update(event_hash);
    hasher.finalize().into()
}

/// A running hash and the number of events behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Running {
    pub events: u64,
    #[serde(with = "hex::serde")]
    pub hash: Hash,
}

impl Default for Running {
    fn default() -> Self {
        Self {
            events: 0,
            hash: GENESIS,
        }
    }
}

impl Running {
    pub fn feed(&mut self, position: i64, event_hash: &[u8]) {
        self.hash = extend(&self.hash, position, event_hash);
        self.events += 1;
    }
}

/// What a `LogSealed` event records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// The last event the seal covers, in commit order.
    pub up_to: Cursor,
    /// Every event up to `up_to` (seals excepted).
    pub log: Running,
    /// The events tagged with each strategy, up to `up_to`.
    pub strategies: BTreeMap<String, Running>,
}

/// A seal as found in the log.
#[derive(Debug, Clone)]
pub struct StoredSeal {
    pub position: i64,
    pub recorded_at: OffsetDateTime,
    pub seal: Seal,
}

/// The running hashes, folded over events in commit order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealFold {
    pub up_to: Cursor,
    pub log: Running,
    pub strategies: BTreeMap<String, Running>,
}

impl SealFold {
    pub fn from_seal(seal: &Seal) -> Self {
        Self {
            up_to: seal.up_to,
            log: seal.log,
            strategies: seal.strategies.clone(),
        }
    }

    /// Takes in one event (seals are passed over).
    pub fn feed(&mut self, event: &RecordedEvent) {
        self.up_to = event.cursor();
        if event.stream_id == STREAM {
            return;
        }
        self.log.feed(event.position, &event.hash);
        for tag in &event.tags {
            if let Some(strategy) = tag.strategy() {
                self.strategies
                    .entry(strategy.to_owned())
                    .or_default()
                    .feed(event.position, &event.hash);
            }
        }
    }

    pub fn to_seal(&self) -> Seal {
        Seal {
            up_to: self.up_to,
            log: self.log,
            strategies: self.strategies.clone(),
        }
    }
}

trait StrategyTag {
    fn strategy(&self) -> Option<&str>;
}

impl StrategyTag for String {
    fn strategy(&self) -> Option<&str> {
        self.strip_prefix("strategy:")
    }
}

/// Decodes a stored `LogSealed` event.
pub fn decode(event: &RecordedEvent) -> Option<StoredSeal> {
    (event.stream_id == STREAM && event.event_type == EVENT_TYPE)
        .then(|| serde_json::from_value::<Seal>(event.data.clone()).ok())
        .flatten()
        .map(|seal| StoredSeal {
            position: event.position,
            recorded_at: event.recorded_at,
            seal,
        })
}

const SEALS: &str = super::select_events!("WHERE stream_id = 'seals' ORDER BY stream_version");

const LAST_SEAL: &str =
    super::select_events!("WHERE stream_id = 'seals' ORDER BY stream_version DESC LIMIT 1");

/// What a call to [`EventStore::seal`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    /// Seals were appended; the last covers the log up to `up_to`.
    Appended { seals: u64, up_to: Cursor },
    /// Fewer than the minimum of events wait to be sealed.
    NothingDue { unsealed: u64 },
}

impl EventStore {
    /// Every seal in the log, in the order they were appended.
    pub async fn seals(&self) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        sqlx::query(SEALS)
            .try_map(|row: PgRow| event_from_row(&row))
            .fetch_all(self.pool())
            .await
    }

    /// Seals the log in commit order past the last seal, one seal per `every` events, as
    /// far as the horizon allows; a last, shorter stretch is sealed too when the last seal
    /// is older than `stale_after` (so a quiet log is still sealed within that time). Two
    /// instances sealing at once cannot both append the same seal: the seals stream's
    /// expected version decides, and the loser stops with an error.
    pub async fn seal(
        &self,
        every: u64,
        stale_after: std::time::Duration,
    ) -> Result<Sealed, AppendError> {
        let last = sqlx::query(LAST_SEAL)
            .try_map(|row: PgRow| event_from_row(&row))
            .fetch_optional(self.pool())
            .await?;
        let stale = last.as_ref().is_none_or(|event| {
            (OffsetDateTime::now_utc() - event.recorded_at).unsigned_abs() >= stale_after
        });
        let (mut version, mut fold) = match &last {
            Some(event) => {
                let stored = decode(event).ok_or_else(|| {
                    AppendError::Database(sqlx::Error::Protocol(
                        "the last seal cannot be read".into(),
                    ))
                })?;
                (event.stream_version, SealFold::from_seal(&stored.seal))
            }
            None => (0, SealFold::default()),
        };
        let (mut appended, mut pending) = (0u64, 0u64);
        loop {
            let batch = self.read_all(fold.up_to, 5_000).await?;
            let exhausted = batch.len() < 5_000;
            for event in &batch {
                fold.feed(event);
                if event.stream_id != STREAM {
                    pending += 1;
                }
                if pending == every {
                    self.append_seal(&mut version, &fold).await?;
                    (appended, pending) = (appended + 1, 0);
                }
            }
            if exhausted {
                break;
            }
        }
        if pending > 0 && stale {
            self.append_seal(&mut version, &fold).await?;
            appended += 1;
        } else if appended == 0 {
            return Ok(Sealed::NothingDue { unsealed: pending });
        }
        Ok(Sealed::Appended {
            seals: appended,
            up_to: fold.up_to,
        })
    }

    async fn append_seal(&self, version: &mut i64, fold: &SealFold) -> Result<(), AppendError> {
        let seal = fold.to_seal();
        let event = NewEvent::new(
            EVENT_TYPE,
            serde_json::to_value(&seal).expect("a seal serializes"),
        )
        .with_metadata(serde_json::json!({"actor": "system", "role": "system"}))
        .with_tags(["seal"]);
        let expected = if *version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(*version)
        };
        self.append(STREAM, expected, &[event]).await?;
        *version += 1;
        Ok(())
    }
}

/// Checks the running hashes against the seals while events are fed in commit order.
/// Used by the full verification, which reads the whole log once.
#[derive(Debug, Default)]
pub struct SealChecker {
    seals: Vec<StoredSeal>,
    next: usize,
    fold: SealFold,
    previous_seal: Option<(i64, Cursor)>,
    pub mismatches: Vec<SealMismatch>,
}

/// A seal that the log does not match: between `after_position` (the previous seal's last
/// event, or the start of the log) and the seal's own cursor, events were removed, added or
/// altered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealMismatch {
    pub seal_position: i64,
    pub after_position: Option<i64>,
    pub up_to_position: i64,
    pub sealed_events: u64,
    pub found_events: u64,
    /// The strategy whose running hash differs, when the check was for one strategy.
    pub strategy: Option<String>,
}

impl SealChecker {
    pub fn new(seals: Vec<StoredSeal>) -> Self {
        Self {
            seals,
            ..Self::default()
        }
    }

    pub fn feed(&mut self, event: &RecordedEvent) {
        self.check_before(event.cursor());
        self.fold.feed(event);
        self.check_at(event.cursor());
    }

    /// Checks the seals not reached yet against everything fed so far.
    pub fn finish(&mut self) {
        while self.next < self.seals.len() {
            self.check_next();
        }
    }

    /// Up to where the seals checked so far prove the log complete.
    pub fn proven_up_to(&self) -> Option<i64> {
        proven_up_to(&self.seals[..self.next], &self.mismatches)
    }

    pub fn seals_checked(&self) -> usize {
        self.next
    }

    fn check_before(&mut self, cursor: Cursor) {
        while self
            .seals
            .get(self.next)
            .is_some_and(|stored| stored.seal.up_to < cursor)
        {
            self.check_next();
        }
    }

    fn check_at(&mut self, cursor: Cursor) {
        if self
            .seals
            .get(self.next)
            .is_some_and(|stored| stored.seal.up_to == cursor)
        {
            self.check_next();
        }
    }

    fn check_next(&mut self) {
        let stored = &self.seals[self.next];
        if stored.seal.log != self.fold.log {
            self.mismatches.push(SealMismatch {
                seal_position: stored.position,
                after_position: self.previous_seal.map(|(_, cursor)| cursor.position),
                up_to_position: stored.seal.up_to.position,
                sealed_events: stored.seal.log.events,
                found_events: self.fold.log.events,
                strategy: None,
            });
            // Go on from what the seal says, so one gap is named once.
            self.fold = SealFold {
                up_to: self.fold.up_to,
                ..SealFold::from_seal(&stored.seal)
            };
        }
        self.previous_seal = Some((stored.position, stored.seal.up_to));
        self.next += 1;
    }
}

/// Checks one strategy's running hash against every seal, from that strategy's tagged
/// events in commit order (all of them, or those of an export).
pub fn check_strategy(
    strategy: &str,
    events: &[RecordedEvent],
    seals: &[StoredSeal],
) -> Vec<SealMismatch> {
    let tag = format!("strategy:{strategy}");
    let mut running = Running::default();
    let mut mismatches = Vec::new();
    let mut index = 0;
    let mut previous: Option<Cursor> = None;
    for stored in seals {
        while let Some(event) = events.get(index)
            && event.cursor() <= stored.seal.up_to
        {
            if event.tags.contains(&tag) {
                running.feed(event.position, &event.hash);
            }
            index += 1;
        }
        let sealed = stored
            .seal
            .strategies
            .get(strategy)
            .copied()
            .unwrap_or_default();
        if sealed != running {
            mismatches.push(SealMismatch {
                seal_position: stored.position,
                after_position: previous.map(|cursor| cursor.position),
                up_to_position: stored.seal.up_to.position,
                sealed_events: sealed.events,
                found_events: running.events,
                strategy: Some(strategy.to_owned()),
            });
            running = sealed;
        }
        previous = Some(stored.seal.up_to);
    }
    mismatches
}

/// The last position that the seals prove complete: the cursor of the last seal before
/// the first one that does not match.
pub fn proven_up_to(seals: &[StoredSeal], mismatches: &[SealMismatch]) -> Option<i64> {
    seals
        .iter()
        .take_while(|stored| {
            !mismatches
                .iter()
                .any(|m| m.seal_position == stored.position)
        })
        .last()
        .map(|stored| stored.seal.up_to.position)
}

/// The seals in a list of events (the seals stream, in version order), decoded.
pub fn decode_all(events: &[RecordedEvent]) -> Vec<StoredSeal> {
    events.iter().filter_map(decode).collect()
}

/// Keeps, per stream, the last version and hash seen, for checking chains in commit
/// order (where streams interleave).
#[derive(Debug, Default)]
pub struct InterleavedChains {
    heads: HashMap<String, (i64, Hash)>,
}

impl InterleavedChains {
    /// How many streams have been seen.
    pub fn streams(&self) -> usize {
        self.heads.len()
    }

    /// The problem with `event` as the next link of its stream, if any.
    pub fn feed(&mut self, event: &RecordedEvent) -> Option<super::LinkProblem> {
        let (last_version, last_hash) = self
            .heads
            .get(event.stream_id.as_str())
            .copied()
            .unwrap_or((0, GENESIS));
        let problem = super::verify::link_problem(event, last_version, &last_hash);
        let hash = event.hash.as_slice().try_into().unwrap_or(GENESIS);
        match self.heads.get_mut(event.stream_id.as_str()) {
            Some(head) => *head = (event.stream_version, hash),
            None => {
                self.heads
                    .insert(event.stream_id.clone(), (event.stream_version, hash));
            }
        }
        problem
    }
}
