//! Webhooks (issue 10): every kind of change reaches a real HTTP receiver, signed as the
//! Standard Webhooks specification says, retried after 500s, logged per endpoint.

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use roster_testkit::webhook_sink::{Received, WebhookSink};
use roster_testkit::{GOOD_PASSWORD, TestApp};
use serde_json::json;
use std::collections::BTreeSet;
use time::Duration;

/// Check a delivery's signature from first principles (HMAC-SHA256 over "id.timestamp.body"
/// with the base64 key after `whsec_`), and that its timestamp is the server's clock.
pub(super) fn verify(secret: &str, r: &Received, now: i64) {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("prefix"))
        .expect("base64 key");
    let (id, ts) = (r.header("webhook-id"), r.header("webhook-timestamp"));
    assert!(id.starts_with("msg_"), "{id}");
    let ts_n: i64 = ts.parse().expect("timestamp");
    assert!((ts_n - now).abs() < 3600, "{ts_n} vs {now}");
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).expect("key");
    mac.update(format!("{id}.{ts}.{}", r.body).as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let sigs: Vec<&str> = r.header("webhook-signature").split(' ').collect();
    assert!(sigs.contains(&format!("v1,{want}").as_str()), "{sigs:?}");
    assert_eq!(r.header("content-type"), "application/json");
}

