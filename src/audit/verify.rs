//! Is the record whole? For one strategy: every event of its history against its own hash,
//! the full chain of every stream the history touches, the chain of the seals, and the
//! strategy's running hash at every seal. For the whole log: [`EventStore::verify_log`].
//!
//! The answer, in Swedish, is "verifierad till position N (tid T)" or names the first
//! broken link and what is wrong with it.

use serde::Serialize;
use sqlx::PgPool;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use crate::event_log::seal::{self, SealMismatch};
use crate::event_log::verify::{ChainVerifier, content_problem};
use crate::event_log::{
    BrokenLink, EventStore, LinkProblem, LogVerification, RecordedEvent, Verification,
};

/// The outcome of checking a strategy's history, or a whole log.
#[derive(Debug, Clone, Serialize)]
pub struct Integrity {
    pub verified: bool,
    pub events_checked: u64,
    pub streams_checked: u64,
    pub seals_checked: u64,
    /// The last event checked.
    pub up_to_position: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub up_to_time: Option<OffsetDateTime>,
    /// Up to where the seals prove that nothing was removed.
    pub sealed_up_to_position: Option<i64>,
    pub problems: Vec<Problem>,
    /// All problems found (only the first hundred are listed).
    pub problem_count: u64,
    /// One sentence for people: "Verifierad till position …" or the first problem.
    pub summary: String,
}

/// One thing that does not hold.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Where: the event's position, or the seal's.
    pub position: i64,
    pub stream_id: Option<String>,
    pub stream_version: Option<i64>,
    /// `content_altered`, `missing_versions`, `prev_hash_mismatch` or `seal_mismatch`.
    pub kind: &'static str,
    /// What is wrong, in Swedish.
    pub message: String,
}

impl Problem {
    pub fn from_link(link: &BrokenLink) -> Self {
        let BrokenLink {
            position,
            stream_id,
            stream_version,
            problem,
        } = link;
        let (kind, message) = match problem {
            LinkProblem::ContentAltered => (
                "content_altered",
                format!(
                    "Händelsen på position {position} (ström {stream_id}, version {stream_version}) har ändrats i efterhand: innehållet stämmer inte med dess hash."
                ),
            ),
            LinkProblem::MissingVersions { expected, found } => (
                "missing_versions",
                if found - expected == 1 {
                    format!(
                        "Händelse saknas: i strömmen {stream_id} finns inte version {expected} (före position {position}). Den har tagits bort."
                    )
                } else {
                    format!(
                        "Händelser saknas: i strömmen {stream_id} finns inte version {expected}–{} (före position {position}). De har tagits bort.",
                        found - 1
                    )
                },
            ),
            LinkProblem::PrevHashMismatch => (
                "prev_hash_mismatch",
                format!(
                    "Länken på position {position} (ström {stream_id}, version {stream_version}) pekar inte på föregående händelses hash."
                ),
            ),
        };
        Self {
            position: *position,
            stream_id: Some(stream_id.clone()),
            stream_version: Some(*stream_version),
            kind,
            message,
        }
    }

    pub fn from_seal(mismatch: &SealMismatch) -> Self {
        let whose = match &mismatch.strategy {
            Some(strategy) => format!("strategins ({strategy}) händelser"),
            None => "loggens händelser".to_owned(),
        };
        let stretch = match mismatch.after_position {
            Some(after) => format!(
                "efter position {after} och till och med position {}",
                mismatch.up_to_position
            ),
            None => format!("till och med position {}", mismatch.up_to_position),
        };
        let difference = mismatch.sealed_events as i64 - mismatch.found_events as i64;
        let what = match difference {
            0 => "en händelse har ändrats eller bytts ut".to_owned(),
            1 => "en händelse har tagits bort".to_owned(),
            n if n > 1 => format!("{n} händelser har tagits bort"),
            n => format!("{} händelser har tillkommit i efterhand", -n),
        };
        Self {
            position: mismatch.seal_position,
            stream_id: None,
            stream_version: None,
            kind: "seal_mismatch",
            message: format!(
                "Sigillet på position {} stämmer inte med {whose} {stretch}: {what} (sigillet räknar {}, loggen har {}).",
                mismatch.seal_position, mismatch.sealed_events, mismatch.found_events
            ),
        }
    }
}

/// How many problems a report lists.
const LISTED: usize = 100;

