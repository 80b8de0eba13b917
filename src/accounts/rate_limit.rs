//! Login rate limiting: after 10 failed logins within a minute, for one account or from
//! one client address, further attempts are refused for the rest of that minute.
//!
//! Kept in memory, per instance: with several instances behind a load balancer the limit
//! applies per instance (see docs/security.md).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Clone, Default)]
pub struct LoginLimiter {
    failures: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
}

impl LoginLimiter {
    /// `Err(retry_after)` when any of `keys` has had too many failures in the window.
    pub fn check(&self, keys: &[String]) -> Result<(), Duration> {
        let now = Instant::now();
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(times) = failures.get_mut(key) {
                while times
                    .front()
                    .is_some_and(|at| now.duration_since(*at) >= WINDOW)
                {
                    times.pop_front();
                }
                if times.len() >= MAX_FAILURES {
                    let oldest = *times.front().expect("not empty");
                    wait = wait.max(WINDOW.saturating_sub(now.duration_since(oldest)));
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.max(Duration::from_secs(1)))
        }
    }

    pub fn record_failure(&self, keys: &[String]) {
        let now = Instant::now();
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Forget keys that have been quiet for a window, so the map cannot grow forever.
        if failures.len() > 10_000 {
            failures.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|at| now.duration_since(*at) < WINDOW)
            });
        }
        for key in keys {
            failures.entry(key.clone()).or_default().push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_attempt_within_a_minute_is_refused() {
        let limiter = LoginLimiter::default();
        let keys = vec![
            "account:anna@example.se".to_string(),
            "ip:10.0.0.1".to_string(),
        ];
        for _ in 0..MAX_FAILURES {
            assert!(limiter.check(&keys).is_ok());
            limiter.record_failure(&keys);
        }
        let wait = limiter.check(&keys).unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= WINDOW);
        // Another account from another address is not affected.
        assert!(
            limiter
                .check(&[
                    "account:bo@example.se".to_string(),
                    "ip:10.0.0.2".to_string()
                ])
                .is_ok()
        );
        // The same address for another account is.
        assert!(
            limiter
                .check(&[
                    "account:bo@example.se".to_string(),
                    "ip:10.0.0.1".to_string()
                ])
                .is_err()
        );
    }
}
