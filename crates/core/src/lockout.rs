//! Login throttling of one ID: 5 failures within 30 minutes lock it for a growing interval.
//!
//! An attempt is *reserved* before the password is verified (inside a transaction that holds the
//! ID's row), and reservations in flight plus failures may never exceed `MAX_FAILURES`: parallel
//! guesses cannot slip past the count, and at most 5 verifications run per window. A reserved
//! attempt is not a failure: only a wrong password counts as one, so a burst of correct logins is
//! never refused; an attempt that finds every slot taken waits for one ([`Attempt::Busy`]).

use crate::model::Lockout;
use time::{Duration, OffsetDateTime};

pub const MAX_FAILURES: i64 = 5;
pub const WINDOW: Duration = Duration::minutes(30);
/// A reservation older than this was left by a node that died mid-verification: released.
pub const IN_FLIGHT_STALE: Duration = Duration::seconds(30);
/// Lock lengths for the 1st, 2nd, 3rd, ... lock in a row (the last one repeats).
pub const LOCK_STEPS: [Duration; 5] = [
    Duration::minutes(1),
    Duration::minutes(5),
    Duration::minutes(15),
    Duration::minutes(60),
    Duration::hours(4),
];

/// The outcome of reserving an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Verify the password now.
    Go,
    /// Locked until then: no verification may happen.
    Locked(OffsetDateTime),
    /// Every slot is being verified right now: try again in a moment.
    Busy,
}

impl Lockout {
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }

    /// Reserve an attempt.
    pub fn begin_attempt(&mut self, now: OffsetDateTime) -> Attempt {
        if let Some(until) = self.locked_until.filter(|t| *t > now) {
            return Attempt::Locked(until);
        }
        if self.in_flight_at.is_some_and(|t| now - t > IN_FLIGHT_STALE) {
            self.in_flight = 0;
            self.in_flight_at = None;
        }
        if self.window_start.is_none_or(|s| now - s > WINDOW) {
            self.failed_count = 0;
            self.window_start = Some(now);
        }
        if self.failed_count >= MAX_FAILURES {
            self.lock(now);
            return Attempt::Locked(self.locked_until.unwrap_or(now));
        }
        if self.failed_count + self.in_flight >= MAX_FAILURES {
            return Attempt::Busy;
        }
        self.in_flight += 1;
        self.in_flight_at.get_or_insert(now);
        Attempt::Go
    }

    fn release(&mut self) {
        self.in_flight = (self.in_flight - 1).max(0);
        if self.in_flight == 0 {
            self.in_flight_at = None;
        }
    }

    /// The reserved attempt failed. Returns true when this failure locked the ID.
    pub fn record_failure(&mut self, now: OffsetDateTime) -> bool {
        self.release();
        if self.is_locked(now) {
            return false;
        }
        if self.window_start.is_none_or(|s| now - s > WINDOW) {
            self.failed_count = 0;
            self.window_start = Some(now);
        }
        self.failed_count += 1;
        if self.failed_count >= MAX_FAILURES {
            self.lock(now);
            return true;
        }
        false
    }

    /// The reserved attempt succeeded but the login is not complete yet (a second step must
    /// follow): the reservation is released, the failures are kept — so a known password cannot
    /// wipe out the count of wrong codes.
    pub fn record_partial_success(&mut self) {
        self.release();
    }

    /// The reserved attempt succeeded: failures and lock level start again (other attempts
    /// still in flight keep their reservations).
    pub fn record_success(&mut self) {
        self.release();
        self.failed_count = 0;
        self.window_start = None;
        self.level = 0;
        self.locked_until = None;
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

    /// Operator unlock, or a completed password reset: no lock, no failures (attempts in
    /// flight keep their reservations).
    pub fn unlock(&mut self) {
        let (in_flight, at) = (self.in_flight, self.in_flight_at);
        *self = Lockout::default();
        self.in_flight = in_flight;
        self.in_flight_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(l: &mut Lockout, t: OffsetDateTime) -> bool {
        assert_eq!(l.begin_attempt(t), Attempt::Go);
        l.record_failure(t)
    }

    #[test]
    fn five_failures_lock_for_growing_intervals() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let mut l = Lockout::default();
        let locked: Vec<bool> = (0..5).map(|_| fail(&mut l, t0)).collect();
        assert_eq!(locked, [false, false, false, false, true]);
        assert!(l.is_locked(t0));
        assert_eq!(
            l.begin_attempt(t0 + Duration::seconds(59)),
            Attempt::Locked(t0 + Duration::minutes(1))
        );
        let t1 = t0 + Duration::minutes(1);
        for _ in 0..5 {
            fail(&mut l, t1);
        }
        assert_eq!(l.locked_until, Some(t1 + Duration::minutes(5)));
    }

    #[test]
    fn reserved_attempts_cap_parallel_guesses() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut l = Lockout::default();
        // 100 attempts reserve before any verification finishes: only 5 get through, the
        // rest wait; once the 5 fail, the ID is locked and the waiting ones are refused.
        let go = (0..100)
            .filter(|_| l.begin_attempt(t0) == Attempt::Go)
            .count();
        assert_eq!(go, 5);
        assert_eq!(l.begin_attempt(t0), Attempt::Busy);
        for _ in 0..5 {
            l.record_failure(t0);
        }
        assert!(matches!(l.begin_attempt(t0), Attempt::Locked(_)));
    }

    #[test]
    fn attempts_in_flight_are_not_failures() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut l = Lockout::default();
        // 8 correct logins at once: 5 verify, 3 wait; each success frees a slot
        let go = (0..8)
            .filter(|_| l.begin_attempt(t0) == Attempt::Go)
            .count();
        assert_eq!(go, 5);
        for _ in 0..5 {
            l.record_success();
        }
        for _ in 0..3 {
            assert_eq!(l.begin_attempt(t0), Attempt::Go);
            l.record_success();
        }
        assert_eq!(l, Lockout::default());
    }

    #[test]
    fn a_stale_reservation_is_released() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut l = Lockout::default();
        for _ in 0..5 {
            l.begin_attempt(t0);
        }
        assert_eq!(l.begin_attempt(t0 + Duration::seconds(10)), Attempt::Busy);
        assert_eq!(l.begin_attempt(t0 + Duration::seconds(31)), Attempt::Go);
        assert_eq!(l.in_flight, 1);
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut l = Lockout::default();
        for _ in 0..4 {
            fail(&mut l, t0);
        }
        let later = t0 + Duration::minutes(31);
        assert_eq!(l.begin_attempt(later), Attempt::Go);
        l.record_failure(later);
        assert_eq!(l.failed_count, 1);
    }

    #[test]
    fn a_right_password_before_a_second_step_keeps_the_failures() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut l = Lockout::default();
        for _ in 0..4 {
            fail(&mut l, t0);
        }
        assert_eq!(l.begin_attempt(t0), Attempt::Go);
        l.record_partial_success();
        assert_eq!((l.failed_count, l.in_flight), (4, 0));
        // the fifth wrong code still locks
        assert!(fail(&mut l, t0));
    }

    #[test]
    fn success_resets() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut l = Lockout::default();
        for _ in 0..4 {
            fail(&mut l, t0);
        }
        l.begin_attempt(t0);
        l.record_success();
        assert_eq!(l, Lockout::default());
    }
}