impl Integrity {
    pub(crate) fn build(
        events_checked: u64,
        streams_checked: u64,
        seals_checked: u64,
        last: Option<(i64, OffsetDateTime)>,
        sealed_up_to_position: Option<i64>,
        mut problems: Vec<Problem>,
        problem_count: u64,
    ) -> Self {
        problems.sort_by_key(|p| p.position);
        problems.truncate(LISTED);
        let verified = problem_count == 0;
        let (up_to_position, up_to_time) = match last {
            Some((position, at)) => (position, Some(at)),
            None => (0, None),
        };
        let summary = if verified {
            match up_to_time {
                Some(at) => format!(
                    "Verifierad till position {up_to_position} ({}).",
                    crate::clock::datetime(at)
                ),
                None => "Verifierad: det finns inga händelser att kontrollera.".into(),
            }
        } else {
            format!(
                "Inte verifierad: {} fel. Första: {}",
                problem_count, problems[0].message
            )
        };
        Self {
            verified,
            events_checked,
            streams_checked,
            seals_checked,
            up_to_position,
            up_to_time,
            sealed_up_to_position,
            problems,
            problem_count,
            summary,
        }
    }

    /// The whole-log verification, as a report.
    pub fn from_log(log: &LogVerification) -> Self {
        let mut problems: Vec<Problem> = log.broken_links.iter().map(Problem::from_link).collect();
        problems.extend(log.seal_mismatches.iter().map(Problem::from_seal));
        Self::build(
            log.events_checked,
            log.streams_checked,
            log.seals_checked,
            log.up_to_time.map(|at| (log.up_to_position, at)),
            log.sealed_up_to_position,
            problems,
            log.broken_link_count + log.seal_mismatches.len() as u64,
        )
    }
}

const STREAMS: &str = crate::event_log::select_events!(
    "WHERE stream_id = ANY($1) ORDER BY stream_id, stream_version"
);

/// Checks the history of `strategy` (as [`super::history`] read it).
pub async fn strategy(
    store: &EventStore,
    strategy: &str,
    history: &[RecordedEvent],
) -> sqlx::Result<Integrity> {
    let mut problems = Vec::new();
    let mut count = 0u64;
    // 1. Every event of the history against its own hash.
    for event in history {
        if let Some(problem) = content_problem(event) {
            count += 1;
            problems.push(Problem::from_link(&BrokenLink {
                position: event.position,
                stream_id: event.stream_id.clone(),
                stream_version: event.stream_version,
                problem,
            }));
        }
    }
    // 2. The whole chain of every stream the history touches (content problems found
    //    above are not counted twice).
    let mut streams: Vec<String> = history.iter().map(|e| e.stream_id.clone()).collect();
    streams.sort_unstable();
    streams.dedup();
    let streams_checked = streams.len() as u64;
    let chain = chains(store.pool(), &streams).await?;
    let in_history: std::collections::HashSet<i64> = history.iter().map(|e| e.position).collect();
    for link in chain {
        if link.problem != LinkProblem::ContentAltered || !in_history.contains(&link.position) {
            count += 1;
            problems.push(Problem::from_link(&link));
        }
    }
    // 3. The seals' own chain, and the strategy's running hash at every seal.
    let seal_events = store.seals().await?;
    let mut seal_chain = ChainVerifier::new();
    for event in &seal_events {
        if let Some(link) = seal_chain.feed(event) {
            count += 1;
            problems.push(Problem::from_link(&link));
        }
    }
    let seals = seal::decode_all(&seal_events);
    let mismatches = seal::check_strategy(strategy, history, &seals);
    count += mismatches.len() as u64;
    problems.extend(mismatches.iter().map(Problem::from_seal));
    let sealed_up_to = seal::proven_up_to(&seals, &mismatches);
    Ok(Integrity::build(
        history.len() as u64,
        streams_checked,
        seals.len() as u64,
        history.last().map(|e| (e.position, e.recorded_at)),
        sealed_up_to,
        problems,
        count,
    ))
}

/// The broken links in the chains of `streams`.
async fn chains(pool: &PgPool, streams: &[String]) -> sqlx::Result<Vec<BrokenLink>> {
    use futures_util::TryStreamExt;
    let mut verifier = ChainVerifier::new();
    let mut broken = Vec::new();
    let mut rows = sqlx::query(STREAMS)
        .bind(streams)
        .try_map(|row: PgRow| crate::event_log::event_from_row(&row))
        .fetch(pool);
    while let Some(event) = rows.try_next().await? {
        if let Some(link) = verifier.feed(&event) {
            broken.push(link);
        }
    }
    let _: Verification = verifier.finish();
    Ok(broken)
}
