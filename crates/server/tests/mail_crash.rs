//! Crash safety of mail delivery: `roster serve` is killed with SIGKILL three times while it
//! sends 500 invitations to a slow SMTP server, and restarted on the same data each time.
//! Every invitation must still arrive, soon after the last restart, and a message sent twice
//! (accepted by the SMTP server just before a kill) must carry the same Message-ID both times.

mod common;

use common::free_port;
use roster_testkit::GOOD_PASSWORD;
use roster_testkit::smtp::SmtpSink;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

const INVITATIONS: usize = 500;
const DOMAIN: &str = "crash.test";
/// Sink deliveries after which each of the three kills happens: not multiples of the worker's
/// batch (50), so that each kill leaves claimed, unsent messages behind, not just the one in hand.
const KILL_AFTER: [usize; 3] = [60, 215, 370];
/// The SMTP server takes this long to answer each message.
const SLOW: Duration = Duration::from_millis(10);
/// Links in the mail stay the same whichever port a restarted server listens on.
const BASE_URL: &str = "http://localhost:8080";

/// `roster` with no inherited `ROSTER_*` settings and the test's data folder.
fn roster(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roster"));
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("ROSTER_") && !k.starts_with("ROSTER_TEST_") {
            c.env_remove(k);
        }
    }
    c.env("ROSTER_DATA_DIR", dir.join("data"))
        .env("ROSTER_BASE_URL", BASE_URL)
        .kill_on_drop(true);
    c
}

/// Run a CLI command to its end; its output, or a panic naming it.
async fn run(dir: &Path, args: &[&str]) -> String {
    let o = roster(dir).args(args).output().await.expect("run roster");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "roster {args:?}: {out}");
    out
}

