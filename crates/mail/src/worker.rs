//! The outbox worker: claims due messages (with a lease), renders them, sends them with no
//! transaction open, then records the outcome. Failures are retried with exponential backoff.

use crate::render::Renderer;
use roster_core::mailer::Mailer;
use roster_core::model::OutboxMessage;
use roster_core::store::Store;
use roster_core::{Error, Result};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Temporary failures are retried until the message is this old (then it is Failed).
    pub give_up_after: Duration,
    /// Attempts before a message is given up as Failed.
    pub max_attempts: i64,
    /// Delay before the 2nd attempt; doubles each time.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long a claimed message is reserved for the worker that claimed it.
    pub lease: Duration,
    pub batch: u32,
    /// Messages sent at once (over the transport's connection pool).
    pub concurrency: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            give_up_after: Duration::hours(24),
            // enough for a day of backoff capped at an hour
            max_attempts: 40,
            base_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            // short, and renewed while a batch is being sent: after a crash, what the dead
            // worker had claimed is free again within this (plus one tick of the new worker)
            lease: Duration::seconds(45),
            batch: 64,
            concurrency: 8,
        }
    }
}

impl RetryPolicy {
    /// When to try a message again after its `attempts`-th temporary failure: exponential
    /// backoff (30 s, 1 min, 2 min, … capped at an hour) plus up to a quarter of jitter (`jitter`
    /// in 0..=1, so that many messages failing together do not retry together), never later than
    /// `created_at + give_up_after`; `None` when that time has passed or the attempts are spent.
    pub fn next_retry(
        &self,
        now: OffsetDateTime,
        created_at: OffsetDateTime,
        attempts: i64,
        jitter: f64,
    ) -> Option<OffsetDateTime> {
        let deadline = created_at + self.give_up_after;
        if attempts >= self.max_attempts || now >= deadline {
            return None;
        }
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        let delay = (self.base_delay * 2i32.saturating_pow(exp)).min(self.max_delay);
        let delay = delay + delay * (jitter.clamp(0.0, 1.0) / 4.0);
        Some((now + delay).min(deadline))
    }
}

/// What one attempt came to: sent, or the error and whether trying again may help.
type Outcome = std::result::Result<(), (String, bool)>;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

#[derive(Clone)]
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    renderer: Renderer,
    policy: RetryPolicy,
    stop: Stopper,
    /// This worker's node id, recorded on what it claims (see [`OutboxWorker::with_owner`]).
    owner: Option<String>,
    /// Beaten at every pass and recorded outcome (`/readyz` asks whether it is recent).
    heartbeat: Option<Arc<roster_core::ops::Heartbeat>>,
}

/// Asks a running worker to stop: it finishes the message in hand, hands the rest of its
/// claimed batch back (due at once, for the next worker or the next start) and returns.
#[derive(Clone, Default)]
pub struct Stopper {
    flag: Arc<std::sync::atomic::AtomicBool>,
    wake: Arc<Notify>,
}

impl Stopper {
    pub fn stop(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }

    pub fn stopping(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl OutboxWorker {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        renderer: Renderer,
        policy: RetryPolicy,
    ) -> Self {
        OutboxWorker {
            store,
            mailer,
            renderer,
            policy,
            stop: Stopper::default(),
            owner: None,
            heartbeat: None,
        }
    }

    /// Beat `hb` while running (see [`roster_core::ops::Heartbeat`]).
    pub fn with_heartbeat(mut self, hb: Arc<roster_core::ops::Heartbeat>) -> Self {
        self.heartbeat = Some(hb);
        self
    }

    fn beat(&self) {
        if let Some(hb) = &self.heartbeat {
            hb.beat();
        }
    }

    /// Record `node_id` on every message this worker claims, and at [`run`](Self::run)'s start
    /// take back what a previous process with the same id claimed and never finished (it was
    /// killed): after a crash and restart those go out at once, not after their lease.
    pub fn with_owner(mut self, node_id: impl Into<String>) -> Self {
        self.owner = Some(node_id.into());
        self
    }

    /// The handle that stops this worker (and its clones).
    pub fn stopper(&self) -> Stopper {
        self.stop.clone()
    }

    /// One pass: deliver what is due at `now`, several messages at once. Each outcome is
    /// recorded as soon as it is known; the lease of what is still unsent is renewed while the
    /// pass runs; when asked to stop, no new message is started and the unstarted ones are
    /// handed back, due at once.
    pub async fn run_once(&self, now: OffsetDateTime) -> Result<Report> {
        use futures::StreamExt;
        let mut tx = self.store.begin().await?;
        let batch = match &self.owner {
            Some(o) => {
                tx.claim_outbox_as(o, now, now + self.policy.lease, self.policy.batch)
                    .await?
            }
            None => {
                tx.claim_outbox(now, now + self.policy.lease, self.policy.batch)
                    .await?
            }
        };
        tx.commit().await?;

        let mut report = Report::default();
        let lease = std::time::Duration::from_secs(self.policy.lease.whole_seconds().max(3) as u64);
        let claimed = std::time::Instant::now();
        let mut renewed = claimed;
        let mut open: Vec<_> = batch.iter().map(|m| m.id).collect();
        let stop = self.stop.clone();
        let mut sends = futures::stream::iter(batch)
            .take_while(move |_| futures::future::ready(!stop.stopping()))
            .map(|msg| async move {
                let outcome = self.deliver(&msg).await;
                (msg, outcome)
            })
            .buffer_unordered(self.policy.concurrency.max(1));
        // outcomes are recorded together (one transaction for many: a commit per message
        // would bound throughput by the disk's fsync rate); a crash before the write only
        // means those messages are sent again, with the same Message-ID
        let mut done: Vec<(OutboxMessage, Outcome)> = Vec::new();
        let mut flushed = std::time::Instant::now();
        while let Some((msg, outcome)) = sends.next().await {
            open.retain(|id| *id != msg.id);
            done.push((msg, outcome));
            if done.len() >= 32 || flushed.elapsed() > std::time::Duration::from_millis(250) {
                self.record(std::mem::take(&mut done), now, &mut report)
                    .await?;
                flushed = std::time::Instant::now();
            }
            // a slow batch keeps its lease: renew what is left every third of it
            if renewed.elapsed() > lease / 3 && !open.is_empty() {
                let elapsed = Duration::try_from(claimed.elapsed()).unwrap_or(Duration::ZERO);
                let mut tx = self.store.begin().await?;
                tx.renew_outbox_lease(&open, now + elapsed + self.policy.lease)
                    .await?;
                tx.commit().await?;
                renewed = std::time::Instant::now();
            }
        }
        self.record(done, now, &mut report).await?;
        drop(sends);
        // stopping: hand back what was never started, due at once
        if !open.is_empty() {
            let mut tx = self.store.begin().await?;
            tx.renew_outbox_lease(&open, now).await?;
            tx.commit().await?;
        }
        Ok(report)
    }

    /// Render and send one message: Ok, or the error and whether trying again may help.
    async fn deliver(&self, msg: &OutboxMessage) -> Outcome {
        match self.renderer.render(msg) {
            Ok(email) => self
                .mailer
                .send(&email)
                .await
                // a permanent refusal (5xx) stops at once; the rest is retried
                .map_err(|e| (e.message, !e.permanent)),
            Err(e) => Err((e.to_string(), false)),
        }
    }

    async fn record(
        &self,
        outcomes: Vec<(OutboxMessage, Outcome)>,
        now: OffsetDateTime,
        report: &mut Report,
    ) -> Result<()> {
        self.beat();
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        for (msg, outcome) in outcomes {
            match outcome {
                Ok(()) => {
                    tx.complete_outbox(msg.id, now).await?;
                    report.sent += 1;
                    metrics::counter!("roster_mail_deliveries_total", "outcome" => "sent")
                        .increment(1);
                }
                Err((err, retryable)) => {
                    let retry = if retryable {
                        self.policy.next_retry(
                            now,
                            msg.created_at,
                            msg.attempts,
                            rand::random::<f64>(),
                        )
                    } else {
                        None
                    };
                    tracing::warn!(message = %msg.id, attempts = msg.attempts, retry = ?retry, error = %err, "mail delivery failed");
                    let outcome = if retry.is_some() {
                        report.retrying += 1;
                        "retry"
                    } else {
                        report.failed += 1;
                        "failed"
                    };
                    metrics::counter!("roster_mail_deliveries_total", "outcome" => outcome)
                        .increment(1);
                    tx.fail_outbox(msg.id, &err, retry).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn release_own_claims(&self, owner: &str) -> Result<u64> {
        let mut tx = self.store.begin().await?;
        let n = tx.release_claims(owner, OffsetDateTime::now_utc()).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Deliver until the batch is empty.
    pub async fn drain(&self, now: OffsetDateTime) -> Result<Report> {
        let mut total = Report::default();
        loop {
            let r = self.run_once(now).await?;
            total.sent += r.sent;
            total.retrying += r.retrying;
            total.failed += r.failed;
            if r.sent + r.retrying + r.failed == 0 {
                return Ok(total);
            }
        }
    }

    /// Run forever: after every kick (a commit that queued mail) and at least every `tick`.
    /// Deliver until empty, each pass at the current time (leases are counted from it).
    async fn drain_live(&self) -> Result<Report> {
        let mut total = Report::default();
        loop {
            if self.stop.stopping() {
                return Ok(total);
            }
            let r = self.run_once(OffsetDateTime::now_utc()).await?;
            total.sent += r.sent;
            total.retrying += r.retrying;
            total.failed += r.failed;
            if r.sent + r.retrying + r.failed == 0 {
                return Ok(total);
            }
        }
    }

    /// Deliver as mail is queued (or every `tick`) until [`Stopper::stop`].
    pub async fn run(self, kick: Arc<Notify>, tick: std::time::Duration) {
        self.beat();
        if let Some(o) = &self.owner {
            match self.release_own_claims(o).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    released = n,
                    "took back messages a previous run of this node had claimed"
                ),
                Err(e) => tracing::error!(error = %e, "cannot take back earlier claims"),
            }
        }
        loop {
            self.beat();
            match self.drain_live().await {
                Ok(r) if r.sent + r.failed + r.retrying > 0 => {
                    tracing::info!(
                        sent = r.sent,
                        retrying = r.retrying,
                        failed = r.failed,
                        "outbox pass"
                    );
                }
                Ok(_) => {}
                Err(Error::Store(e)) => tracing::error!(error = %e, "outbox pass failed"),
                Err(e) => tracing::error!(error = %e, "outbox pass failed"),
            }
            if self.stop.stopping() {
                return;
            }
            tokio::select! {
                _ = kick.notified() => {}
                _ = self.stop.wake.notified() => {}
                _ = tokio::time::sleep(tick) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_gives_up_after_a_day() {
        let p = RetryPolicy::default();
        let t = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(p.next_retry(t, t, 1, 0.0), Some(t + Duration::seconds(30)));
        assert_eq!(p.next_retry(t, t, 2, 0.0), Some(t + Duration::seconds(60)));
        assert_eq!(p.next_retry(t, t, 3, 0.0), Some(t + Duration::seconds(120)));
        // jitter adds at most a quarter
        assert_eq!(p.next_retry(t, t, 2, 1.0), Some(t + Duration::seconds(75)));
        assert_eq!(p.next_retry(t, t, 20, 0.0), Some(t + Duration::hours(1)));
        // never past a day after the message was made; then it is failed
        let late = t + Duration::hours(23) + Duration::minutes(50);
        assert_eq!(
            p.next_retry(late, t, 20, 0.0),
            Some(t + Duration::hours(24))
        );
        assert_eq!(p.next_retry(t + Duration::hours(24), t, 20, 0.0), None);
        assert_eq!(p.next_retry(t, t, 40, 0.0), None);
    }
}
