//! Webhook signatures checked by an independent implementation of Standard Webhooks (the
//! `standardwebhooks` Python library), on deliveries a real receiver got over HTTP.

use roster_testkit::webhook_sink::WebhookSink;
use roster_testkit::{Backend, spawn_app};
use serde_json::json;

#[tokio::test]
#[cfg_attr(
    not(roster_webhooks_py),
    ignore = "needs standardwebhooks: pip install standardwebhooks and set ROSTER_TEST_WEBHOOKS=1"
)]
async fn deliveries_verify_with_the_standardwebhooks_library() {
    let t = spawn_app(Backend::Sqlite).await;
    let (a, admin) = t.app_with_admin("Sig", 5).await;
    let sink = WebhookSink::start().await;
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/webhooks"),
            Some(&admin),
            json!({"url": sink.url, "events": ["member.invited", "seats.changed"]}),
        )
        .await;
    let secret = r.body["secret"].as_str().expect("secret").to_string();
    for i in 0..3 {
        t.invite(&a, &admin, &format!("p{i}@example.com"), "user", false)
            .await;
    }
    t.post(
        &format!("/api/v1/apps/{a}/seats"),
        Some(&admin),
        json!({"quantity": 1}),
    )
    .await;
    t.deliver_webhooks().await;
    let got = sink.received();
    assert_eq!(got.len(), 4);
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("deliveries.jsonl");
    let mut lines = String::new();
    for r in &got {
        let headers: serde_json::Map<String, serde_json::Value> = r
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        lines.push_str(&json!({"secret": secret, "headers": headers, "body": r.body}).to_string());
        lines.push('\n');
    }
    std::fs::write(&file, lines).expect("write");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/webhook_verify.py"
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("pass: 4"), "{text}");

    // a tampered body fails the same verifier (the check is real)
    let mut bad = got[0].clone();
    bad.body = bad.body.replace("p0@", "px@");
    let headers: serde_json::Map<String, serde_json::Value> = bad
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    std::fs::write(
        &file,
        json!({"secret": secret, "headers": headers, "body": bad.body}).to_string(),
    )
    .expect("write");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3");
    assert!(!out.status.success());
}
