//! Throttling per client address: each kind of anonymous, guessable step (log in, second
//! factor, forgot password, reset, accept an invitation, first-run setup) may be tried at most
//! so many times per address in a fixed window. The counters live in the database, so the
//! limit holds across every node behind a load balancer.

use super::{Ctx, Services};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use time::Duration;

/// A throttled step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    Login,
    SecondFactor,
    ForgotPassword,
    ResetPassword,
    Accept,
    Setup,
    /// Failed requests to the OpenID Connect token endpoint (bad client secret, code, refresh
    /// token); successful ones are not counted (one application serves many people).
    Token,
}

impl Throttled {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::SecondFactor => "second_factor",
            Self::ForgotPassword => "forgot_password",
            Self::ResetPassword => "reset_password",
            Self::Accept => "accept",
            Self::Setup => "setup",
            Self::Token => "token",
        }
    }
}

/// Requests allowed per client address in one window (0: no limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleLimits {
    pub window_seconds: i64,
    pub login: i64,
    pub second_factor: i64,
    pub forgot_password: i64,
    pub reset_password: i64,
    pub accept: i64,
    pub setup: i64,
    pub token: i64,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        // generous for an office behind one NAT address, far below what guessing needs
        ThrottleLimits {
            window_seconds: 600,
            login: 60,
            second_factor: 60,
            forgot_password: 10,
            reset_password: 30,
            accept: 30,
            setup: 30,
            token: 60,
        }
    }
}

impl ThrottleLimits {
    fn limit(&self, t: Throttled) -> i64 {
        match t {
            Throttled::Login => self.login,
            Throttled::SecondFactor => self.second_factor,
            Throttled::ForgotPassword => self.forgot_password,
            Throttled::ResetPassword => self.reset_password,
            Throttled::Accept => self.accept,
            Throttled::Setup => self.setup,
            Throttled::Token => self.token,
        }
    }
}

/// Whole seconds, rounded up: a client that waits that long is never early.
pub(crate) fn ceil_secs(d: Duration) -> i64 {
    ((d.whole_milliseconds() + 999) / 1000).max(1) as i64
}

impl Services {
    /// Count this request against its client address; 429 `rate_limited` past the limit.
    /// Requests without a known address (in-process callers) are not counted.
    pub async fn throttle(&self, ctx: &Ctx, what: Throttled) -> Result<()> {
        let limits = &self.settings.throttle;
        let limit = limits.limit(what);
        let Some(addr) = ctx.client_addr.as_deref() else {
            return Ok(());
        };
        if limit <= 0 {
            return Ok(());
        }
        let window = Duration::seconds(limits.window_seconds.max(1));
        let mut tx = self.begin().await?;
        let (count, start) = tx
            .hit_throttle(&format!("{}:{addr}", what.as_str()), ctx.now, window)
            .await?;
        if count == 1 {
            // a new window: forget counters nobody has touched for a day, and sign-in
            // ceremonies and challenges that expired an hour ago
            tx.prune_throttle(ctx.now - Duration::days(1)).await?;
            tx.prune_expired_ceremonies(ctx.now - Duration::hours(1))
                .await?;
        }
        tx.commit().await?;
        if count > limit {
            return Err(Error::RateLimited {
                retry_after_secs: ceil_secs(start + window - ctx.now),
            });
        }
        Ok(())
    }
}
