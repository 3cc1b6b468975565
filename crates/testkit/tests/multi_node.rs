//! Several Roster nodes on one PostgreSQL database (ignored without ROSTER_TEST_POSTGRES_URL).
//! Each node is a fully separate instance: its own pool, services, outbox worker and listener.

use reqwest::StatusCode;
use roster_core::model::*;
use roster_core::types::*;
use roster_mail::{OutboxWorker, RetryPolicy};
use roster_testkit::{
    Backend, CapturingMailer, GOOD_PASSWORD, TestApp, spawn_app, spawn_second_node, test_renderer,
    token_from,
};
use std::collections::HashSet;
use std::sync::Arc;
use time::Duration;

/// `n` inactive users of `app`, written straight into the store.
async fn seed_inactive(node: &TestApp, app: &AppId, n: usize) -> Vec<MemberId> {
    let mut ids = Vec::new();
    let mut tx = node.store.begin().await.expect("begin");
    for i in 0..n {
        let m = Member {
            id: MemberId::new(),
            app_id: app.clone(),
            identity_id: None,
            email: Email::parse(&format!("idle{i}@example.com")).expect("email"),
            first_name: Some("Idle".into()),
            last_name: None,
            kind: MemberKind::User,
            admin: false,
            status: MemberStatus::Inactive,
            holds_seat: false,
            created_at: node.now(),
            last_login_at: None,
        };
        tx.insert_member(&m).await.expect("member");
        ids.push(m.id);
    }
    tx.commit().await.expect("commit");
    ids
}

