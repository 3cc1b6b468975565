//! Mail (outbox) journey: failed deliveries are retried, a restart delivers what was pending.

use reqwest::StatusCode;
use roster_testkit::TestApp;
use time::Duration;

pub(super) async fn a_failed_delivery_is_retried_and_later_delivered(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    t.mailer.fail_next(2);
    t.invite(&a, &admin, "retry@example.com", "user", false)
        .await;
    assert!(t.deliver_mail().await.is_empty(), "first attempt failed");
    let mut r = t.store.read().await.expect("read");
    let m = r.list_outbox(None, None, 1).await.expect("list").remove(0);
    drop(r);
    assert_eq!(m.attempts, 1);
    assert!(m.last_error.as_deref().unwrap_or("").contains("451"));
    // not yet due
    t.clock.advance(Duration::seconds(10));
    assert!(t.deliver_mail().await.is_empty());
    t.clock.advance(Duration::seconds(30)); // 30–37.5 s backoff passed → 2nd attempt fails too
    assert!(t.deliver_mail().await.is_empty());
    t.clock.advance(Duration::seconds(76)); // 60–75 s backoff → 3rd attempt succeeds
    let sent = t.deliver_mail().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "retry@example.com");
    let mut r = t.store.read().await.expect("read");
    let m = r.get_outbox(m.id).await.expect("get").expect("some");
    assert_eq!(m.attempts, 3);
    assert_eq!(m.secret, None);
}

pub(super) async fn a_permanent_refusal_stops_at_once_with_the_servers_reply(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    t.mailer.refuse_next(1);
    t.invite(&a, &admin, "nobody@example.com", "user", false)
        .await;
    assert!(t.deliver_mail().await.is_empty());
    let mut r = t.store.read().await.expect("read");
    let m = r.list_outbox(None, None, 1).await.expect("list").remove(0);
    drop(r);
    // failed after one attempt, the reply kept, the secret erased; never tried again
    assert_eq!(m.status, roster_core::model::OutboxStatus::Failed);
    assert_eq!(m.attempts, 1);
    assert!(m.last_error.as_deref().unwrap_or("").contains("550"));
    assert_eq!(m.secret, None);
    t.clock.advance(Duration::hours(3));
    assert!(t.deliver_mail().await.is_empty());
}

pub(super) async fn a_restart_delivers_what_was_pending(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    let r = t
        .invite(&a, &admin, "pending@example.com", "user", false)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // The process "dies" before delivering: a brand-new server on the same database file
    // (new pool, new worker, new mailer) delivers the message.
    let store = roster::open_store(&t.db_url).await.expect("reopen");
    let mailer = std::sync::Arc::new(roster_testkit::CapturingMailer::default());
    let worker = roster_mail::OutboxWorker::new(
        store,
        mailer.clone(),
        roster_testkit::test_renderer(&t.addr),
        roster_mail::RetryPolicy::default(),
    );
    worker.drain(t.now()).await.expect("drain");
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "pending@example.com");
    // and it is not delivered twice
    assert!(t.deliver_mail().await.is_empty());

    // a message claimed by a worker that died is delivered after its lease
    t.invite(&a, &admin, "lease@example.com", "user", false)
        .await;
    let mut tx = t.store.begin().await.expect("begin");
    let claimed = tx
        .claim_outbox(t.now(), t.now() + Duration::minutes(5), 10)
        .await
        .expect("claim");
    tx.commit().await.expect("commit");
    assert_eq!(claimed.len(), 1); // ...and that worker crashed here
    assert!(t.deliver_mail().await.is_empty());
    t.clock.advance(Duration::minutes(6));
    let sent = t.deliver_mail().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].message_id,
        claimed[0].message_id_header("roster.test")
    );
}

/// A mailer whose first send waits until the test lets it finish.
struct GatedMailer {
    entered: tokio::sync::Notify,
    gate: tokio::sync::Notify,
    sent: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl roster_core::mailer::Mailer for GatedMailer {
    async fn send(
        &self,
        e: &roster_core::mailer::OutgoingEmail,
    ) -> Result<(), roster_core::mailer::MailError> {
        self.entered.notify_one();
        self.gate.notified().await;
        if let Ok(mut v) = self.sent.lock() {
            v.push(e.to.clone());
        }
        Ok(())
    }
}

pub(super) async fn a_stopping_worker_finishes_the_message_in_hand_and_hands_back_the_rest(
    t: TestApp,
) {
    let (a, admin) = t.app_with_admin("Alpha", 5).await;
    for n in 0..3 {
        t.invite(&a, &admin, &format!("u{n}@example.com"), "user", false)
            .await;
    }
    let mailer = std::sync::Arc::new(GatedMailer {
        entered: tokio::sync::Notify::new(),
        gate: tokio::sync::Notify::new(),
        sent: std::sync::Mutex::new(Vec::new()),
    });
    let worker = roster_mail::OutboxWorker::new(
        t.store.clone(),
        mailer.clone(),
        roster_testkit::test_renderer(&t.addr),
        // one at a time: "the message in hand" is one message (with more at once, every
        // message in flight is finished the same way)
        roster_mail::RetryPolicy {
            concurrency: 1,
            ..roster_mail::RetryPolicy::default()
        },
    );
    let stop = worker.stopper();
    let running = tokio::spawn(worker.run(
        std::sync::Arc::new(tokio::sync::Notify::new()),
        std::time::Duration::from_secs(3600),
    ));
    // the worker is in the middle of its first message: stop it, then let that send finish
    mailer.entered.notified().await;
    stop.stop();
    mailer.gate.notify_one();
    tokio::time::timeout(std::time::Duration::from_secs(10), running)
        .await
        .expect("the worker stops")
        .expect("no panic");
    assert_eq!(mailer.sent.lock().map(|v| v.len()).unwrap_or(0), 1);
    // the other two are due at once for the next worker
    let mut tx = t.store.begin().await.expect("begin");
    let now = time::OffsetDateTime::now_utc();
    let left = tx
        .claim_outbox(now, now + Duration::seconds(45), 10)
        .await
        .expect("claim");
    tx.commit().await.expect("commit");
    assert_eq!(left.len(), 2);
}
