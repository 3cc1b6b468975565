//! Backup and restore with the real binary (issue 12): `roster backup` while 20 clients invite,
//! `roster restore` into a fresh folder, and every invitation committed before the backup began
//! is there (and the restored server signs its admin in). Restore refuses a database that holds
//! data without --force, a corrupt file, a file that is no Roster backup, a backup from a newer
//! release, and a database a server is using.

mod common;

use common::{free_port, roster_async, run, serve_with};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 20;
const DOMAIN: &str = "backup.test";

/// `roster ARGS` in `dir` that must fail; its output.
async fn refused(dir: &Path, args: &[&str]) -> String {
    let o = roster_async(dir)
        .args(args)
        .output()
        .await
        .expect("run roster");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "roster {args:?} should fail: {out}"
    );
    out
}

/// The invitation emails in a SQLite database, after checking its integrity and seats.
fn invitations_in(db: &Path, app: &str) -> Vec<String> {
    let c = rusqlite::Connection::open(db).expect("open restored database");
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(ok, "ok");
    let (held, counted): (i64, i64) = c
        .query_row(
            "SELECT (SELECT seats_held FROM apps WHERE app_id = ?1), \
             (SELECT COUNT(*) FROM members WHERE app_id = ?1 AND holds_seat = 1)",
            [app],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("seats");
    assert_eq!(
        held, counted,
        "the restored seat counter matches its members"
    );
    let mut st = c
        .prepare("SELECT email FROM invitations WHERE app_id = ?1")
        .expect("prepare");
    st.query_map([app], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_committed_invitation() {
    roster_webhooks::install_crypto_provider();
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let (app, token) = common::create_app(dir, "Backup", "5000").await;
    let port = free_port();
    let (_server, _log) = serve_with(dir, port, &[], 0).await;
    let http = reqwest::Client::new();
    let session = common::accept(&http, port, &token).await;

    // 20 clients invite until told to stop; each 201 is written down with when it arrived
    let committed: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (http, session, app) = (http.clone(), session.clone(), app.clone());
        let (committed, stop) = (committed.clone(), stop.clone());
        clients.spawn(async move {
            for i in 0..200 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let email = format!("c{c:02}-{i:03}@{DOMAIN}");
                let r = http
                    .post(format!(
                        "http://127.0.0.1:{port}/api/v1/apps/{app}/invitations"
                    ))
                    .bearer_auth(&session)
                    .json(&serde_json::json!({"email": email, "first_name": "Someone"}))
                    .send()
                    .await
                    .expect("invite");
                assert_eq!(r.status(), 201, "{email}: {:?}", r.text().await);
                if let Ok(mut v) = committed.lock() {
                    v.push((email, Instant::now()));
                }
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed.lock().map(|v| v.len()).unwrap_or(0) < 150 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backup = dir.join("roster-backup.db");
    let started = Instant::now();
    let out = run(dir, &["backup", &backup.to_string_lossy()]).await;
    assert!(out.contains("backed up"), "{out}");
    // the clients keep writing a little after the copy, then stop
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    while let Some(done) = clients.join_next().await {
        done.expect("a client");
    }
    let committed = committed.lock().expect("committed").clone();
    let before: Vec<&String> = committed
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(e, _)| e)
        .collect();
    let during_or_after = committed.len() - before.len();
    assert!(before.len() >= 150, "{} before the backup", before.len());
    assert!(
        during_or_after > 0,
        "the clients wrote while the backup ran"
    );

    // restore into a fresh folder: every invitation committed before the backup began is there
    let fresh_dir = tempfile::tempdir().expect("fresh");
    let fresh = fresh_dir.path();
    let out = run(fresh, &["restore", &backup.to_string_lossy()]).await;
    assert!(out.contains("restored"), "{out}");
    let restored = invitations_in(&fresh.join("data/roster.db"), &app);
    let missing: Vec<&&String> = before.iter().filter(|e| !restored.contains(*e)).collect();
    assert!(missing.is_empty(), "missing after restore: {missing:?}");
    assert!(
        restored.len() > before.len(),
        "the first admin's invitation too"
    );

    // a database that holds data is replaced only with --force
    let out = refused(fresh, &["restore", &backup.to_string_lossy()]).await;
    assert!(
        out.contains("already holds data") && out.contains("--force"),
        "{out}"
    );
    let out = run(fresh, &["restore", &backup.to_string_lossy(), "--force"]).await;
    assert!(out.contains("restored"), "{out}");

    // a corrupt copy, a file that is no database, one that is no Roster backup, and one from a
    // newer release are refused, and the database stays as it was
    let bytes = std::fs::read(&backup).expect("backup bytes");
    let corrupt = dir.join("corrupt.db");
    let mut broken = bytes.clone();
    let page = 4096;
    for b in broken.iter_mut().skip(page * 2).take(page * 3) {
        *b = 0x5a;
    }
    std::fs::write(&corrupt, &broken).expect("write corrupt");
    let out = refused(fresh, &["restore", &corrupt.to_string_lossy(), "--force"]).await;
    assert!(
        out.contains("integrity check") || out.contains("not a readable SQLite database"),
        "{out}"
    );
    let junk = dir.join("junk.db");
    std::fs::write(&junk, b"this is not a database, it is a shopping list").expect("junk");
    let out = refused(fresh, &["restore", &junk.to_string_lossy(), "--force"]).await;
    assert!(out.contains("not a readable SQLite database"), "{out}");
    let other = dir.join("other.db");
    rusqlite::Connection::open(&other)
        .and_then(|c| {
            c.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x');")
        })
        .expect("other db");
    let out = refused(fresh, &["restore", &other.to_string_lossy(), "--force"]).await;
    assert!(out.contains("not a Roster backup"), "{out}");
    let newer = dir.join("newer.db");
    std::fs::copy(&backup, &newer).expect("copy");
    rusqlite::Connection::open(&newer)
        .and_then(|c| {
            c.execute(
                "INSERT INTO _roster_migrations (version, name, applied_at) VALUES (9999, '9999_future', 0)",
                [],
            )
        })
        .expect("newer migration");
    let out = refused(fresh, &["restore", &newer.to_string_lossy(), "--force"]).await;
    assert!(out.contains("newer Roster"), "{out}");
    assert_eq!(
        invitations_in(&fresh.join("data/roster.db"), &app).len(),
        restored.len()
    );

    // the restored server runs and signs its admin in
    let fresh_port = free_port();
    let (mut restored_server, _log) = serve_with(fresh, fresh_port, &[], 1).await;
    let r = http
        .post(format!("http://127.0.0.1:{fresh_port}/api/v1/session"))
        .json(&serde_json::json!({"email": "ada@admin.example", "password": roster_testkit::GOOD_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);
    // … and while it runs, nothing is restored over its database
    let out = refused(fresh, &["restore", &backup.to_string_lossy(), "--force"]).await;
    assert!(out.contains("Stop the server"), "{out}");
    common::kill(&mut restored_server).await;
}
