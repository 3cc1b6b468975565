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

/// What the web side leaves in the test's database: an ID `email` (locked when `locked`, with
/// `sessions` sessions) and, when `ask` is given, its pending request for that many seats of
/// `app`. Returns the request id.
fn seed_id(
    dir: &std::path::Path,
    email: &str,
    locked: bool,
    sessions: usize,
    ask: Option<(&str, i64)>,
) -> Option<String> {
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
        let mut lockout = Lockout::default();
        if locked {
            lockout.failed_count = 5;
            lockout.level = 1;
            lockout.locked_until = Some(now + time::Duration::hours(1));
        }
        let identity = Identity {
            id: IdentityId::new(),
            email: Email::parse(email).expect("email"),
            first_name: "Ada".into(),
            last_name: None,
            password_hash: "$argon2id$not-used".into(),
            security_question: None,
            security_answer_hash: None,
            terms_version: None,
            terms_accepted_at: None,
            created_at: now,
            lockout,
        };
        let mut tx = store.begin().await.expect("begin");
        tx.insert_identity(&identity).await.expect("identity");
        for n in 0..sessions {
            tx.insert_session(&Session {
                id: SessionId::new(),
                token_hash: vec![n as u8; 32],
                identity_id: identity.id,
                app_id: None,
                created_at: now,
                last_seen_at: now,
                expires_at: now + time::Duration::days(1),
                client_addr: None,
                user_agent: None,
                amr: vec!["pwd".into()],
            })
            .await
            .expect("session");
        }
        let request = ask.map(|(app, quantity)| SeatRequest {
            id: SeatRequestId::new(),
            app_id: AppId::parse(app).expect("app id"),
            requested_by: identity.id,
            quantity,
            status: SeatRequestStatus::Pending,
            created_at: now,
            decided_at: None,
            granted_quantity: None,
        });
        if let Some(r) = &request {
            tx.insert_seat_request(r).await.expect("request");
        }
        tx.commit().await.expect("commit");
        request.map(|r| r.id.to_string())
    })
}

/// One value of the test's database.
fn db<T: rusqlite::types::FromSql>(dir: &std::path::Path, sql: &str) -> T {
    rusqlite::Connection::open(dir.join("data/roster.db"))
        .expect("open")
        .query_row(sql, [], |r| r.get(0))
        .expect(sql)
}

/// The mail to `to` whose subject contains `subject`, decoded by `roster mail show`.
fn mail_to(dir: &std::path::Path, to: &str, subject: &str) -> String {
    let list = text(&roster(dir, &["mail", "list"], &[]));
    let line = list
        .lines()
        .find(|l| l.contains(&format!("To: {to}")) && l.contains(subject))
        .unwrap_or_else(|| panic!("no mail to {to} about {subject:?}: {list}"));
    let id = line.split_whitespace().next().expect("id");
    text(&roster(dir, &["mail", "show", id], &[]))
}

