//! No password, token, code, answer or secret ever enters a log line or the audit trail: whole
//! J7 journeys run with every log line of every level captured, then the captured lines and
//! every audit row are searched for each secret the test used. Lines are captured twice, as
//! text and as `log_format = "json"` writes them; each JSON line must be one object, and each
//! request's line must carry its request id, route, status and duration. (Its own test binary:
//! the capturing subscriber is process-wide.)

use reqwest::StatusCode;
use roster_core::model::AuditFilter;
use roster_testkit::{Backend, GOOD_PASSWORD, link_token, reset_code, spawn_app, token_from};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_a_log_line_or_the_audit_trail() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let captured = Captured::default();
    let json_captured = Captured::default();
    let (writer, json_writer) = (captured.clone(), json_captured.clone());
    tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::TRACE)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone()),
        )
        .with(roster::logging::json_layer(move || json_writer.clone()))
        .init();

    let t = spawn_app(Backend::Sqlite).await;
    let answer = "Marmaduke-Answer";
    let wrong = "Wrong-Secret-Guess-1";
    let second = "Second-Secret-Pass-2";
    let third = "Third-Secret-Pass-3";
    let mut secrets: Vec<String> = vec![
        GOOD_PASSWORD.into(),
        answer.into(),
        answer.to_lowercase(),
        wrong.into(),
        second.into(),
        third.into(),
    ];

    // J1: an app, its admin accepts with a new ID
    let (app, invitation) = t.create_app("Acme", 3, "ada@acme.test", "Ada").await;
    secrets.push(invitation.clone());
    let r = t
        .post(
            &format!("/api/v1/invitations/{invitation}/accept"),
            None,
            json!({"first_name": "Ada", "password": GOOD_PASSWORD, "security_question": "first_pet_name",
                   "security_answer": answer, "accept_terms": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let session = r.body["token"].as_str().expect("token").to_string();
    secrets.push(session.clone());
    // an invitation for someone else
    t.invite(&app, &session, "una@example.com", "user", false)
        .await;
    let mails = t.deliver_mail().await;
    if let Some(m) = mails.iter().find(|m| m.to.contains("una@example.com")) {
        secrets.push(token_from(m));
    }
    // a password typed into the email field
    t.login(GOOD_PASSWORD, wrong).await;
    // failed and successful logins, a lock
    for _ in 0..6 {
        t.login("ada@acme.test", wrong).await;
    }
    let lock_mail = t.deliver_mail().await.pop().expect("lock email");
    secrets.push(link_token(&lock_mail, "/reset-password/"));
    secrets.push(reset_code(&lock_mail));
    // forgot password, reset with the code
    t.post(
        "/api/v1/password/forgot",
        None,
        json!({"email": "ada@acme.test"}),
    )
    .await;
    let mail = t.deliver_mail().await.pop().expect("reset email");
    let (token, code) = (link_token(&mail, "/reset-password/"), reset_code(&mail));
    secrets.push(token.clone());
    secrets.push(code.clone());
    let r = t
        .post(
            "/api/v1/password/reset",
            None,
            json!({"email": "ada@acme.test", "code": code, "password": second, "security_answer": answer}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // change password, change login email
    let s = t.login_token("ada@acme.test", second).await;
    secrets.push(s.clone());
    let r = t
        .post(
            "/api/v1/me/password",
            Some(&s),
            json!({"current_password": second, "new_password": third}),
        )
        .await;
    let s = r.body["token"].as_str().expect("renewed").to_string();
    secrets.push(s.clone());
    t.post(
        "/api/v1/me/email",
        Some(&s),
        json!({"email": "ada@new.test", "current_password": third}),
    )
    .await;
    let mails = t.deliver_mail().await;
    let link = mails
        .iter()
        .find(|m| m.to.contains("ada@new.test"))
        .expect("link");
    let change = link_token(link, "/confirm-email/");
    secrets.push(change.clone());
    let r = t
        .post("/api/v1/email/confirm", None, json!({"token": change}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // the pages too: forgot password through the form, a login page post with a wrong password
    let b = roster_testkit::pages::browser();
    let page = roster_testkit::pages::get(&b, &t, "/login").await;
    let c = roster_testkit::pages::csrf(&page.html);
    roster_testkit::pages::post(
        &b,
        &t,
        "/login",
        &[("csrf", &c), ("email", "ada@new.test"), ("password", wrong)],
    )
    .await;
    roster_testkit::pages::get(&b, &t, &format!("/reset-password/{token}")).await;

    // everything captured, and every audit row
    let logs = String::from_utf8_lossy(&captured.0.lock().expect("logs")).to_string();
    assert!(logs.contains("roster::http"), "the access log was captured");
    let json_logs = String::from_utf8_lossy(&json_captured.0.lock().expect("logs")).to_string();
    let (mut requests, mut with_actor, mut with_app) = (0, 0, 0);
    for line in json_logs.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
        assert!(
            v.is_object() && v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        if v["target"] == "roster::http" {
            requests += 1;
            assert!(
                v["request_id"].as_str().is_some_and(|s| s.len() >= 16)
                    && v["route"]
                        .as_str()
                        .is_some_and(|r| r.starts_with('/') || r == "(unmatched)")
                    && v["status"].is_u64()
                    && v["duration_ms"].is_number(),
                "{line}"
            );
            with_actor += usize::from(v["actor_id"].is_string());
            with_app += usize::from(v["app_id"] == app.as_str());
        }
    }
    assert!(requests >= 15, "{requests} request lines");
    assert!(
        with_actor > 0 && with_app > 0,
        "{with_actor} with an actor, {with_app} with the app"
    );
    let mut r = t.store.read().await.expect("read");
    let mut audit = String::new();
    for e in r
        .list_audit(&app, &AuditFilter::default(), 500)
        .await
        .expect("audit")
    {
        audit.push_str(&format!("{e:?}\n"));
    }
    let id = r
        .find_identity_by_email("ada@new.test")
        .await
        .expect("f")
        .expect("id");
    let mine = AuditFilter {
        actor: Some(id.id),
        ..Default::default()
    };
    for e in r.list_identity_audit(&mine, 500).await.expect("mine") {
        audit.push_str(&format!("{e:?}\n"));
    }
    for e in r
        .list_identity_audit(
            &AuditFilter {
                actor_text: Some("@".into()),
                ..Default::default()
            },
            500,
        )
        .await
        .expect("all")
    {
        audit.push_str(&format!("{e:?}\n"));
    }
    assert!(audit.contains("password.reset") && audit.contains("login.failed"));
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()) && !json_logs.contains(s.as_str()),
            "a secret ({} chars) is in the logs",
            s.len()
        );
        assert!(
            !audit.contains(s.as_str()),
            "a secret ({} chars) is in the audit trail",
            s.len()
        );
    }
}
