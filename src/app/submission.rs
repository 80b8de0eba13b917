//! Requests that may arrive twice. A form carries a one-time submission id (a fresh UUID
//! each time it is shown), an API client an `Idempotency-Key`; with the user, that key
//! names the request, and a fingerprint of its content tells a repeat from a different
//! request under the same key.
//!
//! - The ids a command creates, and its events' ids, are derived from the key, so the same
//!   request decides the same events (and the log's unique event ids refuse a second copy).
//! - The key is claimed in the `submissions` table in the same transaction as the events,
//!   and completed with the command's outcome there. A second arrival finds it done and gets
//!   the first one's answer without deciding again; one that arrives while the first is
//!   still in flight waits for the first's transaction on the key's row, then finds it done.
//! - The same key with another fingerprint is refused ([`super::AppError::SubmissionReused`]).
//!
//! A command and its submission commit together or not at all, so a crash at any moment
//! leaves either both (the retry gets the answer) or neither (the retry does the work).

use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{AppError, CommandContext, Done};
use crate::event_log::Cursor;

/// The longest key accepted.
pub const KEY_MAX: usize = 255;
/// How long keys are kept at least (and then removed in passing).
pub const KEPT_DAYS: i32 = 7;

/// A request that may arrive twice: its key and the fingerprint of what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    key: String,
    fingerprint: [u8; 32],
}

impl Submission {
    /// A submission under `key` (1–255 visible ASCII characters) asking for what
    /// `fingerprint` sums up; `None` for a key that cannot be one.
    pub fn new(key: &str, fingerprint: [u8; 32]) -> Option<Self> {
        let valid = !key.is_empty()
            && key.len() <= KEY_MAX
            && key.bytes().all(|byte| byte.is_ascii_graphic());
        valid.then(|| Self {
            key: key.to_owned(),
            fingerprint,
        })
    }

    /// The fingerprint of `parts`, each part length-prefixed so that no two different lists
    /// of parts sum up alike.
    pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        hasher.finalize().into()
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

impl CommandContext {
    pub fn with_submission(mut self, submission: Option<Submission>) -> Self {
        self.submission = submission;
        self
    }

    /// A new id for something this command creates (`purpose` tells its ids apart): derived
    /// from the submission when there is one, so a repeat names the same thing; otherwise a
    /// fresh, time-ordered one.
    pub fn new_id(&self, purpose: &str) -> Uuid {
        match &self.submission {
            Some(submission) => derived(self.actor.user_id, &submission.key, purpose),
            None => Uuid::now_v7(),
        }
    }

    /// The id of the `index`th event this command appends to `stream`, when it is derived.
    pub(crate) fn event_id(&self, stream: &str, index: usize) -> Option<Uuid> {
        self.submission.as_ref().map(|submission| {
            derived(
                self.actor.user_id,
                &submission.key,
                &format!("event {stream} {index}"),
            )
        })
    }
}

/// An id from the user, the key and the purpose: a version-8 UUID of their SHA-256.
fn derived(user_id: Uuid, key: &str, purpose: &str) -> Uuid {
    let digest = Submission::fingerprint([
        b"insats submission v1".as_slice(),
        user_id.as_bytes(),
        key.as_bytes(),
        purpose.as_bytes(),
    ]);
    uuid_of(&digest)
}

/// A version-8 UUID of a digest's first sixteen bytes: an id that follows from what it was
/// derived from.
pub(crate) fn uuid_of(digest: &[u8]) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// What became of a claim on a submission's key.
pub(crate) enum Claim {
    /// Nobody had the key: this transaction holds it now.
    Claimed,
    /// The key was taken and completed by an earlier arrival: its answer.
    Answered(Done),
}

type Row = (Vec<u8>, Option<Uuid>, Option<i64>, Option<i64>);

fn answer(ctx: &CommandContext, submission: &Submission, row: Row) -> Result<Done, AppError> {
    let (fingerprint, done_id, position, transaction_id) = row;
    if fingerprint != submission.fingerprint {
        tracing::warn!(user = %ctx.actor.user_id, "a submission key was reused for another request");
        return Err(AppError::SubmissionReused);
    }
    match (done_id, position, transaction_id) {
        (Some(id), Some(position), Some(transaction_id)) => Ok(Done {
            id,
            position,
            cursor: Cursor::new(transaction_id, position),
        }),
        _ => Err(AppError::Internal(anyhow::anyhow!(
            "a completed submission has no outcome"
        ))),
    }
}

/// The answer of an earlier arrival of `ctx`'s submission, if it has completed.
pub(crate) async fn earlier(
    pool: &sqlx::PgPool,
    ctx: &CommandContext,
) -> Result<Option<Done>, AppError> {
    let Some(submission) = &ctx.submission else {
        return Ok(None);
    };
    let row: Option<Row> = sqlx::query_as(
        "SELECT fingerprint, done_id, position, transaction_id FROM submissions
         WHERE user_id = $1 AND key = $2",
    )
    .bind(ctx.actor.user_id)
    .bind(&submission.key)
    .fetch_optional(pool)
    .await?;
    row.map(|row| answer(ctx, submission, row)).transpose()
}

/// Claims `ctx`'s submission key inside the caller's transaction. While another arrival
/// holds the key in a transaction of its own, this waits for it; if that one commits, the
/// answer is its outcome (and the caller rolls back and returns it).
pub(crate) async fn claim(
    connection: &mut PgConnection,
    ctx: &CommandContext,
) -> Result<Claim, AppError> {
    let Some(submission) = &ctx.submission else {
        return Ok(Claim::Claimed);
    };
    let claimed = sqlx::query(
        "INSERT INTO submissions (user_id, key, fingerprint) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, key) DO NOTHING",
    )
    .bind(ctx.actor.user_id)
    .bind(&submission.key)
    .bind(submission.fingerprint.as_slice())
    .execute(&mut *connection)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        return Ok(Claim::Claimed);
    }
    let row: Row = sqlx::query_as(
        "SELECT fingerprint, done_id, position, transaction_id FROM submissions
         WHERE user_id = $1 AND key = $2",
    )
    .bind(ctx.actor.user_id)
    .bind(&submission.key)
    .fetch_one(&mut *connection)
    .await?;
    answer(ctx, submission, row).map(Claim::Answered)
}

