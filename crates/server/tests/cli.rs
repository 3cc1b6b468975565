//! The `roster` binary as an operator uses it.

mod common;

use common::{free_port, roster, text};
use std::process::Command;

#[test]
fn app_create_prints_the_app_id_and_link_and_the_mail_is_readable() {
    let dir = tempfile::tempdir().expect("dir");
    let o = roster(
        dir.path(),
        &[
            "app",
            "create",
            "--name",
            "Acme",
            "--seats",
            "2",
            "--admin-email",
            "ada@acme.example",
            "--admin-first-name",
            "Ada",
        ],
        &[],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("App ID"), "{out}");
    assert!(
        out.contains("Accept link: http://localhost:8080/invite/"),
        "{out}"
    );
    assert!(dir.path().join("data/roster.db").exists());

    let list = roster(dir.path(), &["mail", "list"], &[]);
    let listed = text(&list);
    assert!(list.status.success(), "{listed}");
    assert!(listed.contains("To: ada@acme.example"), "{listed}");
    let id = listed.split_whitespace().next().expect("id").to_string();
    let show = roster(dir.path(), &["mail", "show", &id], &[]);
    let shown = text(&show);
    assert!(
        shown.contains("Subject: Roster support invited you to Acme"),
        "{shown}"
    );
    // Decoded: the text part as a person reads it, and its link on a line of its own.
    assert!(shown.contains("To:      ada@acme.example"), "{shown}");
    assert!(
        shown.contains("Links:\n  http://localhost:8080/invite/"),
        "{shown}"
    );
    for mime in [
        "Content-Transfer-Encoding",
        "=3D",
        "multipart/alternative",
        "boundary=",
    ] {
        assert!(
            !shown.contains(mime),
            "{mime} in the decoded message: {shown}"
        );
    }
    let raw = roster(dir.path(), &["mail", "show", &id, "--raw"], &[]);
    assert!(
        text(&raw).contains("multipart/alternative"),
        "{}",
        text(&raw)
    );
    let missing = roster(dir.path(), &["mail", "show", "nope"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).contains("no message \"nope\""),
        "{}",
        text(&missing)
    );

    let app_id = out
        .lines()
        .find_map(|l| l.strip_prefix("Created app \"Acme\" with App ID "))
        .expect("app id line")
        .trim()
        .to_string();
    let grant = roster(
        dir.path(),
        &["seats", "grant", &app_id, "--quantity", "3"],
        &[],
    );
    assert!(
        text(&grant).contains("5 seats (2 purchased + 3 complimentary)"),
        "{}",
        text(&grant)
    );
    let show = roster(dir.path(), &["app", "show", &app_id], &[]);
    assert!(text(&show).contains("complimentary"), "{}", text(&show));
    let outbox = roster(dir.path(), &["outbox", "list"], &[]);
    assert!(text(&outbox).contains("sent"), "{}", text(&outbox));
    let backup = roster(dir.path(), &["backup", "copy.db"], &[]);
    assert!(backup.status.success(), "{}", text(&backup));
    assert!(dir.path().join("copy.db").exists());
}

