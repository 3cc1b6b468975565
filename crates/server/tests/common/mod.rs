//! What the binary's tests share: run `roster` in a test folder, read what it printed.
#![allow(dead_code)] // each test file uses its own part

use std::process::{Command, Output};

/// `roster ARGS` in `dir`, with no inherited `ROSTER_*` settings (the test suite's own
/// `ROSTER_TEST_*` stay), data in `<dir>/data`, plus `env`.
pub fn roster(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roster"));
    c.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("ROSTER_") && !k.starts_with("ROSTER_TEST_") {
            c.env_remove(k);
        }
    }
    c.env("ROSTER_DATA_DIR", dir.join("data"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run roster")
}

/// Standard output and standard error, together.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Links in mail stay the same whichever port a restarted server listens on.
pub const BASE_URL: &str = "http://localhost:8080";

/// `roster` as a tokio process, with no inherited `ROSTER_*` settings and the test's data
/// folder (killed when dropped).
pub fn roster_async(dir: &std::path::Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"));
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
pub async fn run(dir: &std::path::Path, args: &[&str]) -> String {
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
    assert!(o.status.success(), "roster {args:?}: {out}");
    out
}

/// `roster serve` on `port` with `env`, once it says it is running; its log goes to
/// `<dir>/serve-<n>.log`.
pub async fn serve_with(
    dir: &std::path::Path,
    port: u16,
    env: &[(&str, &str)],
    n: usize,
) -> (tokio::process::Child, std::path::PathBuf) {
    use tokio::io::AsyncBufReadExt;
    let log = dir.join(format!("serve-{n}.log"));
    let mut cmd = roster_async(dir);
    cmd.arg("serve")
        .env("ROSTER_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn roster serve");
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

/// SIGKILL: no shutdown code runs, claimed rows stay leased.
pub async fn kill(child: &mut tokio::process::Child) {
    child.start_kill().expect("SIGKILL");
    let status = child.wait().await.expect("wait");
    assert!(!status.success(), "{status:?}");
}

/// Accept an invitation with a new ID over the API; the session token.
pub async fn accept(http: &reqwest::Client, port: u16, token: &str) -> String {
    let r = http
        .post(format!(
            "http://127.0.0.1:{port}/api/v1/invitations/{token}/accept"
        ))
        .json(&serde_json::json!({
            "first_name": "Ada",
            "last_name": "Admin",
            "password": roster_testkit::GOOD_PASSWORD,
            "security_question": "first_pet_name",
            "security_answer": "Rex",
            "accept_terms": true
        }))
        .send()
        .await
        .expect("accept");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let body: serde_json::Value = r.json().await.expect("session json");
    body["token"].as_str().expect("session token").to_string()
}

/// `roster app create`: the App ID and the first admin's invitation token.
pub async fn create_app(dir: &std::path::Path, name: &str, seats: &str) -> (String, String) {
    let out = run(
        dir,
        &[
            "app",
            "create",
            "--name",
            name,
            "--seats",
            seats,
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
    let token = out
        .lines()
        .find_map(|l| l.split("/invite/").nth(1))
        .expect("accept link")
        .trim()
        .to_string();
    (app_id, token)
}
