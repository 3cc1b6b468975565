//! Day-2 operations with the real binary (issue 12): `roster doctor` prints one line per check
//! and fails on a failed one; `log_format = "json"` writes one object per request with its
//! request id, route and status, keeping a client's `X-Request-Id` only from a trusted proxy;
//! `metrics_listen` moves `/metrics` off the main address; and SIGTERM during load loses no
//! accepted request and no queued mail.

mod common;

use common::{free_port, roster_async, run, serve_with};
use roster_testkit::smtp::SmtpSink;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `roster doctor` in `dir` with `env`: its exit code and standard output.
async fn doctor(dir: &Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut c = roster_async(dir);
    c.arg("doctor");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().await.expect("run roster doctor");
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// The line of check `what`.
fn line<'a>(out: &'a str, what: &str) -> &'a str {
    out.lines()
        .find(|l| {
            l.get(6..)
                .is_some_and(|r| r.starts_with(&format!("{what}:")))
        })
        .unwrap_or_else(|| panic!("no {what} line in:\n{out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_prints_a_line_per_check_and_fails_on_a_failed_one() {
    roster_webhooks::install_crypto_provider();
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    // nothing made yet, no server: warnings, no failure
    let (code, out) = doctor(dir, &[]).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(line(&out, "configuration").starts_with("ok "), "{out}");
    assert!(line(&out, "database").starts_with("warn"), "{out}");
    assert!(line(&out, "mail").starts_with("ok "), "{out}");
    assert!(line(&out, "DKIM").starts_with("ok "), "{out}");
    assert!(line(&out, "base URL").starts_with("warn"), "{out}");

    // a running server, an SMTP server that answers: every check passes
    let sink = SmtpSink::start().await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let base = format!("http://127.0.0.1:{port}");
    let env = [
        ("ROSTER_SMTP_URL", sink.url()),
        ("ROSTER_LISTEN", listen.clone()),
        ("ROSTER_BASE_URL", base.clone()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (mut server, _log) = serve_with(dir, port, &env, 0).await;
    let (code, out) = doctor(dir, &env).await;
    assert_eq!(code, Some(0), "{out}");
    for what in ["configuration", "database", "mail", "base URL"] {
        assert!(line(&out, what).starts_with("ok "), "{what}: {out}");
    }
    assert!(
        line(&out, "database").contains("migrations applied"),
        "{out}"
    );
    assert!(line(&out, "mail").contains("EHLO"), "{out}");
    assert!(
        line(&out, "DKIM").starts_with("warn"),
        "unsigned mail: {out}"
    );

    // each failure is its own FAIL line, and the exit code is 1
    let nobody = format!("smtp://127.0.0.1:{}", free_port());
    let key = dir.join("dkim.key");
    std::fs::write(
        &key,
        "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n",
    )
    .expect("key");
    let wrong_base = format!("http://127.0.0.1:{}", free_port());
    let mut bad = env.clone();
    bad.retain(|(k, _)| *k != "ROSTER_SMTP_URL" && *k != "ROSTER_BASE_URL");
    let key_path = key.to_string_lossy().to_string();
    bad.extend([
        ("ROSTER_SMTP_URL", nobody.as_str()),
        ("ROSTER_SMTP_TIMEOUT_SECS", "2"),
        ("ROSTER_DKIM_SELECTOR", "s1"),
        ("ROSTER_DKIM_DOMAIN", "example.com"),
        ("ROSTER_DKIM_KEY_FILE", key_path.as_str()),
        ("ROSTER_BASE_URL", wrong_base.as_str()),
    ]);
    let (code, out) = doctor(dir, &bad).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(line(&out, "database").starts_with("ok "), "{out}");
    assert!(line(&out, "mail").starts_with("FAIL"), "{out}");
    assert!(line(&out, "DKIM").starts_with("FAIL"), "{out}");
    assert!(
        line(&out, "base URL").starts_with("FAIL"),
        "a server listens: {out}"
    );
    assert!(out.contains("3 check(s) failed"), "{out}");
    common::kill(&mut server).await;

    // a configuration that does not load is the one failed line
    let (code, out) = doctor(dir, &[("ROSTER_LISTEN", "not-an-address")]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(line(&out, "configuration").starts_with("FAIL"), "{out}");
}

/// The JSON log lines of a server (each must be one object).
fn json_lines(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The access-log line of the request with this id.
fn request_line(lines: &[serde_json::Value], id: &str) -> serde_json::Value {
    lines
        .iter()
        .find(|l| l["target"] == "roster::http" && l["request_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no request line with id {id}: {lines:?}"))
}

async fn get_with_id(url: &str, id: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url)
        .header("x-request-id", id)
        .send()
        .await
        .expect("get");
    let answered = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (r.status().as_u16(), answered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_and_metrics_listen_keeps_metrics_off_the_main_address() {
    roster_webhooks::install_crypto_provider();
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let (app, token) = common::create_app(dir, "Logs", "5").await;
    let (port, metrics_port) = (free_port(), free_port());
    let metrics_listen = format!("127.0.0.1:{metrics_port}");
    let env = [
        ("ROSTER_LOG_FORMAT", "json"),
        ("ROSTER_METRICS_LISTEN", metrics_listen.as_str()),
    ];
    let (mut server, log) = serve_with(dir, port, &env, 0).await;
    let base = format!("http://127.0.0.1:{port}");
    // a client's request id is not believed from an untrusted peer
    let (status, id) = get_with_id(&format!("{base}/healthz"), "from-the-client-1").await;
    assert_eq!(status, 200);
    assert!(id.len() >= 16 && id != "from-the-client-1", "{id}");
    // an app's request, authenticated: the line names the app and the actor
    let http = reqwest::Client::new();
    let session = common::accept(&http, port, &token).await;
    let r = http
        .get(format!("{base}/api/v1/apps/{app}/members"))
        .bearer_auth(&session)
        .send()
        .await
        .expect("members");
    assert_eq!(r.status(), 200);
    let members_id = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // /metrics only on its own address
    let r = reqwest::get(format!("{base}/metrics")).await.expect("main");
    assert_eq!(r.status(), 404);
    let r = reqwest::get(format!("http://{metrics_listen}/metrics"))
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("metrics text");
    assert!(
        text.contains("roster_http_requests_total{route=\"/api/v1/apps/{app_id}/members\""),
        "{text}"
    );
    common::kill(&mut server).await;

    let lines = json_lines(&log);
    let health = request_line(&lines, &id);
    assert_eq!(health["route"], "/healthz");
    assert_eq!(health["status"], 200);
    assert_eq!(health["method"], "GET");
    assert!(health["duration_ms"].is_number());
    let members = request_line(&lines, &members_id);
    assert_eq!(members["route"], "/api/v1/apps/{app_id}/members");
    assert_eq!(members["app_id"], app.as_str());
    assert!(
        members["actor_id"].as_str().is_some_and(|a| a.len() == 36),
        "{members}"
    );
    assert!(
        !std::fs::read_to_string(&log)
            .expect("log")
            .contains(&session),
        "the session token is in the log"
    );

    // behind a trusted proxy the proxy's request id is kept
    let port = free_port();
    let (mut server, log) = serve_with(
        dir,
        port,
        &[
            ("ROSTER_LOG_FORMAT", "json"),
            ("ROSTER_TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
        ],
        1,
    )
    .await;
    let (status, id) = get_with_id(
        &format!("http://127.0.0.1:{port}/readyz"),
        "from-the-proxy-1",
    )
    .await;
    assert_eq!((status, id.as_str()), (200, "from-the-proxy-1"));
    common::kill(&mut server).await;
    let line = request_line(&json_lines(&log), "from-the-proxy-1");
    assert_eq!(line["route"], "/readyz");
    assert_eq!(line["status"], 200);
}

/// The invitation emails in the test's SQLite database.
fn invitations_in(dir: &Path, app: &str) -> BTreeSet<String> {
    let c = rusqlite::Connection::open(dir.join("data/roster.db")).expect("open");
    let mut st = c
        .prepare("SELECT email FROM invitations WHERE app_id = ?1 AND email LIKE '%@term.test'")
        .expect("prepare");
    st.query_map([app], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_accepted_request_and_no_queued_mail() {
    roster_webhooks::install_crypto_provider();
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let sink = SmtpSink::start().await;
    // slow mail: a queue builds up behind the requests
    sink.update(|b| b.delay = Duration::from_millis(30));
    let (app, token) = common::create_app(dir, "Term", "5000").await;
    let port = free_port();
    let url = sink.url();
    let env = [("ROSTER_SMTP_URL", url.as_str())];
    let (mut server, log) = serve_with(dir, port, &env, 0).await;
    // a new connection per request: once the server stops accepting, a request is refused
    // before it is sent or answered in full, never half done
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let session = common::accept(&http, port, &token).await;

    let answered: Arc<Mutex<Vec<String>>> = Arc::default();
    let unanswered: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..12 {
        let (http, session, app) = (http.clone(), session.clone(), app.clone());
        let (answered, unanswered, stop) = (answered.clone(), unanswered.clone(), stop.clone());
        clients.spawn(async move {
            for i in 0..400 {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let email = format!("c{c:02}-{i:03}@term.test");
                let r = http
                    .post(format!(
                        "http://127.0.0.1:{port}/api/v1/apps/{app}/invitations"
                    ))
                    .bearer_auth(&session)
                    .json(&serde_json::json!({"email": email, "first_name": "Someone"}))
                    .send()
                    .await;
                match r {
                    Ok(r) => {
                        assert_eq!(r.status(), 201, "{email}: {:?}", r.text().await);
                        if let Ok(mut v) = answered.lock() {
                            v.push(email);
                        }
                    }
                    // the server has stopped accepting: this one and the rest are refused
                    Err(_) => {
                        if let Ok(mut v) = unanswered.lock() {
                            v.push(email);
                        }
                        return;
                    }
                }
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.lock().map(|v| v.len()).unwrap_or(0) < 150 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = server.id().expect("pid").to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let status = tokio::time::timeout(Duration::from_secs(60), server.wait())
        .await
        .expect("the server ends within a minute")
        .expect("wait");
    stop.store(true, Ordering::SeqCst);
    while let Some(done) = clients.join_next().await {
        done.expect("a client");
    }
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "{status:?}: {logged}");
    assert!(logged.contains("database closed"), "{logged}");
    // the database was closed, not just dropped: its write-ahead log is folded into the file
    // and gone (a process that exits with connections open leaves it behind)
    let wal = dir.join("data/roster.db-wal");
    assert!(
        std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0,
        "{} left behind after shutdown",
        wal.display()
    );

    // every invitation the server committed was answered, and only those
    let answered: BTreeSet<String> = answered.lock().expect("answered").iter().cloned().collect();
    let stored = invitations_in(dir, &app);
    assert!(answered.len() >= 150, "{}", answered.len());
    let unanswered_but_stored: Vec<&String> = stored.difference(&answered).collect();
    assert!(
        unanswered_but_stored.is_empty(),
        "committed but never answered: {unanswered_but_stored:?}"
    );
    let lost: Vec<&String> = answered.difference(&stored).collect();
    assert!(lost.is_empty(), "answered 201 but not stored: {lost:?}");
    let refused = unanswered.lock().expect("unanswered").len();

    // the mail queued before the stop goes out after a restart, every message
    let delivered_before = sink.count();
    let (mut server, _log) = serve_with(dir, free_port(), &env, 1).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    let arrived = || -> BTreeSet<String> {
        sink.messages()
            .iter()
            .flat_map(|m| m.rcpt_to.clone())
            .filter(|r| r.ends_with("@term.test"))
            .collect()
    };
    while arrived().len() < stored.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let missing: Vec<String> = stored.difference(&arrived()).cloned().collect();
    assert!(
        missing.is_empty(),
        "{} queued invitations never arrived (e.g. {:?}); outbox: {}",
        missing.len(),
        missing.first(),
        run(dir, &["outbox", "list", "--status", "pending"]).await
    );
    common::kill(&mut server).await;
    eprintln!(
        "{} answered, {refused} refused after SIGTERM; {delivered_before} delivered before the \
         stop, all {} after the restart",
        answered.len(),
        stored.len()
    );
}

#[tokio::test]
async fn a_trickling_client_does_not_hold_shutdown_past_the_timeout() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let (mut server, _log) = serve_with(
        dir.path(),
        port,
        &[("ROSTER_SHUTDOWN_TIMEOUT_SECS", "2")],
        0,
    )
    .await;
    // headers of a request whose body never comes
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    slow.write_all(
        b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{",
    )
    .await
    .expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = server.id().expect("pid").to_string();
    let started = Instant::now();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let status = tokio::time::timeout(Duration::from_secs(15), server.wait())
        .await
        .expect("the server stops within the timeout")
        .expect("wait");
    assert!(status.success(), "{status:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "it waited for the request: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    drop(slow);
}
