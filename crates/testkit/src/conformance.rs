//! The store conformance suite: every `Store` backend must pass every function here.
//! Each function takes a fresh, migrated store.

use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

mod email_norm;
mod identity_security;
mod mail_groups;
mod member_search;
mod oidc;
mod outbox_lease;
mod profiles;
mod second_factors;
mod secrets;
pub use email_norm::*;
pub use identity_security::*;
pub use mail_groups::*;
pub use member_search::*;
pub use oidc::*;
pub use outbox_lease::*;
pub use profiles::*;
pub use second_factors::*;
pub use secrets::*;

pub(crate) fn t0() -> OffsetDateTime {
    // millisecond precision, as stored
    OffsetDateTime::from_unix_timestamp(1_790_000_000).expect("time")
}

pub(crate) fn app(id: &str, seats: i64) -> App {
    App {
        app_id: AppId::parse(id).expect("app id"),
        name: format!("App {id}"),
        seats_purchased: seats,
        seats_complimentary: 0,
        seats_held: 0,
        created_at: t0(),
    }
}

pub(crate) fn identity(email: &str) -> Identity {
    Identity {
        id: IdentityId::new(),
        email: Email::parse(email).expect("email"),
        first_name: "Ada".into(),
        last_name: Some("Lovelace".into()),
        password_hash: "$argon2id$fake".into(),
        security_question: Some(SecurityQuestion::FirstCar),
        security_answer_hash: Some("$argon2id$answer".into()),
        terms_version: Some("v1".into()),
        terms_accepted_at: Some(t0()),
        created_at: t0(),
        lockout: Lockout::default(),
    }
}

pub(crate) fn member(app: &App, email: &str, kind: MemberKind, status: MemberStatus) -> Member {
    Member {
        id: MemberId::new(),
        app_id: app.app_id.clone(),
        identity_id: None,
        email: Email::parse(email).expect("email"),
        first_name: Some(email.split('@').next().unwrap_or("x").into()),
        last_name: None,
        kind,
        admin: false,
        status,
        holds_seat: Member::should_hold_seat(kind, status),
        created_at: t0(),
        last_login_at: None,
    }
}

fn invitation(m: &Member, token: &[u8], expires: OffsetDateTime) -> Invitation {
    Invitation {
        id: InvitationId::new(),
        app_id: m.app_id.clone(),
        member_id: m.id,
        email: m.email.clone(),
        kind: m.kind,
        admin: m.admin,
        token_hash: token.to_vec(),
        status: InvitationStatus::Pending,
        inviter_id: None,
        inviter_name: "Ada".into(),
        created_at: t0(),
        expires_at: expires,
        ended_at: None,
    }
}

pub async fn apps_and_seats(store: Arc<dyn Store>) {
    let mut tx = store.begin().await.expect("begin");
    let a = app("ab123", 2);
    tx.insert_app(&a).await.expect("insert");
    tx.commit().await.expect("commit");
    // after an error a transaction is dead on every backend: callers drop it
    let mut tx = store.begin().await.expect("begin");
    assert!(matches!(tx.insert_app(&a).await, Err(StoreError::Unique)));
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    let mut locked = tx.lock_app(&a.app_id).await.expect("lock").expect("app");
    assert_eq!(locked, a);
    locked.seats_held = 3; // more than purchased: the database refuses
    assert!(tx.update_app_seats(&locked).await.is_err());
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    let mut locked = tx.lock_app(&a.app_id).await.expect("lock").expect("app");
    locked.seats_complimentary = 1;
    locked.seats_held = 3;
    tx.update_app_seats(&locked).await.expect("update");
    let entry = SeatLedgerEntry {
        id: uuid::Uuid::now_v7(),
        app_id: a.app_id.clone(),
        at: t0(),
        kind: SeatEntryKind::Complimentary,
        quantity: 1,
        actor: None,
        note: Some("a welcome gift".into()),
        request: None,
    };
    tx.insert_seat_entry(&entry).await.expect("ledger");
    tx.commit().await.expect("commit");

    let mut r = store.read().await.expect("read");
    let got = r.get_app(&a.app_id).await.expect("get").expect("app");
    assert_eq!((got.seats_total(), got.seats_held), (3, 3));
    // the note (why) is kept with the entry
    assert_eq!(
        r.list_seat_entries(&a.app_id).await.expect("ledger"),
        vec![entry]
    );
    assert_eq!(r.count_apps().await.expect("count"), 1);
    assert!(
        r.get_app(&AppId::parse("zz999").expect("id"))
            .await
            .expect("get")
            .is_none()
    );
}