/// `roster serve` sending mail to `smtp_url`, once it says it is running; its log goes to
/// `<dir>/serve-<n>.log`.
async fn serve(dir: &Path, port: u16, smtp_url: &str, n: usize) -> (Child, PathBuf) {
    let log = dir.join(format!("serve-{n}.log"));
    let mut child = roster(dir)
        .arg("serve")
        .env("ROSTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("ROSTER_SMTP_URL", smtp_url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn roster serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let first = lines.next_line().await.ok().flatten().unwrap_or_default();
    assert!(
        first.contains("Roster is running"),
        "{first}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // keep reading stdout so the server never blocks on a full pipe
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, log)
}

/// SIGKILL: no shutdown code runs, claimed outbox rows stay leased.
async fn kill(child: &mut Child) {
    child.start_kill().expect("SIGKILL");
    let status = child.wait().await.expect("wait");
    assert!(!status.success(), "{status:?}");
}

/// The first admin accepts (new ID) and gets a session; then `INVITATIONS` users are invited,
/// eight requests at a time.
async fn queue_invitations(port: u16, accept_token: &str, app_id: &str) {
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let r = http
        .post(format!("{base}/invitations/{accept_token}/accept"))
        .json(&json!({
            "first_name": "Ada",
            "last_name": "Admin",
            "password": GOOD_PASSWORD,
            "security_question": "first_pet_name",
            "security_answer": "Rex",
            "accept_terms": true
        }))
        .send()
        .await
        .expect("accept");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let body: serde_json::Value = r.json().await.expect("session json");
    let session = body["token"].as_str().expect("session token").to_string();

    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (http, base, session, app) = (
            http.clone(),
            base.clone(),
            session.clone(),
            app_id.to_string(),
        );
        tasks.spawn(async move {
            for i in (worker..INVITATIONS).step_by(8) {
                let r = http
                    .post(format!("{base}/apps/{app}/invitations"))
                    .bearer_auth(&session)
                    .json(&json!({
                        "email": format!("u{i:03}@{DOMAIN}"),
                        "first_name": "Someone",
                        "kind": "user",
                        "admin": false
                    }))
                    .send()
                    .await
                    .expect("invite");
                assert_eq!(r.status(), 201, "invite {i}: {:?}", r.text().await);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("an invitation task");
    }
}

/// Recipient → (first arrival, Message-ID of each delivery), for the invitations only.
fn deliveries(sink: &SmtpSink) -> BTreeMap<String, (Instant, Vec<String>)> {
    let mut by_rcpt: BTreeMap<String, (Instant, Vec<String>)> = BTreeMap::new();
    for m in sink.messages() {
        for to in m.rcpt_to.iter().filter(|t| t.ends_with(DOMAIN)) {
            let id = m.header("Message-ID").unwrap_or_default();
            by_rcpt
                .entry(to.clone())
                .or_insert((m.at, Vec::new()))
                .1
                .push(id);
        }
    }
    by_rcpt
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invitation_arrives_despite_three_sigkills_mid_delivery() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let sink = SmtpSink::start().await;

    // The app, by the CLI (its first admin's invitation goes to the local mailbox).
    let out = run(
        dir,
        &[
            "app",
            "create",
            "--name",
            "Crash",
            "--seats",
            "600",
            "--admin-email",
            "ada@admin.example",
            "--admin-first-name",
            "Ada",
        ],
    )
    .await;
    let app_id = out
        .lines()
        .find_map(|l| l.split(" with App ID ").nth(1))
        .expect("app id line")
        .trim()
        .to_string();
    let accept_token = out
        .lines()
        .find_map(|l| l.split("/invite/").nth(1))
        .expect("accept link")
        .trim()
        .to_string();

    // Hold delivery back (one message a second) while the invitations are queued, so that the
    // kills below happen during delivery, not during queueing.
    sink.update(|b| b.delay = Duration::from_secs(1));
    let port = free_port();
    let (mut server, mut log) = serve(dir, port, &sink.url(), 0).await;
    queue_invitations(port, &accept_token, &app_id).await;
    let queued = started.elapsed();
    sink.update(|b| b.delay = SLOW);

    for (n, after) in KILL_AFTER.into_iter().enumerate() {
        assert!(
            sink.wait_for(after, Duration::from_secs(120)).await,
            "only {} delivered, waiting for {after}: {}",
            sink.count(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        kill(&mut server).await;
        eprintln!(
            "kill {} after {} deliveries at {:.1?}",
            n + 1,
            sink.count(),
            started.elapsed()
        );
        (server, log) = serve(dir, free_port(), &sink.url(), n + 1).await;
    }
    let restarted = Instant::now();

    // Every invitation arrives; then the outbox has nothing left to send (so that late
    // duplicates, if any, are counted too).
    let deadline = restarted + Duration::from_secs(120);
    while deliveries(&sink).len() < INVITATIONS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    while !run(dir, &["outbox", "list", "--status", "pending"])
        .await
        .trim()
        .is_empty()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    kill(&mut server).await;

    let got = deliveries(&sink);
    let missing: Vec<String> = (0..INVITATIONS)
        .map(|i| format!("u{i:03}@{DOMAIN}"))
        .filter(|r| !got.contains_key(r))
        .collect();
    assert!(
        missing.is_empty(),
        "{} invitations never arrived (e.g. {:?}); outbox: {}",
        missing.len(),
        missing.first(),
        run(dir, &["outbox", "list", "--status", "pending"]).await
    );
    let last = got.values().map(|(at, _)| *at).max().expect("deliveries");
    let last_after_restart = last.saturating_duration_since(restarted);
    let mut duplicates = 0;
    let mut ids = std::collections::BTreeSet::new();
    for (rcpt, (_, msg_ids)) in &got {
        assert!(!msg_ids[0].is_empty(), "{rcpt}: no Message-ID");
        assert!(
            msg_ids.iter().all(|id| *id == msg_ids[0]),
            "{rcpt} was sent again under another Message-ID: {msg_ids:?}"
        );
        assert!(ids.insert(msg_ids[0].clone()), "{rcpt}: Message-ID reused");
        duplicates += msg_ids.len() - 1;
    }
    let failed = run(dir, &["outbox", "list", "--status", "failed"]).await;
    assert!(failed.trim().is_empty(), "failed mail: {failed}");
    eprintln!(
        "{INVITATIONS} invitations queued in {queued:.1?}; {} deliveries, {duplicates} duplicates; \
         last new arrival {last_after_restart:.1?} after the final restart; total {:.1?}",
        sink.count(),
        started.elapsed()
    );
    // the restarted node takes its own claims back at once: far inside the 60 s asked for
    // (waiting for the dead process's 45-second leases would take ~47 s)
    assert!(
        last_after_restart <= Duration::from_secs(20),
        "the last invitation arrived {last_after_restart:?} after the final restart"
    );
}
