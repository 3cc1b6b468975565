//! The operator's commands: `roster operator`, `roster app list|suspend|resume`,
//! `roster seats answer`, `roster id show|unlock|end-sessions`.

mod common;

use common::{roster, text};

fn create_app(dir: &std::path::Path) -> String {
    let o = roster(
        dir,
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
    let i = out.find("App ID ").expect("app id") + 7;
    out[i..].split_whitespace().next().expect("id").to_string()
}

#[test]
fn operator_commands_find_suspend_and_refuse_clearly() {
    let dir = tempfile::tempdir().expect("dir");
    let app = create_app(dir.path());
    // list and find
    for q in [None, Some("acm"), Some(app.as_str())] {
        let mut args = vec!["app", "list"];
        args.extend(q);
        let o = roster(dir.path(), &args, &[]);
        let out = text(&o);
        assert!(
            o.status.success() && out.contains(&app) && out.contains("Acme"),
            "{q:?}: {out}"
        );
    }
    let o = roster(dir.path(), &["app", "list", "nothing-like-it"], &[]);
    assert!(o.status.success() && !text(&o).contains("Acme"));
    // suspend and resume
    let o = roster(dir.path(), &["app", "suspend", &app], &[]);
    assert!(text(&o).contains("suspended"), "{}", text(&o));
    let o = roster(dir.path(), &["app", "resume", &app], &[]);
    assert!(
        o.status.success() && text(&o).contains("resumed"),
        "{}",
        text(&o)
    );
    let o = roster(dir.path(), &["app", "suspend", "zz999"], &[]);
    assert!(
        !o.status.success() && text(&o).contains("APP_ID"),
        "{}",
        text(&o)
    );
    // no ID yet: an operator is invited to create one (by email, with the link printed)
    let o = roster(dir.path(), &["operator", "add", "sam@roster.example"], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("No ID has sam@roster.example yet") && out.contains("/operator/join/"),
        "{out}"
    );
    let list = text(&roster(dir.path(), &["mail", "list"], &[]));
    assert!(list.contains("To: sam@roster.example"), "{list}");
    let o = roster(dir.path(), &["operator", "add", "not an email"], &[]);
    // the flag and what was typed
    assert!(
        !o.status.success() && text(&o).contains("EMAIL") && text(&o).contains("\"not an email\""),
        "{}",
        text(&o)
    );
    // the other commands say by name that there is no such ID
    for args in [
        vec!["id", "show", "ada@acme.example"],
        vec!["id", "unlock", "ada@acme.example"],
        vec!["id", "end-sessions", "ada@acme.example"],
    ] {
        let o = roster(dir.path(), &args, &[]);
        let out = text(&o);
        assert!(!o.status.success(), "{args:?}: {out}");
        assert!(
            out.contains("EMAIL") && out.contains("ada@acme.example"),
            "{args:?}: {out}"
        );
        assert!(!out.contains("panicked"), "{out}");
    }
    let o = roster(dir.path(), &["operator", "list"], &[]);
    assert!(o.status.success());
    // a seat request id that is not one
    let o = roster(dir.path(), &["seats", "answer", &app, "not-an-id"], &[]);
    let out = text(&o);
    assert!(!o.status.success() && out.contains("REQUEST"), "{out}");
    let o = roster(
        dir.path(),
        &[
            "seats",
            "answer",
            &app,
            "01900000-0000-7000-8000-000000000000",
            "--decline",
        ],
        &[],
    );
    let out = text(&o);
    assert!(
        !o.status.success() && out.contains("no seat request"),
        "{out}"
    );
}
