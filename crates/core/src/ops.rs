//! What the people running Roster watch: the mail worker's heartbeat (`/readyz`), the
//! counters every audited security event feeds (`/metrics`), and who a request turned out to
//! be for its access-log line ([`RequestNotes`]).
//!
//! The counters go through the `metrics` facade: without an installed recorder (the CLI, unit
//! tests) they cost a branch and record nothing. Labels are fixed words from the code (audit
//! actions, outcomes), never anything a request carries.

use crate::Principal;
use crate::model::ApiKeyKind;
use crate::types::IdentityId;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

tokio::task_local! {
    static REQUEST: RequestNotes;
}

/// What the services learn about a request that its access-log line should carry: the actor
/// (the ID, or `key:<id>` for a service key), noted when a credential is authenticated or an
/// audited event names one. Only ids: never an email address, a token or a secret.
#[derive(Clone, Default, Debug)]
pub struct RequestNotes(Arc<Mutex<Option<String>>>);

impl RequestNotes {
    /// Run `f` (a request's handling, on this task) with these notes collecting.
    pub async fn scope<F: std::future::Future>(&self, f: F) -> F::Output {
        REQUEST.scope(self.clone(), f).await
    }

    /// The last actor noted.
    pub fn actor(&self) -> Option<String> {
        self.0.lock().ok().and_then(|g| g.clone())
    }
}

fn note(actor: String) {
    let _ = REQUEST.try_with(|n| {
        if let Ok(mut g) = n.0.lock() {
            *g = Some(actor);
        }
    });
}

/// Note the authenticated principal as the request's actor (outside a request: nothing).
pub fn note_actor(p: &Principal) {
    match &p.key {
        Some(k) if k.kind == ApiKeyKind::Service => note(format!("key:{}", k.key_id)),
        _ => note(p.identity_id.to_string()),
    }
}

/// Note an ID as the request's actor.
pub fn note_actor_id(id: IdentityId) {
    note(id.to_string());
}

/// Every audited event: counted (see [`count_audit`]) and, when it names an ID, that ID noted
/// as the request's actor. The one hook in `Services::audit`.
pub fn on_audit(action: &str, actor: Option<IdentityId>, details: &serde_json::Value) {
    count_audit(action, details);
    if let Some(id) = actor {
        note_actor_id(id);
    }
}

/// When a background worker last showed it is alive. The worker beats at every pass and while
/// it records outcomes; readiness asks whether the last beat is recent enough.
#[derive(Debug)]
pub struct Heartbeat {
    /// Unix milliseconds of the last beat.
    last_ms: AtomicI64,
    /// Longer than this without a beat: the worker is stuck or gone.
    max_silence: std::time::Duration,
}

impl Heartbeat {
    /// A heartbeat that counts as beaten now (a worker just being started).
    pub fn new(max_silence: std::time::Duration) -> Self {
        let hb = Heartbeat {
            last_ms: AtomicI64::new(0),
            max_silence,
        };
        hb.beat();
        hb
    }

    pub fn beat(&self) {
        self.beat_at(OffsetDateTime::now_utc());
    }

    pub fn beat_at(&self, at: OffsetDateTime) {
        let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Seconds since the last beat at `now` (never negative).
    pub fn silent_for(&self, now: OffsetDateTime) -> std::time::Duration {
        let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let ms = now_ms.saturating_sub(self.last_ms.load(Ordering::Relaxed));
        std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// `Err` (why) when the last beat is older than allowed.
    pub fn check(&self, now: OffsetDateTime) -> Result<(), String> {
        let silent = self.silent_for(now);
        if silent > self.max_silence {
            Err(format!(
                "no sign of life for {} s (allowed: {} s)",
                silent.as_secs(),
                self.max_silence.as_secs()
            ))
        } else {
            Ok(())
        }
    }
}

/// Counts one audited event: `roster_audit_events_total{action}` for every action, and the
/// named counters operations ask for by their own names — `roster_logins_total{outcome}`
/// (`ok`, `failed`, `locked`), `roster_second_factor_total{outcome}` (`ok`, `failed`),
/// `roster_lockouts_total` and `roster_invitations_total{event}` (`sent`, `accepted`,
/// `resent`, `revoked`, …). Counted when the event is recorded (inside its transaction).
pub fn count_audit(action: &str, details: &serde_json::Value) {
    metrics::counter!("roster_audit_events_total", "action" => action.to_string()).increment(1);
    match action {
        "login.succeeded" => {
            metrics::counter!("roster_logins_total", "outcome" => "ok").increment(1);
            let mfa = details["amr"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "mfa"));
            if mfa {
                metrics::counter!("roster_second_factor_total", "outcome" => "ok").increment(1);
            }
        }
        "login.failed" => {
            let reason = details["reason"].as_str().unwrap_or("");
            let outcome = if reason == "locked" {
                "locked"
            } else {
                "failed"
            };
            metrics::counter!("roster_logins_total", "outcome" => outcome).increment(1);
            if reason == "second_factor" {
                metrics::counter!("roster_second_factor_total", "outcome" => "failed").increment(1);
            }
        }
        "id.locked" => metrics::counter!("roster_lockouts_total").increment(1),
        _ => {
            if let Some(event) = action.strip_prefix("invitation.") {
                metrics::counter!("roster_invitations_total", "event" => event.to_string())
                    .increment(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_goes_stale_after_its_allowed_silence() {
        let hb = Heartbeat::new(std::time::Duration::from_secs(60));
        let now = OffsetDateTime::now_utc();
        assert!(hb.check(now).is_ok());
        hb.beat_at(now - time::Duration::seconds(61));
        let why = hb.check(now).expect_err("stale");
        assert!(why.contains("61 s"), "{why}");
        hb.beat_at(now);
        assert!(hb.check(now).is_ok());
    }
}