pub(super) async fn webhooks_report_every_change_signed_and_retried(t: TestApp) {
    let (a, admin) = t.app_with_admin("Hooks", 3).await;
    let sink = WebhookSink::start().await;
    let all = [
        "member.invited",
        "member.joined",
        "member.role_changed",
        "member.deactivated",
        "member.reactivated",
        "member.left",
        "invitation.revoked",
        "invitation.expired",
        "seats.changed",
    ];
    let hooks = format!("/api/v1/apps/{a}/webhooks");
    let r = t
        .post(
            &hooks,
            Some(&admin),
            json!({"url": sink.url, "events": all}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let secret = r.body["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"));
    let id = r.body["id"].as_str().expect("id").to_string();
    // bad requests are clear 4xx
    let r = t
        .post(&hooks, Some(&admin), json!({"url": sink.url, "events": []}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .post(
            &hooks,
            Some(&admin),
            json!({"url": "ftp://x.example", "events": ["member.left"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .post(
            &hooks,
            Some(&admin),
            json!({"url": sink.url, "events": ["member.exploded"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // the receiver fails the first two attempts
    sink.answer(&[500, 500]);

    // every kind of change
    let (member, session) = t.add_user(&a, &admin, "una@example.com").await; // invited, joined
    let m = format!("/api/v1/apps/{a}/members/{member}");
    assert_eq!(
        t.patch(&m, Some(&admin), json!({"admin": true}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        t.patch(&m, Some(&admin), json!({"admin": false}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        t.patch(&m, Some(&admin), json!({"status": "inactive"}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        t.patch(&m, Some(&admin), json!({"status": "active"}))
            .await
            .status,
        StatusCode::OK
    );
    let una = t.login_token("una@example.com", GOOD_PASSWORD).await;
    let _ = session;
    assert_eq!(
        t.delete(&format!("/api/v1/me/apps/{a}"), Some(&una))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = t.invite(&a, &admin, "rev@example.com", "user", false).await;
    let inv = r.body["id"].as_str().expect("invitation").to_string();
    assert!(
        t.delete(&format!("/api/v1/apps/{a}/invitations/{inv}"), Some(&admin))
            .await
            .status
            .is_success()
    );
    assert_eq!(
        t.post(
            &format!("/api/v1/apps/{a}/seats"),
            Some(&admin),
            json!({"quantity": 2})
        )
        .await
        .status,
        StatusCode::CREATED
    );
    t.invite(&a, &admin, "late@example.com", "user", false)
        .await;
    t.clock.advance(Duration::days(8));
    t.services
        .housekeeping(t.now())
        .await
        .expect("housekeeping");

    // deliver, retrying as the schedule says
    for _ in 0..5 {
        t.deliver_webhooks().await;
        t.clock.advance(Duration::minutes(3));
    }
    let got = sink.received();
    let types: BTreeSet<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or("").to_string())
        .collect();
    for e in all {
        assert!(types.contains(e), "{e} missing from {types:?}");
    }
    let now = t.now().unix_timestamp();
    for r in &got {
        verify(&secret, r, now);
        assert_eq!(r.json()["data"]["app_id"], a.as_str());
    }
    // the two refused attempts were retried with the same webhook-id
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len() + 2, "{ids:?}");
    let joined = got
        .iter()
        .find(|r| r.json()["type"] == "member.joined")
        .expect("joined");
    assert_eq!(joined.json()["data"]["member"]["email"], "una@example.com");
    assert_eq!(joined.json()["data"]["member"]["status"], "active");

    // the delivery log shows each one, and the retried ones' attempts
    let admin = t.login_token("admin@hooks.test", GOOD_PASSWORD).await;
    let log = t
        .get(&format!("{hooks}/{id}/deliveries?limit=200"), Some(&admin))
        .await;
    assert_eq!(log.status, StatusCode::OK);
    let items = log.body["items"].as_array().expect("items");
    assert_eq!(items.len(), unique.len());
    assert!(items.iter().all(|d| d["state"] == "delivered"), "{items:?}");
    assert!(items.iter().any(|d| d["attempts"] == 2));
    assert!(items.iter().all(|d| d["last_duration_ms"].is_number()));
    // paged: two at a time, newest first, the cursor leads to the older ones
    let p1 = t
        .get(&format!("{hooks}/{id}/deliveries?limit=2"), Some(&admin))
        .await;
    let cursor = p1.body["next_cursor"].as_str().expect("cursor").to_string();
    let p2 = t
        .get(
            &format!("{hooks}/{id}/deliveries?limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert_eq!(p1.body["items"][0]["id"], items[0]["id"]);
    assert_eq!(p2.body["items"][0]["id"], items[2]["id"]);

    // the test button
    let r = t
        .post(&format!("{hooks}/{id}/test"), Some(&admin), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    t.deliver_webhooks().await;
    let last = sink.received().pop().expect("test event");
    assert_eq!(last.json()["type"], "webhook.test");

    // another app's admin sees none of it
    let (b, b_admin) = t.app_with_admin("Other", 2).await;
    assert_eq!(
        t.get(&format!("{hooks}/{id}"), Some(&b_admin)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&format!("/api/v1/apps/{b}/webhooks/{id}"), Some(&b_admin))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // deleted: nothing more is sent
    assert_eq!(
        t.delete(&format!("{hooks}/{id}"), Some(&admin))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let before = sink.received().len();
    t.post(
        &format!("/api/v1/apps/{a}/seats"),
        Some(&admin),
        json!({"quantity": 1}),
    )
    .await;
    t.deliver_webhooks().await;
    assert_eq!(sink.received().len(), before);
    assert_eq!(t.get(&hooks, Some(&admin)).await.body["items"], json!([]));
}

pub(super) async fn a_delivery_that_keeps_failing_is_given_up_and_logged(t: TestApp) {
    let (a, admin) = t.app_with_admin("Flaky", 3).await;
    let sink = WebhookSink::start().await;
    sink.answer(&[503; 20]);
    let hooks = format!("/api/v1/apps/{a}/webhooks");
    let r = t
        .post(
            &hooks,
            Some(&admin),
            json!({"url": sink.url, "events": ["seats.changed"]}),
        )
        .await;
    let id = r.body["id"].as_str().expect("id").to_string();
    t.post(
        &format!("/api/v1/apps/{a}/seats"),
        Some(&admin),
        json!({"quantity": 1}),
    )
    .await;
    for _ in 0..12 {
        t.deliver_webhooks().await;
        t.clock.advance(Duration::hours(7));
    }
    let admin = t.login_token("admin@flaky.test", GOOD_PASSWORD).await;
    let log = t
        .get(&format!("{hooks}/{id}/deliveries"), Some(&admin))
        .await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    let d = &log.body["items"][0];
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(d["attempts"], 8);
    assert_eq!(d["last_status"], 503);
    assert_eq!(sink.received().len(), 8);
}