pub async fn rollback_leaves_nothing(store: Arc<dyn Store>) {
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&app("rb123", 1)).await.expect("insert");
    drop(tx);
    let mut r = store.read().await.expect("read");
    assert_eq!(r.count_apps().await.expect("count"), 0);
}

pub async fn identities_are_unique_by_email(store: Arc<dyn Store>) {
    let mut tx = store.begin().await.expect("begin");
    let i = identity("Ada@Example.com");
    tx.insert_identity(&i).await.expect("insert");
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    assert!(matches!(
        tx.insert_identity(&identity("ada@example.COM")).await,
        Err(StoreError::Unique)
    ));
    drop(tx);
    let mut r = store.read().await.expect("read");
    let got = r
        .find_identity_by_email("ada@example.com")
        .await
        .expect("find")
        .expect("some");
    assert_eq!(got.id, i.id);
    assert_eq!(got.email.as_str(), "Ada@Example.com");
    assert_eq!(got.security_question, Some(SecurityQuestion::FirstCar));
    assert_eq!(got.terms_accepted_at, Some(t0()));
    drop(r);
    let mut tx = store.begin().await.expect("begin");
    let l = Lockout {
        failed_count: 3,
        window_start: Some(t0()),
        level: 1,
        locked_until: Some(t0() + Duration::minutes(1)),
        in_flight: 2,
        in_flight_at: Some(t0()),
    };
    tx.update_lockout(i.id, &l).await.expect("lockout");
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    assert_eq!(
        r.get_identity(i.id)
            .await
            .expect("get")
            .expect("some")
            .lockout,
        l
    );
}

pub async fn members_list_filter_search_and_page(store: Arc<dyn Store>) {
    let a = app("mm123", 100);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("app");
    for n in 0..30 {
        let status = match n % 3 {
            0 => MemberStatus::Active,
            1 => MemberStatus::Invited,
            _ => MemberStatus::Inactive,
        };
        let kind = if n % 5 == 0 {
            MemberKind::Partner
        } else {
            MemberKind::User
        };
        tx.insert_member(&member(
            &a,
            &format!("user{n:02}@example.com"),
            kind,
            status,
        ))
        .await
        .expect("member");
    }
    tx.insert_member(&member(
        &a,
        "gone@example.com",
        MemberKind::User,
        MemberStatus::Removed,
    ))
    .await
    .expect("removed");
    tx.commit().await.expect("commit");
    // (app, email) is unique, case-insensitively
    let mut tx = store.begin().await.expect("begin");
    assert!(matches!(
        tx.insert_member(&member(
            &a,
            "USER00@example.com",
            MemberKind::User,
            MemberStatus::Invited
        ))
        .await,
        Err(StoreError::Unique)
    ));
    drop(tx);

    let mut r = store.read().await.expect("read");
    let q = |filter, search: Option<&str>, after: Option<String>, limit| MemberQuery {
        filter,
        search: search.map(String::from),
        after,
        limit,
    };
    let active_invited = r
        .list_members(&a.app_id, &q(MemberFilter::ActiveInvited, None, None, 100))
        .await
        .expect("list");
    assert_eq!(active_invited.len(), 20);
    assert!(
        active_invited
            .iter()
            .all(|m| matches!(m.status, MemberStatus::Active | MemberStatus::Invited))
    );
    let inactive = r
        .list_members(&a.app_id, &q(MemberFilter::Inactive, None, None, 100))
        .await
        .expect("list");
    assert_eq!(inactive.len(), 10);
    let partners = r
        .list_members(&a.app_id, &q(MemberFilter::Partners, None, None, 100))
        .await
        .expect("list");
    assert_eq!(partners.len(), 6);
    let found = r
        .list_members(
            &a.app_id,
            &q(MemberFilter::ActiveInvited, Some("user1"), None, 100),
        )
        .await
        .expect("search");
    assert!(!found.is_empty() && found.iter().all(|m| m.email.as_str().starts_with("user1")));
    let none = r
        .list_members(
            &a.app_id,
            &q(MemberFilter::ActiveInvited, Some("%"), None, 100),
        )
        .await
        .expect("search");
    assert!(none.is_empty(), "LIKE wildcards are escaped");

    // paging: sorted by email, no overlaps, no gaps
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .list_members(
                &a.app_id,
                &q(MemberFilter::ActiveInvited, None, after.clone(), 7),
            )
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|m| m.email.normalized().to_string());
        seen.extend(page.into_iter().map(|m| m.email.to_string()));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 20);
}

