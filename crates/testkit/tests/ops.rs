//! Day-2 operations (issue 12): `/metrics` read by a Prometheus text-format parser, with its
//! counters moving after logins, a second step and invitations; `/readyz` failing while the
//! database is gone (a TCP proxy in front of PostgreSQL, cut and restored), while a migration
//! is missing, and while the mail worker shows no sign of life.

use prom_text_format_parser::{Scrape, Type, ValueType};
use reqwest::StatusCode;
use roster_core::ops::Heartbeat;
use roster_testkit::{Backend, DbGuard, GOOD_PASSWORD, TestApp, on_every_backend, totp_code};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

on_every_backend!(
    metrics_count_requests_logins_second_steps_and_invitations,
    readyz_fails_while_a_migration_is_missing,
);

/// `/metrics`, read by a strict parser of the Prometheus text format (any line it cannot read
/// fails the test).
async fn scrape(base: &str) -> Scrape {
    let r = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let body = r.text().await.expect("body");
    match Scrape::parse(&body) {
        Ok(s) => s,
        Err(e) => panic!("not the Prometheus text format: {e:?}\n{body}"),
    }
}

fn label<'a>(s: &'a prom_text_format_parser::Sample, key: &str) -> Option<&'a str> {
    s.labels
        .iter()
        .find(|l| l.key == key)
        .map(|l| l.value.as_str())
}

/// The value of the samples of `metric` with these labels (summed: counters and gauges).
fn value(s: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    s.metrics
        .iter()
        .filter(|m| m.name == metric && matches!(m.kind, Type::Counter | Type::Gauge))
        .flat_map(|m| m.samples.iter())
        .filter(|x| labels.iter().all(|(k, v)| label(x, k) == Some(v)))
        .map(|x| x.value.value.as_f64())
        .sum()
}

