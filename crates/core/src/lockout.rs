//! Login throttling of one ID: 5 failures within 30 minutes lock it for a growing interval.
//!
//! The attempt is counted *before* the password is verified (inside a transaction that holds the
//! ID's row), so parallel attempts cannot all slip past the count: at most `MAX_FAILURES`
//! verifications can run per window.

use crate::model::Lockout;
use time::{Duration, OffsetDateTime};

pub const MAX_FAILURES: i64 = 5;
pub const WINDOW: Duration = Duration::minutes(30);
/// Lock lengths for the 1st, 2nd, 3rd, ... lock in a row (the last one repeats).
pub const LOCK_STEPS: [Duration; 5] = [
    Duration::minutes(1),
    Duration::minutes(5),
    Duration::minutes(15),
    Duration::minutes(60),
    Duration::hours(4),
];

impl Lockout {
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }

    /// Reserve an attempt. `false` when the ID is locked (no verification may happen).
    pub fn begin_attempt(&mut self, now: OffsetDateTime) -> bool {
        if self.is_locked(now) {
            return false;
        }
        if self.window_start.is_none_or(|s| now - s > WINDOW) {
            self.failed_count = 0;
            self.window_start = Some(now);
        }
        if self.failed_count >= MAX_FAILURES {
            self.lock(now);
            return false;
        }
        self.failed_count += 1;
        true
    }

    /// The reserved attempt failed. Locks the ID once the count reaches the limit.
    pub fn record_failure(&mut self, now: OffsetDateTime) {
        if self.failed_count >= MAX_FAILURES && !self.is_locked(now) {
            self.lock(now);
        }
    }

    /// The reserved attempt succeeded: the count starts again.
    pub fn record_success(&mut self) {
        *self = Lockout::default();
    }

    fn lock(&mut self, now: OffsetDateTime) {
        let idx = usize::try_from(self.level)
            .unwrap_or(0)
            .min(LOCK_STEPS.len() - 1);
        self.locked_until = Some(now + LOCK_STEPS[idx]);
        self.level += 1;
        self.failed_count = 0;
        self.window_start = None;
    }

    /// Operator unlock.
    pub fn unlock(&mut self) {
        *self = Lockout::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_growing_intervals() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let mut l = Lockout::default();
        for _ in 0..5 {
            assert!(l.begin_attempt(t0));
            l.record_failure(t0);
        }
        assert!(l.is_locked(t0));
        assert!(!l.begin_attempt(t0 + Duration::seconds(59)));
        let t1 = t0 + Duration::minutes(1);
        for _ in 0..5 {
            assert!(l.begin_attempt(t1));
            l.record_failure(t1);
        }
        assert_eq!(l.locked_until, Some(t1 + Duration::minutes(5)));
    }

    #[test]
    fn reserved_attempts_cap_parallel_guesses() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut l = Lockout::default();
        // 100 attempts reserve before any verification finishes: only 5 get through.
        let allowed = (0..100).filter(|_| l.begin_attempt(t0)).count();
        assert_eq!(allowed, 5);
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut l = Lockout::default();
        for _ in 0..4 {
            assert!(l.begin_attempt(t0));
            l.record_failure(t0);
        }
        let later = t0 + Duration::minutes(31);
        assert!(l.begin_attempt(later));
        assert_eq!(l.failed_count, 1);
    }

    #[test]
    fn success_resets() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut l = Lockout::default();
        for _ in 0..4 {
            l.begin_attempt(t0);
            l.record_failure(t0);
        }
        l.begin_attempt(t0);
        l.record_success();
        assert_eq!(l, Lockout::default());
    }
}
