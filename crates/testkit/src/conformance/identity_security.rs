//! Conformance stories for what J7 stores: mailbox tokens, password history, login email
//! change, throttle counters, terms versions and agreements, and the filtered audit log.

use super::{app, identity, member, t0};
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use std::sync::Arc;
use time::Duration;

fn token(i: &Identity, purpose: TokenPurpose, n: u8, at: time::OffsetDateTime) -> IdentityToken {
    IdentityToken {
        id: uuid::Uuid::now_v7(),
        identity_id: i.id,
        purpose,
        token_hash: vec![n; 32],
        code_hash: Some(vec![n + 100; 32]),
        new_email: (purpose == TokenPurpose::EmailChange)
            .then(|| Email::parse("new@example.com").expect("email")),
        created_at: at,
        expires_at: at + Duration::minutes(30),
        used_at: None,
        tries: 0,
    }
}

pub async fn identity_tokens_are_single_use(store: Arc<dyn Store>) {
    let i = identity("tok@example.com");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_identity(&i).await.expect("identity");
    let first = token(&i, TokenPurpose::PasswordReset, 1, t0());
    let second = token(
        &i,
        TokenPurpose::PasswordReset,
        2,
        t0() + Duration::seconds(1),
    );
    let change = token(&i, TokenPurpose::EmailChange, 3, t0());
    for t in [&first, &second, &change] {
        tx.insert_identity_token(t).await.expect("token");
    }
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    let got = tx
        .lock_identity_token(&[2u8; 32])
        .await
        .expect("find")
        .expect("some");
    assert_eq!(got, second);
    assert_eq!(
        tx.lock_identity_token(&[9u8; 32]).await.expect("none"),
        None
    );
    let latest = tx
        .lock_latest_identity_token(i.id, TokenPurpose::PasswordReset)
        .await
        .expect("latest")
        .expect("some");
    assert_eq!(latest.id, second.id);
    let email = tx
        .lock_latest_identity_token(i.id, TokenPurpose::EmailChange)
        .await
        .expect("latest")
        .expect("some");
    assert_eq!(
        email.new_email.as_ref().map(|e| e.as_str()),
        Some("new@example.com")
    );
    // a wrong code counts; using it marks it
    let mut t = got.clone();
    t.tries = 2;
    t.used_at = Some(t0() + Duration::minutes(1));
    tx.update_identity_token(&t).await.expect("update");
    // voiding touches only the unused ones of that purpose
    let voided = tx
        .void_identity_tokens(
            i.id,
            TokenPurpose::PasswordReset,
            t0() + Duration::minutes(2),
        )
        .await
        .expect("void");
    assert_eq!(voided, 1);
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let a = r
        .lock_identity_token(&[1u8; 32])
        .await
        .expect("a")
        .expect("a");
    let b = r
        .lock_identity_token(&[2u8; 32])
        .await
        .expect("b")
        .expect("b");
    let c = r
        .lock_identity_token(&[3u8; 32])
        .await
        .expect("c")
        .expect("c");
    assert_eq!(a.used_at, Some(t0() + Duration::minutes(2)));
    assert_eq!((b.tries, b.used_at), (2, Some(t0() + Duration::minutes(1))));
    assert_eq!(c.used_at, None);
    assert!(!b.usable(t0()) && c.usable(t0()) && !c.usable(t0() + Duration::minutes(30)));
}

pub async fn password_history_and_login_email_change(store: Arc<dyn Store>) {
    let i = identity("hist@example.com");
    let other = identity("taken@example.com");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_identity(&i).await.expect("identity");
    tx.insert_identity(&other).await.expect("other");
    for (n, h) in ["$h1", "$h2", "$h3"].iter().enumerate() {
        tx.set_password(i.id, h, t0() + Duration::seconds(n as i64))
            .await
            .expect("set");
    }
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    assert_eq!(
        r.get_identity(i.id)
            .await
            .expect("get")
            .expect("some")
            .password_hash,
        "$h3"
    );
    // newest first: the hash each change replaced
    assert_eq!(
        r.password_history(i.id, 3).await.expect("history"),
        ["$h2", "$h1", "$argon2id$fake"]
    );
    assert_eq!(r.password_history(i.id, 1).await.expect("history"), ["$h2"]);
    drop(r);
    // the new email is unique among IDs, and found under its normalised form
    let mut tx = store.begin().await.expect("begin");
    let taken = Email::parse("Taken@Example.com").expect("email");
    assert!(matches!(
        tx.set_identity_email(i.id, &taken).await,
        Err(StoreError::Unique)
    ));
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    let new = Email::parse("Moved@Example.com").expect("email");
    tx.set_identity_email(i.id, &new).await.expect("change");
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let got = r
        .find_identity_by_email("moved@example.com")
        .await
        .expect("find")
        .expect("some");
    assert_eq!((got.id, got.email.as_str()), (i.id, "Moved@Example.com"));
    assert!(
        r.find_identity_by_email("hist@example.com")
            .await
            .expect("old")
            .is_none()
    );
}

pub async fn throttle_counts_in_fixed_windows(store: Arc<dyn Store>) {
    let w = Duration::minutes(10);
    let mut tx = store.begin().await.expect("begin");
    for n in 1..=3 {
        let (count, start) = tx
            .hit_throttle("login:10.0.0.1", t0() + Duration::seconds(n), w)
            .await
            .expect("hit");
        assert_eq!((count, start), (n, t0() + Duration::seconds(1)));
    }
    let (other, _) = tx
        .hit_throttle("login:10.0.0.2", t0(), w)
        .await
        .expect("other");
    assert_eq!(other, 1);
    // a window later, the count starts again
    let later = t0() + Duration::minutes(11);
    assert_eq!(
        tx.hit_throttle("login:10.0.0.1", later, w)
            .await
            .expect("hit"),
        (1, later)
    );
    assert_eq!(
        tx.prune_throttle(t0() + Duration::minutes(5))
            .await
            .expect("prune"),
        1
    );
    tx.commit().await.expect("commit");
}