async fn metrics_count_requests_logins_second_steps_and_invitations(t: TestApp) {
    let before = scrape(&t.addr).await;
    let (app, admin) = t.app_with_admin("Metered", 4).await;
    let accept_token = {
        let (_, token) = t.create_app("Other", 2, "someone@other.test", "Some").await;
        token
    };
    assert_eq!(
        t.login("admin@metered.test", "Wrong-Pass-1").await.status,
        401
    );
    t.login_token("admin@metered.test", GOOD_PASSWORD).await;
    t.invite(&app, &admin, "una@metered.test", "user", false)
        .await;
    // an authenticator app: a wrong code, then the right one
    let r = t
        .post("/api/v1/me/two-step/totp", Some(&admin), json!({}))
        .await;
    let secret = r.body["secret"].as_str().expect("secret").to_string();
    let code = totp_code(&secret, t.now().unix_timestamp());
    let r = t
        .post(
            "/api/v1/me/two-step/totp/confirm",
            Some(&admin),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    t.clock.advance(time::Duration::seconds(30));
    let challenge = |r: &roster_testkit::Resp| r.body["challenge"].as_str().expect("c").to_string();
    let r = t.login("admin@metered.test", GOOD_PASSWORD).await;
    let c = challenge(&r);
    let wrong = t
        .post(
            "/api/v1/session/second-factor",
            None,
            json!({"challenge": c, "method": "totp", "code": "000000"}),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        wrong.body
    );
    let code = totp_code(&secret, t.now().unix_timestamp());
    let ok = t
        .post(
            "/api/v1/session/second-factor",
            None,
            json!({"challenge": c, "method": "totp", "code": code}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let after = scrape(&t.addr).await;

    // counters are the process's (other tests run beside this one): they move by at least
    let moved = |metric: &str, labels: &[(&str, &str)]| {
        value(&after, metric, labels) - value(&before, metric, labels)
    };
    // a password login, and one finished with the authenticator app
    assert!(moved("roster_logins_total", &[("outcome", "ok")]) >= 2.0);
    // a wrong password, and a wrong code
    assert!(moved("roster_logins_total", &[("outcome", "failed")]) >= 2.0);
    assert!(moved("roster_second_factor_total", &[("outcome", "ok")]) >= 1.0);
    assert!(moved("roster_second_factor_total", &[("outcome", "failed")]) >= 1.0);
    assert!(moved("roster_invitations_total", &[("event", "sent")]) >= 3.0);
    assert!(moved("roster_invitations_total", &[("event", "accepted")]) >= 1.0);
    assert!(
        moved(
            "roster_audit_events_total",
            &[("action", "twofactor.enabled")]
        ) >= 1.0
    );
    assert!(moved("roster_mail_deliveries_total", &[("outcome", "sent")]) >= 1.0);
    // requests by route template, never by the concrete path
    let accepts = [
        ("route", "/api/v1/invitations/{token}/accept"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert!(moved("roster_http_requests_total", &accepts) >= 1.0);
    assert!(
        moved(
            "roster_http_requests_total",
            &[("route", "/api/v1/session"), ("status", "401")]
        ) >= 1.0
    );
    for m in &after.metrics {
        for l in m.samples.iter().flat_map(|s| s.labels.iter()) {
            assert!(
                !l.value.contains(&accept_token) && !l.value.contains(app.as_str()),
                "{} has a concrete value in {}: {}",
                m.name,
                l.key,
                l.value
            );
        }
    }
    let latency = after
        .metrics
        .iter()
        .find(|m| m.name == "roster_http_request_duration_seconds")
        .expect("the latency histogram");
    assert_eq!(latency.kind, Type::Histogram);
    let buckets: Vec<_> = latency
        .samples
        .iter()
        .filter(|s| {
            s.value.value_type == ValueType::Sample && label(s, "route") == Some("/api/v1/session")
        })
        .collect();
    assert!(buckets.len() > 5, "{buckets:?}");
    assert!(
        buckets
            .iter()
            .any(|b| label(b, "le") == Some("+Inf") && b.value.value.as_f64() >= 1.0),
        "{buckets:?}"
    );
    // gauges of this server's own database (each scrape refreshes them)
    assert_eq!(value(&after, "roster_apps", &[]), 2.0);
    assert_eq!(value(&after, "roster_seats_total", &[]), 6.0);
    assert_eq!(value(&after, "roster_seats_held", &[]), 3.0); // admin, una, someone
    assert!(
        value(&after, "roster_outbox_pending", &[]) >= 1.0,
        "una's invitation waits"
    );
    assert!(value(&after, "roster_outbox_oldest_pending_age_seconds", &[]) >= 0.0);
    assert!(value(&after, "roster_db_connections", &[("state", "max")]) >= 1.0);
    assert_eq!(value(&after, "roster_database_up", &[]), 1.0);
    t.deliver_mail().await;
    let drained = scrape(&t.addr).await;
    assert_eq!(value(&drained, "roster_outbox_pending", &[]), 0.0);
    assert_eq!(
        value(&drained, "roster_outbox_oldest_pending_age_seconds", &[]),
        0.0
    );
}

async fn readyz(base: &str) -> (StatusCode, serde_json::Value) {
    let r = reqwest::get(format!("{base}/readyz"))
        .await
        .expect("readyz");
    let status = r.status();
    (status, r.json().await.unwrap_or_default())
}

/// The names of the failed checks of a 503.
fn failed(body: &serde_json::Value) -> Vec<String> {
    body["failed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["check"].as_str().map(str::to_string))
        .collect()
}

async fn readyz_fails_while_a_migration_is_missing(t: TestApp) {
    let (status, body) = readyz(&t.addr).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert!(
        body["checks"].as_array().is_some_and(|c| c.len() == 3),
        "{body}"
    );
    let (forget, remember) = if t.db_url.starts_with("sqlite:") {
        (
            "UPDATE _roster_migrations SET version = -version \
             WHERE version = (SELECT MAX(version) FROM _roster_migrations)",
            "UPDATE _roster_migrations SET version = -version WHERE version < 0",
        )
    } else {
        (
            "UPDATE _sqlx_migrations SET success = false \
             WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
            "UPDATE _sqlx_migrations SET success = true",
        )
    };
    roster_testkit::raw_sql(&t.db_url, forget).await;
    let (status, body) = readyz(&t.addr).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "unavailable");
    assert_eq!(failed(&body), vec!["migrations".to_string()], "{body}");
    assert!(
        body["failed"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("pending")),
        "{body}"
    );
    roster_testkit::raw_sql(&t.db_url, remember).await;
    let (status, body) = readyz(&t.addr).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A TCP proxy to `target` that can be cut (every connection dropped, new ones closed at
/// once) and restored.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let (flag, cuts) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut rx = cuts.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Proxy { port, up, cut }
    }

    fn set(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            self.cut.send_modify(|n| *n += 1);
        }
    }
}

/// Polls `/readyz` until it answers `want` (at most 20 s); the last answer.
async fn readyz_until(base: &str, want: StatusCode) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = readyz(base).await;
        if status == want || std::time::Instant::now() > deadline {
            assert_eq!(status, want, "{body}");
            return body;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn readyz_fails_while_the_database_is_gone_and_recovers_when_it_returns() {
    let (_direct, url, guard) = roster_testkit::fresh_store(Backend::Postgres).await;
    let mut via = url::Url::parse(&url).expect("url");
    let target = format!(
        "{}:{}",
        via.host_str().expect("host"),
        via.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(target).await;
    via.set_host(Some("127.0.0.1")).expect("host");
    via.set_port(Some(proxy.port)).expect("port");
    let store = roster::open_store(via.as_str())
        .await
        .expect("open through the proxy");
    let t = roster_testkit::spawn_on(store, via.to_string(), DbGuard::Shared).await;
    readyz_until(&t.addr, StatusCode::OK).await;

    proxy.set(false);
    let body = readyz_until(&t.addr, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(failed(&body).contains(&"database".to_string()), "{body}");
    assert_eq!(body["code"], "unavailable");
    // the counters are still there while the database is away
    let s = scrape(&t.addr).await;
    assert_eq!(value(&s, "roster_database_up", &[]), 0.0);

    proxy.set(true);
    let body = readyz_until(&t.addr, StatusCode::OK).await;
    assert_eq!(body["checks"][0]["check"], "database");
    drop(t);
    drop(guard);
}

#[tokio::test]
async fn readyz_fails_while_the_mail_worker_is_silent_and_recovers_when_it_beats() {
    let t = roster_testkit::spawn_app(Backend::Sqlite).await;
    let hb = Arc::new(Heartbeat::new(Duration::from_secs(60)));
    let state =
        roster_web::AppState::new(t.services.clone(), &t.addr).with_mail_heartbeat(hb.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = roster_web::router(state);
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    readyz_until(&base, StatusCode::OK).await;
    hb.beat_at(time::OffsetDateTime::now_utc() - time::Duration::minutes(5));
    let body = readyz_until(&base, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(failed(&body), vec!["mail_worker".to_string()], "{body}");
    // the real worker, running, beats it back to life
    let worker = t.worker.clone().with_heartbeat(hb.clone());
    let stop = worker.stopper();
    let running = tokio::spawn(worker.run(t.services.mail_kick(), Duration::from_millis(50)));
    readyz_until(&base, StatusCode::OK).await;
    stop.stop();
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
}