#[test]
fn id_commands_show_unlock_and_end_sessions_of_a_real_id() {
    let dir = tempfile::tempdir().expect("dir");
    create_app(dir.path());
    seed_id(dir.path(), "lee@example.com", true, 2, None);
    let o = roster(dir.path(), &["id", "show", "Lee@Example.com"], &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("lee@example.com Ada") && out.contains("locked: yes"),
        "{out}"
    );
    assert!(out.contains("two-step verification: off"), "{out}");

    let o = roster(dir.path(), &["id", "unlock", "lee@example.com"], &[]);
    assert!(
        o.status.success() && text(&o).contains("lee@example.com unlocked"),
        "{}",
        text(&o)
    );
    let out = text(&roster(dir.path(), &["id", "show", "lee@example.com"], &[]));
    assert!(out.contains("locked: no"), "{out}");
    let locked_until: Option<i64> = db(
        dir.path(),
        "SELECT locked_until FROM identities WHERE email = 'lee@example.com'",
    );
    assert_eq!(locked_until, None);

    let o = roster(dir.path(), &["id", "end-sessions", "lee@example.com"], &[]);
    assert!(
        o.status.success() && text(&o).contains("2 sessions of lee@example.com ended"),
        "{}",
        text(&o)
    );
    let left: i64 = db(dir.path(), "SELECT COUNT(*) FROM sessions");
    assert_eq!(left, 0);
    // audited as Roster support, as the console's actions are (the CLI has no ID)
    for action in ["id.unlocked", "id.sessions_ended"] {
        let (label, actor): (String, Option<Vec<u8>>) =
            rusqlite::Connection::open(dir.path().join("data/roster.db"))
                .expect("open")
                .query_row(
                    "SELECT actor_label, actor_id FROM audit_log WHERE action = ?1",
                    [action],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect(action);
        assert_eq!(
            (label.as_str(), actor),
            ("Roster support", None),
            "{action}"
        );
    }
}

#[test]
fn seats_answer_grants_and_declines_the_admin_is_emailed_and_the_request_shows_it() {
    let dir = tempfile::tempdir().expect("dir");
    let app = create_app(dir.path());
    let grant = seed_id(dir.path(), "gus@example.com", false, 0, Some((&app, 2))).expect("id");
    let decline = seed_id(dir.path(), "dee@example.com", false, 0, Some((&app, 5))).expect("id");

    let o = roster(
        dir.path(),
        &[
            "seats",
            "answer",
            &app,
            &grant,
            "--quantity",
            "3",
            "--note",
            "Welcome aboard",
        ],
        &[],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("granted 3 seats to Acme") && out.contains("it has 5 now"),
        "{out}"
    );
    let mail = mail_to(dir.path(), "gus@example.com", "was granted");
    assert!(
        mail.contains("added 3 seats") && mail.contains("Their note: Welcome aboard"),
        "{mail}"
    );

    let o = roster(
        dir.path(),
        &[
            "seats",
            "answer",
            &app,
            &decline,
            "--decline",
            "--note",
            "Buy them on the Users page",
        ],
        &[],
    );
    let out = text(&o);
    assert!(
        o.status.success() && out.contains("declined the request of Acme"),
        "{out}"
    );
    let mail = mail_to(dir.path(), "dee@example.com", "About your seat request");
    assert!(
        mail.contains("could not add the 5 seats") && mail.contains("Buy them on the Users page"),
        "{mail}"
    );

    // each request shows its outcome
    let out = text(&roster(dir.path(), &["seats", "requests", &app], &[]));
    let line = |id: &str| {
        out.lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{id}: {out}"))
            .to_string()
    };
    assert!(line(&grant).contains("granted 3 on"), "{out}");
    assert!(line(&decline).contains("declined on"), "{out}");

    // the ledger says who and why; the audit log says Roster support
    let show = text(&roster(dir.path(), &["app", "show", &app], &[]));
    assert!(
        show.contains("+2  by Roster support: seats the app was created with"),
        "{show}"
    );
    assert!(
        show.contains(
            "+3  by Roster support: complimentary, in answer to a request for 2 seats: \
             “Welcome aboard”"
        ),
        "{show}"
    );
    let labels: String = db(
        dir.path(),
        "SELECT group_concat(DISTINCT actor_label) FROM audit_log \
         WHERE action IN ('seats.request_granted', 'seats.request_declined', 'seats.granted')",
    );
    assert_eq!(labels, "Roster support");
}

#[test]
fn operator_remove_takes_the_console_away_and_says_when_there_was_nothing_to_remove() {
    let dir = tempfile::tempdir().expect("dir");
    create_app(dir.path());
    seed_id(dir.path(), "sam@example.com", false, 0, None);
    let o = roster(dir.path(), &["operator", "add", "sam@example.com"], &[]);
    assert!(
        o.status.success() && text(&o).contains("sam@example.com is an operator"),
        "{}",
        text(&o)
    );
    let list = text(&roster(dir.path(), &["operator", "list"], &[]));
    assert!(list.contains("sam@example.com  since"), "{list}");

    let o = roster(dir.path(), &["operator", "remove", "sam@example.com"], &[]);
    assert!(
        o.status.success() && text(&o).contains("sam@example.com is no longer an operator"),
        "{}",
        text(&o)
    );
    let list = text(&roster(dir.path(), &["operator", "list"], &[]));
    assert!(!list.contains("sam@example.com"), "{list}");
    let operators: i64 = db(dir.path(), "SELECT COUNT(*) FROM operators");
    assert_eq!(operators, 0);
    let label: String = db(
        dir.path(),
        "SELECT actor_label FROM audit_log WHERE action = 'operator.removed'",
    );
    assert_eq!(label, "Roster support");

    // removing again, or an email without an ID, is a clear error
    for email in ["sam@example.com", "nobody@example.com"] {
        let o = roster(dir.path(), &["operator", "remove", email], &[]);
        let out = text(&o);
        assert!(!o.status.success() && out.contains("EMAIL"), "{out}");
        assert!(out.contains(email) && !out.contains("panicked"), "{out}");
    }
}