async fn two_nodes() -> (TestApp, TestApp) {
    let a = spawn_app(Backend::Postgres).await;
    let b = spawn_second_node(&a).await;
    (a, b)
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn two_hundred_invitations_over_two_nodes_against_25_free_seats() {
    let (n1, n2) = two_nodes().await;
    let (app, admin) = n1.app_with_admin("Acme", 26).await; // the admin holds one
    let calls = (0..200).map(|i| {
        let node = if i % 2 == 0 { &n1 } else { &n2 };
        let (app, admin) = (app.clone(), admin.clone());
        async move {
            node.invite(&app, &admin, &format!("u{i}@example.com"), "user", false)
                .await
        }
    });
    let results = futures::future::join_all(calls).await;
    let ok = results
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let refused = results
        .iter()
        .filter(|r| r.code() == "seat_unavailable")
        .count();
    assert_eq!(
        (ok, refused),
        (25, 175),
        "{:?}",
        results.iter().find(|r| r.status.is_server_error())
    );
    n1.assert_seats_consistent(&app).await;
    let seats = n2.seats(&app, &admin).await;
    assert_eq!(
        (seats["used"].as_i64(), seats["total"].as_i64()),
        (Some(26), Some(26))
    );
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn a_hundred_reactivations_over_two_nodes_against_10_free_seats() {
    let (n1, n2) = two_nodes().await;
    let (app, admin) = n1.app_with_admin("Acme", 11).await;
    // 100 inactive users, seeded straight into the store
    let ids = seed_inactive(&n1, &app, 100).await;

    let calls = ids.iter().enumerate().map(|(i, id)| {
        let node = if i % 2 == 0 { &n1 } else { &n2 };
        let path = format!("/api/v1/apps/{app}/members/{id}");
        let admin = admin.clone();
        async move {
            node.patch(&path, Some(&admin), serde_json::json!({"status": "active"}))
                .await
        }
    });
    let results = futures::future::join_all(calls).await;
    let ok = results
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused = results
        .iter()
        .filter(|r| r.code() == "seat_unavailable")
        .count();
    assert_eq!((ok, refused), (10, 90));
    n2.assert_seats_consistent(&app).await;
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn invited_on_node_one_accepts_on_node_two_and_logs_in_on_either() {
    let (n1, n2) = two_nodes().await;
    let (app, admin) = n1.app_with_admin("Acme", 3).await;
    let r = n1
        .invite(&app, &admin, "rohit@example.com", "user", true)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // node 2's worker delivers what node 1 queued
    let mails = n2.deliver_mail().await;
    assert_eq!(mails.len(), 1);
    let accepted = n2
        .accept_new(&token_from(&mails[0]), "Rohit", GOOD_PASSWORD)
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{:?}", accepted.body);
    for node in [&n1, &n2] {
        let token = node.login_token("rohit@example.com", GOOD_PASSWORD).await;
        // a session made on one node works on the other
        for other in [&n1, &n2] {
            let me = other.get("/api/v1/me", Some(&token)).await;
            assert_eq!(me.body["apps"][0]["app_id"], app.to_string());
        }
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn a_thousand_messages_two_workers_each_delivered_once_even_when_one_dies() {
    let (n1, n2) = two_nodes().await;
    let to = Email::parse("bulk@example.com").expect("email");
    let mut tx = n1.store.begin().await.expect("begin");
    for _ in 0..1000 {
        let m = OutboxMessage::new(
            n1.now(),
            &to,
            Mail::Invitation {
                kind: MemberKind::User,
                app_name: "Acme".into(),
                app_id: AppId::parse("ab123").expect("id"),
                inviter_name: "Ada".into(),
                invitee_first_name: None,
                admin: false,
                expires_at: n1.now(),
            },
            Some("token".into()),
        );
        tx.enqueue(&m).await.expect("enqueue");
    }
    tx.commit().await.expect("commit");

    // A third worker claims a batch and dies holding its lease.
    let mut tx = n1.store.begin().await.expect("begin");
    let orphaned = tx
        .claim_outbox(n1.now(), n1.now() + Duration::minutes(5), 50)
        .await
        .expect("claim");
    tx.commit().await.expect("commit");
    assert_eq!(orphaned.len(), 50);

    let worker = |node: &TestApp, mailer: Arc<CapturingMailer>| {
        OutboxWorker::new(
            node.store.clone(),
            mailer,
            test_renderer(&node.addr),
            RetryPolicy {
                batch: 20,
                ..RetryPolicy::default()
            },
        )
    };
    let (m1, m2) = (
        Arc::new(CapturingMailer::default()),
        Arc::new(CapturingMailer::default()),
    );
    let (w1, w2) = (worker(&n1, m1.clone()), worker(&n2, m2.clone()));
    let now = n1.now();
    let (r1, r2) = tokio::join!(w1.drain(now), w2.drain(now));
    r1.expect("worker 1");
    r2.expect("worker 2");
    assert_eq!(
        m1.sent().len() + m2.sent().len(),
        950,
        "the orphaned batch waits for its lease"
    );
    assert!(
        !m1.sent().is_empty() && !m2.sent().is_empty(),
        "both workers took part"
    );

    // after the lease, the survivors deliver the dead worker's batch
    let later = now + Duration::minutes(6);
    let (r1, r2) = tokio::join!(w1.drain(later), w2.drain(later));
    r1.expect("worker 1");
    r2.expect("worker 2");
    let all: Vec<String> = m1
        .sent()
        .into_iter()
        .chain(m2.sent())
        .map(|e| e.message_id)
        .collect();
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 1000, "each message delivered once");
    assert_eq!(unique.len(), 1000);
    for o in &orphaned {
        assert!(unique.contains(&o.message_id_header("roster.test")));
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn a_lost_database_gives_503_and_the_node_recovers() {
    let t = spawn_app(Backend::Postgres).await;
    let (_app, admin) = t.app_with_admin("Acme", 3).await;
    let db = t.db_url.rsplit('/').next().expect("db name").to_string();
    let admin_url = std::env::var(roster_testkit::POSTGRES_ENV).expect("url");
    let sql = |q: String| {
        let admin_url = admin_url.clone();
        async move {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("admin");
            sqlx::query(sqlx::AssertSqlSafe(q))
                .execute(&mut c)
                .await
                .expect("sql");
        }
    };
    // several connections in the pool
    let warm = (0..8).map(|_| t.get("/api/v1/me", Some(&admin)));
    assert!(
        futures::future::join_all(warm)
            .await
            .iter()
            .all(|r| r.status == StatusCode::OK)
    );
    // the database goes away: no new connections, existing ones killed
    sql(format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false")).await;
    sql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .await;
    let r = t.get("/api/v1/me", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.code(), "unavailable");
    let h = t.get("/healthz", None).await;
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE);
    // ...and comes back: the same node serves again
    sql(format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true")).await;
    let r = t.get("/api/v1/me", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // and no stale pooled connection fails a later request (they are checked after a fault)
    let after = (0..8).map(|_| t.get("/api/v1/me", Some(&admin)));
    let statuses: Vec<StatusCode> = futures::future::join_all(after)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![StatusCode::OK; 8]);
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn scim_bulk_api_and_reactivations_at_once_over_two_nodes_take_exactly_20_seats() {
    let (n1, n2) = two_nodes().await;
    let (app, admin) = n1.app_with_admin("Acme", 21).await; // the admin holds one
    // 30 inactive users to reactivate, seeded straight into the store
    let idle = seed_inactive(&n1, &app, 30).await;
    // a service key for the API invitations
    let key = n1
        .post(
            &format!("/api/v1/apps/{app}/api-keys"),
            Some(&admin),
            serde_json::json!({"name": "sync", "kind": "service"}),
        )
        .await
        .body["secret"]
        .as_str()
        .expect("key")
        .to_string();

    async fn bulk(node: &TestApp, app: &AppId, admin: &str, tag: &str) -> roster_testkit::Resp {
        let rows: Vec<_> = (0..30)
            .map(|i| serde_json::json!({"email": format!("{tag}{i}@example.com"), "first_name": "B"}))
            .collect();
        node.post(
            &format!("/api/v1/apps/{app}/invitations/bulk"),
            Some(admin),
            serde_json::Value::Array(rows),
        )
        .await
    }
    let invites = (0..40).map(|i| {
        let node = if i % 2 == 0 { &n1 } else { &n2 };
        let (app, key) = (app.clone(), key.clone());
        async move {
            node.invite(&app, &key, &format!("api{i}@example.com"), "user", false)
                .await
        }
    });
    let reactivations = idle.iter().enumerate().map(|(i, id)| {
        let node = if i % 2 == 0 { &n2 } else { &n1 };
        let path = format!("/api/v1/apps/{app}/members/{id}");
        let admin = admin.clone();
        async move {
            node.patch(&path, Some(&admin), serde_json::json!({"status": "active"}))
                .await
        }
    });
    let scim_key = n1
        .post(
            &format!("/api/v1/apps/{app}/api-keys"),
            Some(&admin),
            serde_json::json!({"name": "idp", "kind": "service", "scopes": ["scim"]}),
        )
        .await
        .body["secret"]
        .as_str()
        .expect("scim key")
        .to_string();
    // the identity provider's users become Active members at once (an ID made for each):
    // direct provisioning takes its seats under the same lock as every other way in
    let r = n2
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{app}/scim-settings"),
            Some(&admin),
            Some(serde_json::json!({"provisioning": "active"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let scim_creates = (0..30).map(|i| {
        let node = if i % 2 == 0 { &n1 } else { &n2 };
        let url = format!("{}/scim/v2/{app}/Users", node.addr);
        let key = scim_key.clone();
        async move {
            let body = serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("scim{i}@example.com"),
                "name": {"givenName": "S"},
                "active": true
            });
            node.client
                .post(url)
                .bearer_auth(key)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .expect("scim")
                .status()
        }
    });
    let (b1, b2, invited, reactivated, scimmed) = tokio::join!(
        bulk(&n1, &app, &admin, "one"),
        bulk(&n2, &app, &admin, "two"),
        futures::future::join_all(invites),
        futures::future::join_all(reactivations),
        futures::future::join_all(scim_creates)
    );
    for s in &scimmed {
        assert!(
            *s == StatusCode::CREATED || *s == StatusCode::CONFLICT,
            "{s}"
        );
    }
    let scim_ok = scimmed
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let mut ok = scim_ok;
    for b in [&b1, &b2] {
        assert_eq!(b.status, StatusCode::OK, "{:?}", b.body);
        ok += b.body["invited"].as_u64().expect("invited") as usize;
        let refused = b.body["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| r["code"] == "seat_unavailable")
            .count();
        assert_eq!(
            refused + b.body["invited"].as_u64().unwrap_or(0) as usize,
            30
        );
    }
    for r in invited.iter().chain(reactivated.iter()) {
        assert!(
            r.status.is_success() || r.code() == "seat_unavailable",
            "{:?}",
            r.body
        );
        if r.status.is_success() {
            ok += 1;
        }
    }
    assert_eq!(ok, 20);
    n2.assert_seats_consistent(&app).await;
    let seats = n1.seats(&app, &admin).await;
    assert_eq!(seats["available"], 0);
    // every SCIM create that got its seat is an Active member, none is an invitation
    let active = n1
        .get(
            &format!("/api/v1/apps/{app}/members?q=scim&limit=100"),
            Some(&admin),
        )
        .await;
    let provisioned = active.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|m| m["email"].as_str().is_some_and(|e| e.starts_with("scim")))
        .inspect(|m| assert_eq!(m["status"], "active", "{m}"))
        .count();
    assert_eq!(provisioned, scim_ok, "{:?}", active.body);
}
