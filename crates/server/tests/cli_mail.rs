//! `roster mail …` as an operator uses it: preview a template, a bad override stops start-up
//! naming the file and line, and `mail list --failed` shows what did not go out.

use roster_testkit::smtp::{Refusal, SmtpSink, Stage};
mod common;

use common::{roster, text};

#[test]
fn mail_preview_renders_each_message_with_sample_data_and_overrides() {
    let dir = tempfile::tempdir().expect("dir");
    let o = roster(dir.path(), &["mail", "preview", "invitation"], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.starts_with("Subject: Mike Weiss invited you to Acme Plumbing"),
        "{out}"
    );
    assert!(out.contains("/invite/sample-token"), "{out}");
    let o = roster(
        dir.path(),
        &["mail", "preview", "admin_notification", "--html"],
        &[],
    );
    assert!(o.status.success());
    assert!(text(&o).starts_with("<!doctype html>"), "{}", text(&o));
    let o = roster(dir.path(), &["mail", "preview", "nope"], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("invitation, "), "{}", text(&o));

    // an override is used; a broken one stops start-up naming the file and the line
    let tpl = dir.path().join("templates");
    std::fs::create_dir_all(&tpl).expect("mkdir");
    std::fs::write(
        tpl.join("login_code.txt"),
        "{% extends \"layout.txt\" %}{% block subject %}Code: {{ code }}{% endblock %}\n{% block body %}Here: {{ code }}{% endblock %}",
    )
    .expect("write");
    let env = [
        ("ROSTER_MAIL_TEMPLATES_DIR", tpl.to_str().unwrap_or("")),
        ("ROSTER_LISTEN", "127.0.0.1:0"),
    ];
    let o = roster(dir.path(), &["mail", "preview", "login_code"], &env);
    assert!(
        text(&o).starts_with("Subject: Code: 123456\n\nHere: 123456"),
        "{}",
        text(&o)
    );
    std::fs::write(
        tpl.join("invitation.txt"),
        "{% extends \"layout.txt\" %}\n{% block subject %}Hi{% endblock %}\n{% block body %}\nHello {{ frist_name }}\n{% endblock %}",
    )
    .expect("write");
    let o = roster(dir.path(), &["serve"], &env);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("invitation.txt") && out.contains("line 4"),
        "{out}"
    );
    assert!(out.contains("undefined"), "{out}");
    assert!(!out.contains("Roster is running"), "{out}");
    std::fs::write(tpl.join("invitation.txt"), "{% if %}").expect("write");
    let o = roster(dir.path(), &["serve"], &env);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("invitation.txt, line 1: syntax error"),
        "{}",
        text(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_list_failed_shows_what_did_not_go_out_with_the_reply() {
    let sink = SmtpSink::start().await;
    sink.update(|b| {
        b.refusals.push(Refusal::recipient(
            "ada@acme.example",
            Stage::Rcpt,
            "550 5.1.1 mailbox unavailable",
        ))
    });
    let dir = tempfile::tempdir().expect("dir");
    let url = sink.url();
    let url2 = url.clone();
    let d = dir.path().to_path_buf();
    let o = tokio::task::spawn_blocking(move || {
        roster(
            &d,
            &[
                "app",
                "create",
                "--name",
                "Acme",
                "--admin-email",
                "ada@acme.example",
                "--admin-first-name",
                "Ada",
            ],
            &[("ROSTER_SMTP_URL", url.as_str())],
        )
    })
    .await
    .expect("join");
    assert!(o.status.success(), "{}", text(&o));
    let d = dir.path().to_path_buf();
    let o = tokio::task::spawn_blocking(move || {
        roster(
            &d,
            &["mail", "list", "--failed"],
            &[("ROSTER_SMTP_URL", url2.as_str())],
        )
    })
    .await
    .expect("join");
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("to=ada@acme.example"), "{out}");
    assert!(
        out.contains("undeliverable") && out.contains("550"),
        "{out}"
    );
    assert_eq!(sink.count(), 0);
}