pub async fn invitations_tokens_and_expiry(store: Arc<dyn Store>) {
    let mut a = app("iv123", 5);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("app");
    let m1 = member(
        &a,
        "one@example.com",
        MemberKind::User,
        MemberStatus::Invited,
    );
    let m2 = member(
        &a,
        "two@example.com",
        MemberKind::User,
        MemberStatus::Invited,
    );
    tx.insert_member(&m1).await.expect("m1");
    tx.insert_member(&m2).await.expect("m2");
    a.seats_held = 2;
    tx.update_app_seats(&a).await.expect("seats");
    let i1 = invitation(&m1, b"token-one", t0() + Duration::days(7));
    let i2 = invitation(&m2, b"token-two", t0() + Duration::days(1));
    tx.insert_invitation(&i1).await.expect("i1");
    tx.insert_invitation(&i2).await.expect("i2");
    tx.commit().await.expect("commit");
    // at most one pending invitation per member
    let mut tx = store.begin().await.expect("begin");
    assert!(matches!(
        tx.insert_invitation(&invitation(&m1, b"token-three", t0()))
            .await,
        Err(StoreError::Unique)
    ));
    drop(tx);

    let mut r = store.read().await.expect("read");
    assert_eq!(
        r.find_invitation_by_token(b"token-one")
            .await
            .expect("find"),
        Some(i1.clone())
    );
    assert!(
        r.find_invitation_by_token(b"nope")
            .await
            .expect("find")
            .is_none()
    );
    assert_eq!(
        r.latest_invitation(m1.id).await.expect("latest"),
        Some(i1.clone())
    );
    assert_eq!(
        r.count_due_expired(&a.app_id, t0() + Duration::days(2))
            .await
            .expect("due"),
        1
    );
    // pending and not yet expired (the app home's count)
    for (days, n) in [(0, 2), (2, 1), (8, 0)] {
        assert_eq!(
            r.count_pending_invitations(&a.app_id, t0() + Duration::days(days))
                .await
                .expect("pending"),
            n,
            "after {days} days"
        );
    }
    drop(r);

    let mut tx = store.begin().await.expect("begin");
    let released = tx
        .expire_due_invitations(&a.app_id, t0() + Duration::days(2))
        .await
        .expect("expire");
    assert_eq!(released, 1);
    assert!(
        tx.set_invitation_status(
            i1.id,
            InvitationStatus::Pending,
            InvitationStatus::Accepted,
            t0()
        )
        .await
        .expect("accept")
    );
    // guarded: a second accept does nothing
    assert!(
        !tx.set_invitation_status(
            i1.id,
            InvitationStatus::Pending,
            InvitationStatus::Accepted,
            t0()
        )
        .await
        .expect("again")
    );
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let i2 = r
        .get_invitation(&a.app_id, i2.id)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(i2.status, InvitationStatus::Expired);
    assert!(
        !r.get_member(&a.app_id, m2.id)
            .await
            .expect("m2")
            .expect("some")
            .holds_seat
    );
    assert_eq!(r.recount_seats_held(&a.app_id).await.expect("recount"), 1);
    let listed = r
        .list_invitations(
            &a.app_id,
            &InvitationQuery {
                before: None,
                limit: 10,
            },
        )
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed[0].id > listed[1].id, "newest first");
}

