//! The `roster` binary as an operator uses it.

use std::process::{Command, Output};

fn roster(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
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

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

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
        out.contains("Accept link: http://127.0.0.1:8080/invite/"),
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
    assert!(shown.contains("multipart/alternative"), "{shown}");

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
