//! Conformance story for outbox leases: a worker still sending renews its claim; a dead one's
//! claim runs out and another worker takes the messages over.

use super::t0;
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use std::sync::Arc;
use time::Duration;

pub async fn outbox_leases_are_renewed_and_run_out(store: Arc<dyn Store>) {
    let to = Email::parse("lease@example.com").expect("email");
    let mail = Mail::AccountInformation {
        first_name: "Ada".into(),
        email: "lease@example.com".into(),
        app_name: "A".into(),
        app_id: AppId::parse("le123").expect("id"),
    };
    let mut tx = store.begin().await.expect("begin");
    let msgs: Vec<_> = (0..2)
        .map(|_| OutboxMessage::new(t0(), &to, mail.clone(), None))
        .collect();
    for m in &msgs {
        tx.enqueue(m).await.expect("enqueue");
    }
    tx.commit().await.expect("commit");
    let lease = Duration::seconds(45);
    let mut tx = store.begin().await.expect("begin");
    let claimed = tx
        .claim_outbox(t0(), t0() + lease, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    // the first is sent; the second's lease is renewed while the worker is still busy
    tx.complete_outbox(claimed[0].id, t0()).await.expect("sent");
    tx.renew_outbox_lease(
        &[claimed[0].id, claimed[1].id],
        t0() + Duration::seconds(90),
    )
    .await
    .expect("renew");
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    // within the renewed lease nobody else takes it
    let none = tx
        .claim_outbox(
            t0() + Duration::seconds(60),
            t0() + Duration::seconds(105),
            10,
        )
        .await
        .expect("claim");
    assert!(none.is_empty());
    // the worker died: after the lease, another takes it over (same message, next attempt)
    let again = tx
        .claim_outbox(
            t0() + Duration::seconds(91),
            t0() + Duration::seconds(136),
            10,
        )
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (claimed[1].id, 2));
    // a sent message is never renewed back to life
    let got = tx
        .get_outbox(claimed[0].id)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(got.status, OutboxStatus::Sent);
    tx.commit().await.expect("commit");
}

pub async fn outbox_pages_through_everything_by_status(store: Arc<dyn Store>) {
    let to = Email::parse("page@example.com").expect("email");
    let mail = Mail::AccountInformation {
        first_name: "Ada".into(),
        email: "page@example.com".into(),
        app_name: "A".into(),
        app_id: AppId::parse("pg123").expect("id"),
    };
    let mut tx = store.begin().await.expect("begin");
    let mut ids = Vec::new();
    for n in 0..5 {
        let m = OutboxMessage::new(t0() + Duration::seconds(n), &to, mail.clone(), None);
        ids.push(m.id);
        tx.enqueue(&m).await.expect("enqueue");
    }
    // two of them failed for good
    tx.fail_outbox(ids[1], "550 no such user", None)
        .await
        .expect("fail");
    tx.fail_outbox(ids[3], "550 no such user", None)
        .await
        .expect("fail");
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    // pages of 2, newest first, no repeats, nothing missed
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = r.list_outbox(None, before, 2).await.expect("page");
        let Some(last) = page.last() else { break };
        before = Some((last.created_at, last.id));
        seen.extend(page.iter().map(|m| m.id));
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    let failed = r
        .list_outbox(Some(OutboxStatus::Failed), None, 10)
        .await
        .expect("failed");
    assert_eq!(
        failed.iter().map(|m| m.id).collect::<Vec<_>>(),
        [ids[3], ids[1]]
    );
    assert_eq!(failed[0].last_error.as_deref(), Some("550 no such user"));
}
