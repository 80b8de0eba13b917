//! Rate limits: attempts counted per key in a sliding window, in memory, per instance
//! (with several instances behind a load balancer a limit applies per instance; see
//! docs/security.md).
//!
//! An attempt is checked and counted in one step, under one lock, *before* the work it
//! guards (a password check, a report written): thirty guesses sent at once cannot all
//! pass a check that has not yet counted any of them.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most `max` attempts within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: usize,
    pub window: Duration,
}

/// Counts attempts per key.
#[derive(Clone, Default)]
pub struct Limiter {
    attempts: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl Limiter {
    /// Counts one attempt against every `(key, limit)`, unless one of them is already at
    /// its limit: then nothing is counted and the answer is how long to wait.
    pub fn attempt(&self, keys: &[(String, Limit)]) -> Result<(), Duration> {
        let now = Instant::now();
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut wait = Duration::ZERO;
        for (key, limit) in keys {
            if let Some(times) = attempts.get_mut(key) {
                while times
                    .front()
                    .is_some_and(|at| now.duration_since(*at) >= limit.window)
                {
                    times.pop_front();
                }
                if times.len() >= limit.max {
                    let oldest = *times.front().expect("not empty");
                    wait = wait.max(limit.window.saturating_sub(now.duration_since(oldest)));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait.max(Duration::from_secs(1)));
        }
        // Forget keys that have been quiet for a long while, so the map cannot grow forever.
        if attempts.len() > 10_000 {
            attempts.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|at| now.duration_since(*at) < Duration::from_secs(3600))
            });
        }
        for (key, _) in keys {
            attempts.entry(key.clone()).or_default().push_back(now);
        }
        Ok(())
    }

    /// Forgets the attempts counted against `key`.
    pub fn forget(&self, key: &str) {
        self.attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }
}

/// Guesses per account from one address, within a minute.
pub const PER_ACCOUNT_AND_ADDRESS: Limit = Limit {
    max: 10,
    window: Duration::from_secs(60),
};
/// Login attempts from one address, whatever the account, within a minute: higher, so
/// that colleagues behind one address are not stopped by one person's mistakes.
pub const PER_ADDRESS: Limit = Limit {
    max: 100,
    window: Duration::from_secs(60),
};

/// The login limits: per account and address together, and per address.
#[derive(Clone, Default)]
pub struct LoginLimiter {
    limiter: Limiter,
}

impl LoginLimiter {
    fn keys(email: &str, client: IpAddr) -> [(String, Limit); 2] {
        [
            (format!("login:{email}|{client}"), PER_ACCOUNT_AND_ADDRESS),
            (format!("login-address:{client}"), PER_ADDRESS),
        ]
    }

    /// Counts a login attempt before the password is checked; `Err(wait)` when the
    /// account has had too many attempts from this address, or the address too many.
    pub fn attempt(&self, email: &str, client: IpAddr) -> Result<(), Duration> {
        self.limiter.attempt(&Self::keys(email, client))
    }

    /// After a successful login the account's count from this address starts over (the
    /// address's count does not: one good password must not buy more guesses elsewhere).
    pub fn succeeded(&self, email: &str, client: IpAddr) {
        self.limiter.forget(&Self::keys(email, client)[0].0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_attempt_within_a_minute_is_refused_for_that_account_and_address() {
        let limiter = LoginLimiter::default();
        let office: IpAddr = "10.0.0.1".parse().unwrap();
        let home: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..PER_ACCOUNT_AND_ADDRESS.max {
            assert!(limiter.attempt("anna@example.se", office).is_ok());
        }
        let wait = limiter.attempt("anna@example.se", office).unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        // Anna from another address, and a colleague at the same address, still get in.
        assert!(limiter.attempt("anna@example.se", home).is_ok());
        assert!(limiter.attempt("bo@example.se", office).is_ok());
    }

    #[test]
    fn one_address_has_a_higher_ceiling_over_all_accounts() {
        let limiter = LoginLimiter::default();
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        for n in 0..PER_ADDRESS.max {
            assert!(
                limiter
                    .attempt(&format!("user{n}@example.se"), address)
                    .is_ok()
            );
        }
        assert!(limiter.attempt("next@example.se", address).is_err());
    }

    #[test]
    fn a_refused_attempt_is_not_counted_and_success_starts_the_account_over() {
        let limiter = Limiter::default();
        let limit = Limit {
            max: 2,
            window: Duration::from_secs(60),
        };
        let keys = [("k".to_owned(), limit)];
        assert!(limiter.attempt(&keys).is_ok());
        assert!(limiter.attempt(&keys).is_ok());
        assert!(limiter.attempt(&keys).is_err());
        limiter.forget("k");
        assert!(limiter.attempt(&keys).is_ok());
    }
}