pub async fn sessions(store: Arc<dyn Store>) {
    let a = app("ss123", 1);
    let i = identity("s@example.com");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("app");
    tx.insert_identity(&i).await.expect("id");
    for (n, bound) in [(1u8, Some(a.app_id.clone())), (2, None)] {
        tx.insert_session(&Session {
            id: SessionId::new(),
            token_hash: vec![n; 32],
            identity_id: i.id,
            app_id: bound,
            created_at: t0(),
            last_seen_at: t0(),
            expires_at: t0() + Duration::days(1),
            client_addr: Some("127.0.0.1".into()),
            user_agent: Some(format!("Agent {n}")),
            amr: vec!["pwd".into()],
        })
        .await
        .expect("session");
    }
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.delete_sessions_in_app(i.id, &a.app_id)
            .await
            .expect("del"),
        1
    );
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    assert!(r.find_session(&[1u8; 32]).await.expect("find").is_none());
    let s = r
        .find_session(&[2u8; 32])
        .await
        .expect("find")
        .expect("some");
    assert_eq!(s.identity_id, i.id);
    assert_eq!(s.user_agent.as_deref(), Some("Agent 2"));
    drop(r);

    // the ID's sessions, newest use first; ending one, and all but one
    let other = identity("o@example.com");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_identity(&other).await.expect("other");
    let mut ids = Vec::new();
    for (n, who, minutes) in [(3u8, i.id, 5), (4, i.id, 9), (5, other.id, 1)] {
        let id = SessionId::new();
        ids.push(id);
        tx.insert_session(&Session {
            id,
            token_hash: vec![n; 32],
            identity_id: who,
            app_id: None,
            created_at: t0(),
            last_seen_at: t0() + Duration::minutes(minutes),
            expires_at: t0() + Duration::days(1),
            client_addr: None,
            user_agent: None,
            amr: vec!["pwd".into()],
        })
        .await
        .expect("session");
    }
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    let mine: Vec<_> = tx
        .list_sessions(i.id)
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.token_hash[0])
        .collect();
    assert_eq!(mine, vec![4, 3, 2]);
    // another ID's session cannot be ended through this ID
    assert!(!tx.delete_session_of(i.id, ids[2]).await.expect("not mine"));
    assert!(tx.delete_session_of(i.id, ids[0]).await.expect("mine"));
    assert_eq!(
        tx.delete_sessions_except(i.id, ids[1])
            .await
            .expect("others"),
        1
    );
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let left: Vec<_> = r
        .list_sessions(i.id)
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, vec![ids[1]]);
    assert_eq!(r.list_sessions(other.id).await.expect("other").len(), 1);
}