/// Records the command's outcome on its claimed key, in the same transaction as its events.
pub(crate) async fn complete(
    connection: &mut PgConnection,
    ctx: &CommandContext,
    done: &Done,
) -> Result<(), AppError> {
    let Some(submission) = &ctx.submission else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE submissions SET done_id = $3, position = $4, transaction_id = $5
         WHERE user_id = $1 AND key = $2",
    )
    .bind(ctx.actor.user_id)
    .bind(&submission.key)
    .bind(done.id)
    .bind(done.position)
    .bind(done.cursor.transaction_id)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Removes keys older than [`KEPT_DAYS`].
pub async fn forget_old(pool: &sqlx::PgPool) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM submissions WHERE created_at < now() - make_interval(days => $1)")
            .bind(KEPT_DAYS)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::actor::Actor;

    #[test]
    fn a_submission_derives_the_same_ids_every_time_and_others_derive_others() {
        let key = Uuid::new_v4().to_string();
        let fingerprint = Submission::fingerprint([b"title=Spr\xc3\xa5kcaf\xc3\xa9".as_slice()]);
        let ctx = CommandContext::new(Actor::system())
            .with_submission(Submission::new(&key, fingerprint));
        let again = CommandContext::new(Actor::system())
            .with_submission(Submission::new(&key, fingerprint));
        assert_eq!(ctx.new_id("activity"), again.new_id("activity"));
        assert_ne!(ctx.new_id("activity"), ctx.new_id("note"));
        assert_eq!(
            ctx.event_id("activity-x", 0),
            again.event_id("activity-x", 0)
        );
        assert_ne!(ctx.event_id("activity-x", 0), ctx.event_id("activity-x", 1));
        let other = CommandContext::new(Actor::system())
            .with_submission(Submission::new("another-key", fingerprint));
        assert_ne!(ctx.new_id("activity"), other.new_id("activity"));
        let plain = CommandContext::new(Actor::system());
        assert_ne!(plain.new_id("activity"), plain.new_id("activity"));
        assert_eq!(plain.event_id("activity-x", 0), None);
    }

    #[test]
    fn keys_are_short_visible_ascii_and_fingerprints_tell_parts_apart() {
        assert!(Submission::new("", [0; 32]).is_none());
        assert!(Submission::new("med mellanslag", [0; 32]).is_none());
        assert!(Submission::new(&"k".repeat(256), [0; 32]).is_none());
        assert!(Submission::new("8e0c-retry-1", [0; 32]).is_some());
        assert_ne!(
            Submission::fingerprint([b"ab".as_slice(), b"c".as_slice()]),
            Submission::fingerprint([b"a".as_slice(), b"bc".as_slice()])
        );
    }
}
