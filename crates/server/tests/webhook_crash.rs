//! Crash safety of webhook delivery: `roster serve` is killed with SIGKILL twice while it
//! delivers 150 `member.invited` events to a slow receiver, and restarted on the same data.
//! Every event must still arrive (at least once, each under its own `webhook-id`).

mod common;

use common::{accept, create_app, free_port, kill, serve_with};
use roster_testkit::webhook_sink::WebhookSink;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const INVITATIONS: usize = 150;

fn ids(sink: &WebhookSink) -> BTreeSet<String> {
    sink.received()
        .iter()
        .filter(|r| r.json()["type"] == "member.invited")
        .map(|r| r.header("webhook-id").to_string())
        .collect()
}

async fn wait_for(sink: &WebhookSink, n: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while ids(sink).len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ids(sink).len() >= n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_webhook_arrives_despite_two_sigkills_mid_delivery() {
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let sink = WebhookSink::start().await;
    let env = [("ROSTER_WEBHOOKS_ALLOW_PRIVATE", "true")];
    let (app, token) = create_app(dir, "Hooks", "200").await;
    let port = free_port();
    let (mut server, _) = serve_with(dir, port, &env, 0).await;
    roster_webhooks::install_crypto_provider();
    let http = reqwest::Client::new();
    let session = accept(&http, port, &token).await;
    let base = format!("http://127.0.0.1:{port}/api/v1/apps/{app}");
    let r = http
        .post(format!("{base}/webhooks"))
        .bearer_auth(&session)
        .json(&json!({"url": sink.url, "events": ["member.invited"]}))
        .send()
        .await
        .expect("webhook");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    sink.slow(Duration::from_millis(20));
    for i in 0..INVITATIONS {
        let r = http
            .post(format!("{base}/invitations"))
            .bearer_auth(&session)
            .json(&json!({"email": format!("u{i}@hooks.test"), "first_name": "U", "kind": "user"}))
            .send()
            .await
            .expect("invite");
        assert_eq!(r.status(), 201);
    }
    for (n, after) in [30, 80].into_iter().enumerate() {
        assert!(
            wait_for(&sink, after, Duration::from_secs(60)).await,
            "only {} delivered",
            ids(&sink).len()
        );
        kill(&mut server).await;
        (server, _) = serve_with(dir, free_port(), &env, n + 1).await;
    }
    let restarted = Instant::now();
    assert!(
        wait_for(&sink, INVITATIONS, Duration::from_secs(90)).await,
        "{} of {INVITATIONS} events arrived",
        ids(&sink).len()
    );
    eprintln!(
        "{INVITATIONS} events, {} requests, all in {:.1?} after the last restart",
        sink.received().len(),
        restarted.elapsed()
    );
    kill(&mut server).await;
}