pub async fn terms_versions_and_agreements(store: Arc<dyn Store>) {
    let i = identity("terms@example.com");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_identity(&i).await.expect("identity");
    assert!(tx.current_terms().await.expect("none").is_none());
    let v1 = TermsVersion {
        version: "2026-12".into(),
        body_html: "<p>One</p>".into(),
        published_at: t0(),
    };
    let v2 = TermsVersion {
        version: "2027-01".into(),
        body_html: "<p>Two</p>".into(),
        published_at: t0() + Duration::days(30),
    };
    tx.insert_terms(&v1).await.expect("v1");
    tx.insert_terms(&v2).await.expect("v2");
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    assert!(matches!(
        tx.insert_terms(&v1).await,
        Err(StoreError::Unique)
    ));
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.current_terms().await.expect("current"), Some(v2.clone()));
    tx.accept_terms(i.id, "2026-12", t0())
        .await
        .expect("accept");
    tx.accept_terms(i.id, "2027-01", t0() + Duration::days(31))
        .await
        .expect("accept");
    // agreeing twice keeps the first time
    tx.accept_terms(i.id, "2027-01", t0() + Duration::days(40))
        .await
        .expect("again");
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    assert_eq!(
        r.terms_acceptances(i.id).await.expect("list"),
        [
            ("2027-01".to_string(), t0() + Duration::days(31)),
            ("2026-12".to_string(), t0())
        ]
    );
    let got = r.get_identity(i.id).await.expect("get").expect("some");
    assert_eq!(got.terms_version.as_deref(), Some("2027-01"));
}

fn event(
    at: time::OffsetDateTime,
    app: Option<&AppId>,
    actor: Option<&Identity>,
    action: &str,
) -> AuditEvent {
    AuditEvent {
        id: uuid::Uuid::now_v7(),
        at,
        app_id: app.cloned(),
        actor_id: actor.map(|a| a.id),
        actor_label: actor.map_or("operator".into(), |a| a.email.to_string()),
        action: action.into(),
        target: None,
        client_addr: Some("192.0.2.1".into()),
        user_agent: Some("Mozilla/5.0".into()),
        details: serde_json::json!({}),
    }
}

pub async fn audit_filters_and_pages(store: Arc<dyn Store>) {
    let a = app("fi123", 5);
    let b = app("fi456", 5);
    let ada = identity("ada@example.com");
    let bob = identity("bob@example.com");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("a");
    tx.insert_app(&b).await.expect("b");
    tx.insert_identity(&ada).await.expect("ada");
    tx.insert_identity(&bob).await.expect("bob");
    let mut m = member(
        &a,
        "ada@example.com",
        MemberKind::User,
        MemberStatus::Active,
    );
    m.identity_id = Some(ada.id);
    tx.insert_member(&m).await.expect("member");
    let t = |s: i64| t0() + Duration::hours(s);
    let events = [
        event(t(0), Some(&a.app_id), Some(&ada), "member.invited"),
        event(t(1), None, Some(&ada), "login.failed"),
        event(t(2), None, Some(&ada), "login.succeeded"),
        event(t(3), None, Some(&bob), "login.failed"),
        event(t(4), Some(&b.app_id), Some(&ada), "member.left"),
        event(t(25), Some(&a.app_id), None, "seats.purchased"),
    ];
    for e in &events {
        tx.insert_audit(e).await.expect("audit");
    }
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let actions = |v: Vec<AuditEvent>| v.into_iter().map(|e| e.action).collect::<Vec<_>>();
    // the app's own events and its Active members' failed logins; not their other ID-level
    // events, not another app's, not a stranger's
    let all = r
        .list_audit(&a.app_id, &AuditFilter::default(), 50)
        .await
        .expect("all");
    assert_eq!(all[0].user_agent.as_deref(), Some("Mozilla/5.0"));
    assert_eq!(
        actions(all),
        ["seats.purchased", "login.failed", "member.invited"]
    );
    let f = AuditFilter {
        action: Some("login.".into()),
        actor_text: Some("ADA@".into()),
        ..Default::default()
    };
    assert_eq!(
        actions(r.list_audit(&a.app_id, &f, 50).await.expect("f")),
        ["login.failed"]
    );
    let f = AuditFilter {
        from: Some(t(1)),
        to: Some(t(2)),
        ..Default::default()
    };
    assert_eq!(
        actions(r.list_audit(&a.app_id, &f, 50).await.expect("dates")),
        ["login.failed"]
    );
    // cursor paging: strictly older than the last event of the page
    let page1 = r
        .list_audit(&a.app_id, &AuditFilter::default(), 2)
        .await
        .expect("p1");
    let last = page1.last().expect("last");
    let f = AuditFilter {
        before: Some((last.at, last.id)),
        ..Default::default()
    };
    assert_eq!(
        actions(r.list_audit(&a.app_id, &f, 2).await.expect("p2")),
        ["member.invited"]
    );
    // an ID's own activity, in every app
    let f = AuditFilter {
        actor: Some(ada.id),
        ..Default::default()
    };
    assert_eq!(
        actions(r.list_identity_audit(&f, 50).await.expect("mine")),
        [
            "member.left",
            "login.succeeded",
            "login.failed",
            "member.invited"
        ]
    );
}