pub async fn outbox_claim_lease_complete_retry(store: Arc<dyn Store>) {
    let to = Email::parse("x@example.com").expect("email");
    let mail = Mail::Invitation {
        kind: MemberKind::User,
        app_name: "A".into(),
        app_id: AppId::parse("ob123").expect("id"),
        inviter_name: "Ada".into(),
        invitee_first_name: None,
        admin: false,
        expires_at: t0(),
    };
    let mut tx = store.begin().await.expect("begin");
    let msgs: Vec<_> = (0..3)
        .map(|_| OutboxMessage::new(t0(), &to, mail.clone(), Some("secret".into())))
        .collect();
    for m in &msgs {
        tx.enqueue(m).await.expect("enqueue");
    }
    tx.commit().await.expect("commit");

    let lease = t0() + Duration::minutes(5);
    let mut tx = store.begin().await.expect("begin");
    let claimed = tx.claim_outbox(t0(), lease, 2).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|m| m.attempts == 1));
    // a second worker sees only the unclaimed one
    let other = tx.claim_outbox(t0(), lease, 10).await.expect("claim");
    assert_eq!(other.len(), 1);
    assert!(
        tx.claim_outbox(t0(), lease, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    tx.complete_outbox(claimed[0].id, t0())
        .await
        .expect("complete");
    tx.fail_outbox(claimed[1].id, "451", Some(t0() + Duration::minutes(1)))
        .await
        .expect("retry");
    tx.fail_outbox(other[0].id, "550", None)
        .await
        .expect("give up");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    // the retried one is due after a minute; the lease-less one is not re-claimed
    let again = tx
        .claim_outbox(t0() + Duration::minutes(2), lease, 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, claimed[1].id);
    assert_eq!(again[0].attempts, 2);
    // a claimed message whose worker died is due again after the lease
    let after_lease = tx
        .claim_outbox(
            lease + Duration::minutes(10),
            lease + Duration::minutes(20),
            10,
        )
        .await
        .expect("claim");
    assert_eq!(after_lease.len(), 1);
    tx.commit().await.expect("commit");

    let mut r = store.read().await.expect("read");
    let sent = r
        .get_outbox(claimed[0].id)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(sent.status, OutboxStatus::Sent);
    assert_eq!(sent.secret, None, "the token is erased once sent");
    let failed = r.get_outbox(other[0].id).await.expect("get").expect("some");
    assert_eq!(failed.status, OutboxStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("550"));
    assert_eq!(r.list_outbox(None, None, 10).await.expect("list").len(), 3);
}

pub async fn audit_is_listed_per_app(store: Arc<dyn Store>) {
    let a = app("au123", 1);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("app");
    for (n, app_id) in [(0, Some(a.app_id.clone())), (1, None)] {
        tx.insert_audit(&AuditEvent {
            id: uuid::Uuid::now_v7(),
            at: t0() + Duration::seconds(n),
            app_id,
            actor_id: None,
            actor_label: "operator".into(),
            action: "app.created".into(),
            target: None,
            client_addr: None,
            user_agent: None,
            details: serde_json::json!({"n": n}),
        })
        .await
        .expect("audit");
    }
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let events = r
        .list_audit(&a.app_id, &AuditFilter::default(), 10)
        .await
        .expect("list");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].details["n"], 0);
}

/// Generates one `#[tokio::test]` per conformance function for a backend (`sqlite` or
/// `postgres`); the PostgreSQL ones are ignored, with the reason, when it is not configured.
/// Functions listed after `; with_url:` also get the database URL (for the test's own
/// connection: raw SQL, statistics).
#[macro_export]
macro_rules! conformance_tests {
    (sqlite, $($name:ident),* $(,)? $(; with_url: $($uname:ident),* $(,)?)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (store, _url, _dir) = $crate::fresh_store($crate::Backend::Sqlite).await;
                $crate::conformance::$name(store).await;
            }
        )*
        $($(
            #[tokio::test]
            async fn $uname() {
                let (store, url, _dir) = $crate::fresh_store($crate::Backend::Sqlite).await;
                $crate::conformance::$uname(store, &url).await;
            }
        )*)?
    };
    (postgres, $($name:ident),* $(,)? $(; with_url: $($uname:ident),* $(,)?)?) => {
        $(
            #[tokio::test]
            #[cfg_attr(not(roster_postgres), ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres")]
            async fn $name() {
                let (store, _url, _dir) = $crate::fresh_store($crate::Backend::Postgres).await;
                $crate::conformance::$name(store).await;
            }
        )*
        $($(
            #[tokio::test]
            #[cfg_attr(not(roster_postgres), ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres")]
            async fn $uname() {
                let (store, url, _dir) = $crate::fresh_store($crate::Backend::Postgres).await;
                $crate::conformance::$uname(store, &url).await;
            }
        )*)?
    };
}