#[test]
fn bad_configuration_stops_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("dir");
    let o = roster(dir.path(), &["migrate"], &[("ROSTER_SURPRISE", "1")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown field"), "{}", text(&o));
    let o = roster(
        dir.path(),
        &["migrate"],
        &[("ROSTER_LISTEN", "not-an-address")],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = roster(
        dir.path(),
        &["migrate"],
        &[("ROSTER_DATABASE_URL", "mysql://x")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("database_url"), "{}", text(&o));
    std::fs::write(dir.path().join("roster.toml"), "invitation_ttl_days = 0\n").expect("write");
    let o = roster(dir.path(), &["migrate"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("invitation_ttl_days"), "{}", text(&o));
    std::fs::remove_file(dir.path().join("roster.toml")).expect("rm");
    let o = roster(
        dir.path(),
        &["migrate"],
        &[("ROSTER_MAIL_RETRY_HOURS", "0")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("mail_retry_hours"), "{}", text(&o));
}

#[test]
fn an_unreachable_postgres_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("dir");
    let o = roster(
        dir.path(),
        &["migrate"],
        &[(
            "ROSTER_DATABASE_URL",
            "postgres://postgres:secret@127.0.0.1:1/none",
        )],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("cannot connect to PostgreSQL"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
    assert!(
        !out.contains("secret"),
        "the password is not printed: {out}"
    );
}

#[test]
fn cli_errors_name_the_flag_and_the_reason() {
    let dir = tempfile::tempdir().expect("dir");
    let o = roster(
        dir.path(),
        &[
            "app",
            "create",
            "--name",
            "Acme",
            "--admin-email",
            "bad-email",
            "--admin-first-name",
            "",
        ],
        &[],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("--admin-email: \"bad-email\" is not an email address"),
        "{out}"
    );
    assert!(out.contains("--admin-first-name: \"\": "), "{out}");
    assert!(!out.contains("invalid input"), "{out}");
    let o = roster(dir.path(), &["app", "show", "XY"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("APP_ID: \"XY\""), "{}", text(&o));
    let o = roster(
        dir.path(),
        &["seats", "grant", "ab123", "--quantity", "0"],
        &[],
    );
    assert!(text(&o).contains("--quantity: \"0\""), "{}", text(&o));
}

#[test]
fn address_in_use_is_a_clear_message_not_an_internal_error() {
    let dir = tempfile::tempdir().expect("dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let o = roster(dir.path(), &["serve"], &[("ROSTER_LISTEN", &addr)]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains(&format!("cannot listen on {addr}")), "{out}");
    assert!(
        out.to_lowercase().contains("address already in use"),
        "{out}"
    );
    assert!(!out.contains("internal error"), "{out}");
}

/// Starts `roster serve` and waits for its "running" line; returns the child.
fn start_server(dir: &std::path::Path, port: u16) -> std::process::Child {
    use std::io::BufRead;
    let mut c = Command::new(env!("CARGO_BIN_EXE_roster"));
    c.current_dir(dir).arg("serve");
    for (k, _) in std::env::vars() {
        if k.starts_with("ROSTER_") && !k.starts_with("ROSTER_TEST_") {
            c.env_remove(k);
        }
    }
    c.env("ROSTER_DATA_DIR", dir.join("data"))
        .env("ROSTER_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("spawn roster serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    assert!(first.contains("Roster is running"), "{first}");
    // keep draining stdout so the server never blocks on a full pipe
    std::thread::spawn(move || for _ in lines {});
    // the listener is bound before the "running" line is printed
    child
}

fn get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-request-id: test-req-42\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn a_second_server_on_the_same_sqlite_data_refuses_to_start_and_logs_are_plain_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut first = start_server(dir.path(), port);

    let second = roster(
        dir.path(),
        &["serve"],
        &[("ROSTER_LISTEN", &format!("127.0.0.1:{}", free_port()))],
    );
    let out = text(&second);
    assert_eq!(second.status.code(), Some(1), "{out}");
    assert!(out.contains("another roster is already serving"), "{out}");
    assert!(out.contains(&format!("(pid {})", first.id())), "{out}");

    // One line per request: method, route (not the token-bearing path), status, request id —
    // a new one: a client that is not a trusted proxy does not choose it.
    let res = get(port, "/invite/SECRET-TOKEN-VALUE");
    let id = res
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap_or_else(|| panic!("a request id: {res}"))
        .trim()
        .to_string();
    assert!(id != "test-req-42" && id.len() >= 16, "{res}");
    let _ = Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status();
    let status = first.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    use std::io::Read;
    let _ = first
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err);
    assert!(
        !err.contains('\u{1b}'),
        "no ANSI colour codes when not a terminal: {err}"
    );
    let line = err
        .lines()
        .find(|l| l.contains(&format!("request_id={id}")))
        .unwrap_or_else(|| panic!("a request line: {err}"));
    for part in [
        "method=GET",
        "route=/invite/{token}",
        "status=404",
        "duration_ms=",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(
        !err.contains("SECRET-TOKEN-VALUE"),
        "no token in the log: {err}"
    );
    assert!(err.contains("shut down"), "a line on shutdown: {err}");

    // Once the first has stopped, the lock is free again.
    let mut again = start_server(dir.path(), free_port());
    let _ = again.kill();
    let _ = again.wait();
}

fn create_app(dir: &std::path::Path, name: &str) -> String {
    let o = roster(
        dir,
        &[
            "app",
            "create",
            "--name",
            name,
            "--seats",
            "1",
            "--admin-email",
            &format!("admin@{}.example", name.to_lowercase()),
            "--admin-first-name",
            "Ada",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
        .lines()
        .find_map(|l| l.split(" with App ID ").nth(1))
        .expect("app id line")
        .trim()
        .to_string()
}

/// What an admin's "Ask support for a seat" leaves in the database: a pending request.
fn seed_seat_request(dir: &std::path::Path, app: &str, quantity: i64) -> String {
    use roster_core::model::*;
    use roster_core::store::Store;
    use roster_core::types::*;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let url = format!("sqlite:{}", dir.join("data/roster.db").display());
        let store = roster_store_sqlite::SqliteStore::connect(&url)
            .await
            .expect("open");
        let now = time::OffsetDateTime::now_utc();
        let identity = Identity {
            id: IdentityId::new(),
            email: Email::parse(&format!("asker{quantity}@example.com")).expect("email"),
            first_name: "Ada".into(),
            last_name: None,
            password_hash: "$argon2id$not-used".into(),
            security_question: None,
            security_answer_hash: None,
            terms_version: None,
            terms_accepted_at: None,
            created_at: now,
            lockout: Lockout::default(),
        };
        let r = SeatRequest {
            id: SeatRequestId::new(),
            app_id: AppId::parse(app).expect("app id"),
            requested_by: identity.id,
            quantity,
            status: SeatRequestStatus::Pending,
            created_at: now,
            decided_at: None,
            granted_quantity: None,
        };
        let mut tx = store.begin().await.expect("begin");
        tx.insert_identity(&identity).await.expect("identity");
        tx.insert_seat_request(&r).await.expect("request");
        tx.commit().await.expect("commit");
        r.id.to_string()
    })
}

#[test]
fn seats_grant_with_request_closes_it_and_seats_requests_lists_it_granted() {
    let dir = tempfile::tempdir().expect("dir");
    let app = create_app(dir.path(), "Acme");
    let other = create_app(dir.path(), "Other");
    let id = seed_seat_request(dir.path(), &app, 2);

    let listed = roster(dir.path(), &["seats", "requests", &app], &[]);
    let out = text(&listed);
    assert!(listed.status.success(), "{out}");
    assert!(
        out.contains(&id) && out.contains("asked 2") && out.contains("pending"),
        "{out}"
    );

    // mistakes name --request and change nothing
    for (target, request, why) in [
        (app.as_str(), "not-an-id", "is not a seat request id"),
        (
            app.as_str(),
            "0190a0a0-0000-7000-8000-000000000000",
            "no seat request",
        ),
        (other.as_str(), id.as_str(), "no seat request"),
    ] {
        let o = roster(
            dir.path(),
            &[
                "seats",
                "grant",
                target,
                "--quantity",
                "2",
                "--request",
                request,
            ],
            &[],
        );
        let msg = text(&o);
        assert!(!o.status.success(), "{msg}");
        assert!(msg.contains("--request") && msg.contains(why), "{msg}");
        assert!(!msg.contains("panicked"), "{msg}");
    }
    let still = text(&roster(dir.path(), &["seats", "requests", &app], &[]));
    assert!(still.contains("pending"), "{still}");

    let grant = roster(
        dir.path(),
        &["seats", "grant", &app, "--quantity", "2", "--request", &id],
        &[],
    );
    let out = text(&grant);
    assert!(grant.status.success(), "{out}");
    assert!(
        out.contains(&format!("seat request {id} granted: 2 seat(s)")),
        "{out}"
    );
    assert!(
        out.contains("3 seats (1 purchased + 2 complimentary)"),
        "{out}"
    );

    // the operator's list (all apps) shows it granted, with the quantity
    let all = roster(dir.path(), &["seats", "requests"], &[]);
    let out = text(&all);
    assert!(all.status.success(), "{out}");
    let line = out.lines().find(|l| l.contains(&id)).expect("listed");
    assert!(
        line.contains(&app) && line.contains("granted 2 on"),
        "{line}"
    );
    assert!(!line.contains("pending"), "{line}");

    // a request is answered once
    let again = roster(dir.path(), &["seats", "grant", &app, "--request", &id], &[]);
    let msg = text(&again);
    assert!(!again.status.success(), "{msg}");
    assert!(
        msg.contains("--request") && msg.contains("already granted"),
        "{msg}"
    );
    let show = text(&roster(dir.path(), &["app", "show", &app], &[]));
    assert!(
        show.contains("3 available") || show.contains("of 3"),
        "{show}"
    );

    let unknown_app = roster(dir.path(), &["seats", "requests", "zz999"], &[]);
    assert!(!unknown_app.status.success());
    assert!(
        text(&unknown_app).contains("no app zz999"),
        "{}",
        text(&unknown_app)
    );
}

#[test]
fn terms_publish_sanitises_and_becomes_current() {
    let dir = tempfile::tempdir().expect("dir");
    let o = roster(dir.path(), &["terms", "show"], &[]);
    assert!(text(&o).contains("built in"), "{}", text(&o));
    let file = dir.path().join("terms.md");
    std::fs::write(&file, "# Terms\n\nBe kind.<script>alert(1)</script>").expect("write");
    let o = roster(
        dir.path(),
        &["terms", "publish", "terms.md", "--version", "2027-01"],
        &[],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("published terms version 2027-01"), "{out}");
    let o = roster(dir.path(), &["terms", "show"], &[]);
    assert!(
        text(&o).contains("version 2027-01 published"),
        "{}",
        text(&o)
    );
    // the same version twice, or a missing file: a clear error naming what is wrong
    let o = roster(
        dir.path(),
        &["terms", "publish", "terms.md", "--version", "2027-01"],
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("--version"), "{}", text(&o));
    let o = roster(dir.path(), &["terms", "publish", "nope.md"], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot read"), "{}", text(&o));
    // the key file for sealed secrets was created, readable by its owner only
    let key = dir.path().join("data/secret.key");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

#[test]
fn id_reset_2fa_names_an_unknown_email_and_a_bad_secret_key_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let o = roster(dir.path(), &["id", "reset-2fa", "nobody@example.com"], &[]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no ID has nobody@example.com"),
        "{}",
        text(&o)
    );
    let o = roster(
        dir.path(),
        &["id", "reset-2fa", "nobody@example.com"],
        &[("ROSTER_SECRET_KEY", "short")],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("secret_key"), "{}", text(&o));
    assert!(!text(&o).contains("panicked"));
}

#[test]
fn outbox_list_shows_every_entry_and_filters_by_state() {
    let dir = tempfile::tempdir().expect("dir");
    for name in ["Acme", "Beta"] {
        let o = roster(
            dir.path(),
            &[
                "app",
                "create",
                "--name",
                name,
                "--admin-email",
                &format!("ada@{}.example", name.to_lowercase()),
                "--admin-first-name",
                "Ada",
            ],
            &[],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = roster(dir.path(), &["outbox", "list"], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("kind=invitation"))
            .count(),
        2,
        "{out}"
    );
    let o = roster(dir.path(), &["outbox", "list", "--limit", "1"], &[]);
    assert_eq!(text(&o).lines().count(), 1, "{}", text(&o));
    let o = roster(dir.path(), &["outbox", "list", "--status", "failed"], &[]);
    assert!(o.status.success());
    assert_eq!(text(&o).trim(), "");
    let o = roster(dir.path(), &["outbox", "list", "--status", "lost"], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--status"), "{}", text(&o));
}
