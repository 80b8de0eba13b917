//! Passwords: argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane), hashed and
//! checked on blocking threads so the async workers are never held up.
//!
//! Each check takes 19 MiB for as long as it runs, so the checks that run at once are
//! bounded ([`PER_CORE`] per core); the rest wait in line (at most [`QUEUE`] of them, for
//! at most [`WAIT`]) and anything beyond that is refused as [`Busy`]. Forty wrong
//! passwords sent at once used to take a fresh server from 44 MB to 804 MB of resident
//! memory, and it stayed there: glibc's allocator kept every thread's 19 MiB in its
//! arenas. Insats now allocates through mimalloc, and each check ends by giving its memory
//! back to the system ([`give_back_memory`]); what C code allocates through glibc maps large
//! blocks directly ([`init_allocator`]).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// The shortest password Insats accepts.
pub const MIN_LENGTH: usize = 12;
/// Password checks running at once, per core.
pub const PER_CORE: usize = 2;
/// Password checks that may wait for their turn; one more is refused at once.
pub const QUEUE: usize = 64;
/// How long a password check may wait for its turn.
pub const WAIT: Duration = Duration::from_secs(10);

/// Too many password checks at once: the caller should answer "try again shortly".
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many password checks at once")]
pub struct Busy;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP's argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The turns for password work: a semaphore and a count of those waiting.
struct Turns {
    running: Semaphore,
    waiting: AtomicUsize,
}

fn turns() -> &'static Turns {
    static TURNS: OnceLock<Turns> = OnceLock::new();
    TURNS.get_or_init(|| {
        init_allocator();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Turns {
            running: Semaphore::new((cores * PER_CORE).clamp(2, 32)),
            waiting: AtomicUsize::new(0),
        }
    })
}

/// Runs `work` on a blocking thread when its turn comes; `Busy` when the line is full or
/// the turn does not come within [`WAIT`].
async fn in_turn<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
    let turns = turns();
    if turns.waiting.fetch_add(1, Ordering::AcqRel) >= QUEUE {
        turns.waiting.fetch_sub(1, Ordering::AcqRel);
        return Err(Busy);
    }
    let permit = tokio::time::timeout(WAIT, turns.running.acquire()).await;
    turns.waiting.fetch_sub(1, Ordering::AcqRel);
    let _permit = permit.map_err(|_| Busy)?.map_err(|_| Busy)?;
    tokio::task::spawn_blocking(move || {
        let done = work();
        give_back_memory();
        done
    })
    .await
    .map_err(|_| Busy)
}

/// Gives the memory of a finished password check (argon2's 19 MiB) back to the system at
/// once: the allocator would otherwise keep it a while for the thread that freed it, and a
/// burst of logins would leave the server that much larger.
fn give_back_memory() {
    // SAFETY: mi_collect only frees and purges memory the allocator holds unused.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Makes glibc map blocks of a mebibyte or more directly instead of keeping them in its
/// arenas after they are freed (its threshold otherwise rises to the largest block freed,
/// here argon2's 19 MiB, and every blocking thread's arena keeps one). Insats allocates
/// through mimalloc (`lib.rs`); this still holds for what C code allocates through glibc.
pub fn init_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes the allocator's thresholds; it is thread-safe.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            }
        });
    }
}

/// Refuses a password that is too short, in Swedish.
pub fn check_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_LENGTH {
        return Err(format!("Lösenordet måste ha minst {MIN_LENGTH} tecken."));
    }
    Ok(())
}

/// The PHC string of a new hash of `password`.
pub async fn hash(password: String) -> anyhow::Result<String> {
    in_turn(move || {
        hasher()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("Failed to hash a password: {error}"))
    })
    .await?
}

/// Whether `password` matches the stored PHC string; `Busy` when too many checks run.
pub async fn verify(password: String, stored: String) -> Result<bool, Busy> {
    in_turn(move || {
        PasswordHash::new(&stored)
            .map(|parsed| {
                hasher()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
}

/// A hash to verify against when the account does not exist, so that a missing account
/// takes as long to refuse as a wrong password.
pub fn decoy() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2ynSOCCHbSBVvyA8dXqU1oeQG0yLbpZ2x4J7qhHyU5c"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_beyond_the_line_are_refused_not_queued_forever() {
        let stored = hash("ett långt lösenord".into()).await.unwrap();
        let checks: Vec<_> = (0..QUEUE + 40)
            .map(|_| tokio::spawn(verify("fel lösenord!!".into(), stored.clone())))
            .collect();
        let mut busy = 0;
        for check in checks {
            match check.await.unwrap() {
                Ok(matched) => assert!(!matched),
                Err(Busy) => busy += 1,
            }
        }
        assert!(busy > 0, "more checks than the line holds are refused");
        assert!(verify("ett långt lösenord".into(), stored).await.unwrap());
    }
}
