//! Real SMTP over TCP: the outbox worker sends through Roster's SMTP transport (lettre) to an
//! SMTP server the test starts; what arrives is parsed back with a MIME parser and checked —
//! both parts, the same links in each, headers, links that work against the running server,
//! DKIM signatures checked by an independent verifier (dkimpy) — and the server's answers
//! (421/451 later delivered, 550 undeliverable) reach the invitation.

use reqwest::StatusCode;
use roster_core::model::OutboxMessage;
use roster_mail::transport::DkimSettings;
use roster_mail::{OutboxWorker, RetryPolicy, SmtpConfig, SmtpMailer};
use roster_testkit::smtp::{Refusal, SmtpSink, Stage};
use roster_testkit::{Backend, GOOD_PASSWORD, TestApp, spawn_app, test_renderer};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::Duration;

async fn smtp_worker(t: &TestApp, sink: &SmtpSink, dkim: Option<DkimSettings>) -> OutboxWorker {
    let mailer = SmtpMailer::new(&SmtpConfig {
        url: sink.url(),
        dkim,
        timeout: StdDuration::from_secs(10),
        pool_size: 4,
    })
    .expect("smtp mailer");
    let mut r = test_renderer(&t.addr);
    r.reply_to = Some("Acme Support <help@roster.test>".into());
    r.message_domain = "mail.roster.test".into();
    OutboxWorker::new(t.store.clone(), Arc::new(mailer), r, RetryPolicy::default())
}

/// Queue one of every message (the samples `roster mail preview` uses).
async fn queue_samples(t: &TestApp) -> usize {
    let samples = roster_mail::samples::all();
    let mut tx = t.store.begin().await.expect("begin");
    for (_, m) in &samples {
        let mut m: OutboxMessage = m.clone();
        m.id = roster_core::types::MessageId::new();
        m.created_at = t.now();
        m.next_attempt_at = t.now();
        tx.enqueue(&m).await.expect("enqueue");
    }
    tx.commit().await.expect("commit");
    samples.len()
}

/// A top-level header's value, unfolded.
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next()?;
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = value.as_mut() {
            if line.starts_with(' ') || line.starts_with('\t') {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
        }
    }
    value
}

#[tokio::test]
async fn every_message_arrives_over_smtp_with_both_parts_saying_the_same_and_the_right_headers() {
    let t = spawn_app(Backend::Sqlite).await;
    let sink = SmtpSink::start().await;
    let worker = smtp_worker(&t, &sink, None).await;
    let n = queue_samples(&t).await;
    let report = worker.drain(t.now()).await.expect("drain");
    assert_eq!(report.sent, n, "{report:?}");
    assert!(sink.wait_for(n, StdDuration::from_secs(10)).await);
    let templates: std::collections::BTreeSet<_> = roster_mail::samples::all()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(templates.len() >= 10, "{templates:?}");
    for got in sink.messages() {
        let raw = String::from_utf8_lossy(&got.data).to_string();
        let m = roster_mail::mailbox::decode(&got.data).expect("parses as MIME");
        // both parts, the same links in each, absolute on the base URL
        assert!(
            !m.text.trim().is_empty() && !m.html.trim().is_empty(),
            "{raw}"
        );
        assert!(raw.contains("multipart/alternative"));
        for link in &m.links {
            assert!(link.starts_with(&t.addr), "{link} in {}", m.subject);
            assert!(
                m.html.contains(&format!("href=\"{link}\"")),
                "{link} not in the HTML of {}",
                m.subject
            );
        }
        assert!(m.html.contains("<title>"), "{}", m.subject);
        // headers deliverability needs
        let id = header(&raw, "Message-ID").expect("Message-ID");
        assert!(id.ends_with("@mail.roster.test>"), "{id}");
        assert!(!id.contains("localhost"));
        assert!(header(&raw, "Date").is_some());
        assert_eq!(
            header(&raw, "From").as_deref(),
            Some("Roster <no-reply@roster.test>")
        );
        let reply_to = header(&raw, "Reply-To").unwrap_or_default();
        assert!(
            reply_to.contains("Acme Support") && reply_to.ends_with("<help@roster.test>"),
            "{reply_to}"
        );
        assert_eq!(
            header(&raw, "Auto-Submitted").as_deref(),
            Some("auto-generated")
        );
        assert!(raw.is_ascii(), "8-bit data is encoded");
        // notifications (and only they) can be unsubscribed from in one click
        let unsub = header(&raw, "List-Unsubscribe");
        let is_notification = m
            .text
            .contains("You get this email because you are an administrator");
        assert_eq!(unsub.is_some(), is_notification, "{}", m.subject);
        if let Some(u) = unsub {
            assert!(u.starts_with(&format!("<{}/unsubscribe/", t.addr)), "{u}");
            assert_eq!(
                header(&raw, "List-Unsubscribe-Post").as_deref(),
                Some("List-Unsubscribe=One-Click")
            );
        }
    }
}

#[tokio::test]
async fn the_links_of_real_messages_work_against_the_running_server() {
    let t = spawn_app(Backend::Sqlite).await;
    let (a, ada) = t.app_with_admin("Acme", 5).await;
    let sink = SmtpSink::start().await;
    let worker = smtp_worker(&t, &sink, None).await;
    // a second admin, so that there are notifications; then invitations, a reset, a receipt
    let r = t.invite(&a, &ada, "bob@example.com", "user", true).await;
    let url = r.body["accept_url"].as_str().expect("url").to_string();
    let bob_token = url.rsplit('/').next().expect("token").to_string();
    assert_eq!(
        t.accept_new(&bob_token, "Bob", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
    // (Bob's invitation is used up: delivered here, not over SMTP)
    t.deliver_mail().await;
    t.invite(&a, &ada, "rohit@example.com", "user", false).await;
    t.invite(&a, &ada, "pat@example.com", "partner", false)
        .await;
    t.post(
        "/api/v1/password/forgot",
        None,
        serde_json::json!({"email": "admin@acme.test"}),
    )
    .await;
    t.post(
        &format!("/api/v1/apps/{a}/seats"),
        Some(&ada),
        serde_json::json!({"quantity": 1}),
    )
    .await;
    let report = worker.drain(t.now()).await.expect("drain");
    assert_eq!(report.sent, 5, "{report:?}");
    assert_eq!(report.failed + report.retrying, 0);
    let anon = roster_testkit::pages::browser();
    let mut followed = 0;
    for got in sink.messages() {
        let m = roster_mail::mailbox::decode(&got.data).expect("MIME");
        for link in &m.links {
            let r = anon.get(link).send().await.expect("get");
            // a working page, or the login page in front of an admin page
            assert!(
                r.status() == StatusCode::OK || r.status() == StatusCode::SEE_OTHER,
                "{link} in {:?} answered {}",
                m.subject,
                r.status()
            );
            followed += 1;
        }
    }
    assert!(followed >= 8, "{followed}");
    // the invitation link from the SMTP message accepts
    let mail = sink
        .messages()
        .into_iter()
        .filter_map(|g| roster_mail::mailbox::decode(&g.data))
        .find(|m| m.to.contains("rohit@example.com"))
        .expect("rohit's invitation");
    let link = mail
        .links
        .iter()
        .find(|l| l.contains("/invite/"))
        .expect("link");
    let token = link.rsplit('/').next().expect("token");
    assert_eq!(
        t.accept_new(token, "Rohit", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_busy_server_is_retried_and_a_refusal_is_shown_on_the_invitation() {
    let t = spawn_app(Backend::Sqlite).await;
    let (a, ada) = t.app_with_admin("Acme", 5).await;
    let sink = SmtpSink::start().await;
    let worker = smtp_worker(&t, &sink, None).await;
    // 421 then 451: the message waits and is delivered later
    sink.update(|b| {
        b.refusals.push(Refusal::next(
            1,
            Stage::Rcpt,
            "421 4.3.0 closing, try later",
        ));
        b.refusals
            .push(Refusal::next(1, Stage::Data, "451 4.3.0 busy"));
    });
    let r = t.invite(&a, &ada, "later@example.com", "user", false).await;
    let later = r.body["id"].as_str().expect("id").to_string();
    let rep = worker.drain(t.now()).await.expect("drain");
    assert_eq!((rep.sent, rep.retrying), (0, 1), "{rep:?}");
    let list = t
        .get(&format!("/api/v1/apps/{a}/invitations"), Some(&ada))
        .await;
    assert_eq!(list.body["items"][0]["delivery"]["state"], "retrying");
    assert!(
        list.body["items"][0]["delivery"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("421"),
        "{}",
        list.body
    );
    t.clock.advance(Duration::seconds(40));
    let rep = worker.drain(t.now()).await.expect("drain");
    assert_eq!((rep.sent, rep.retrying), (0, 1), "{rep:?}");
    t.clock.advance(Duration::seconds(80));
    let rep = worker.drain(t.now()).await.expect("drain");
    assert_eq!(rep.sent, 1, "{rep:?}");
    assert_eq!(sink.count(), 1);
    let item = t.invitation_in_list(&a, &ada, &later).await;
    assert_eq!(item["delivery"]["state"], "delivered", "{item}");

    // 550: undeliverable at once with the server's reply, never retried
    sink.update(|b| {
        b.refusals.push(Refusal::recipient(
            "nobody@example.com",
            Stage::Rcpt,
            "550 5.1.1 <nobody@example.com>: no such user",
        ))
    });
    t.invite(&a, &ada, "nobody@example.com", "user", false)
        .await;
    let rep = worker.drain(t.now()).await.expect("drain");
    assert_eq!(rep.failed, 1, "{rep:?}");
    t.clock.advance(Duration::hours(2));
    assert_eq!(worker.drain(t.now()).await.expect("drain").failed, 0);
    let list = t
        .get(&format!("/api/v1/apps/{a}/invitations"), Some(&ada))
        .await;
    let item = &list.body["items"][0];
    assert_eq!(item["email"], "nobody@example.com");
    assert_eq!(item["delivery"]["state"], "undeliverable");
    assert!(
        item["delivery"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("no such user")
    );
    let b = roster_testkit::pages::logged_in_browser(&t, "admin@acme.test").await;
    let page = roster_testkit::pages::get(&b, &t, &format!("/app/{a}/admin/users")).await;
    assert!(page.html.contains("Email undeliverable"), "{}", page.html);
    assert!(page.html.contains("no such user"));
}

/// An RSA (PKCS#1 PEM) or Ed25519 key made by openssl, and its DKIM DNS record.
fn dkim_key(ed25519: bool, dir: &std::path::Path) -> (String, String) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let run = |args: &[&str]| -> Vec<u8> {
        let o = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let key = dir.join(if ed25519 { "ed.der" } else { "rsa.pem" });
    let k = key.to_string_lossy().to_string();
    if ed25519 {
        run(&[
            "genpkey",
            "-algorithm",
            "ed25519",
            "-outform",
            "DER",
            "-out",
            &k,
        ]);
        let der = std::fs::read(&key).expect("key");
        let secret = &der[der.len() - 32..];
        let public = run(&[
            "pkey", "-in", &k, "-inform", "DER", "-pubout", "-outform", "DER",
        ]);
        let public = &public[public.len() - 32..];
        (
            b64.encode(secret),
            format!("v=DKIM1; k=ed25519; p={}", b64.encode(public)),
        )
    } else {
        run(&["genrsa", "-traditional", "-out", &k, "2048"]);
        let pem = std::fs::read_to_string(&key).expect("key");
        let public = run(&["rsa", "-in", &k, "-pubout", "-outform", "DER"]);
        (pem, format!("v=DKIM1; k=rsa; p={}", b64.encode(public)))
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_dkim),
    ignore = "needs dkimpy: pip install dkimpy pynacl and set ROSTER_TEST_DKIM=1"
)]
async fn dkim_signatures_verify_with_an_independent_verifier() {
    let dir = tempfile::tempdir().expect("dir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/dkim_verify.py");
    for ed25519 in [false, true] {
        let t = spawn_app(Backend::Sqlite).await;
        let sink = SmtpSink::start().await;
        let (key, record) = dkim_key(ed25519, dir.path());
        let worker = smtp_worker(
            &t,
            &sink,
            Some(DkimSettings {
                selector: "roster".into(),
                domain: "roster.test".into(),
                private_key: key,
                ed25519,
            }),
        )
        .await;
        let n = queue_samples(&t).await;
        assert_eq!(worker.drain(t.now()).await.expect("drain").sent, n);
        for (i, got) in sink.messages().iter().enumerate() {
            let raw = String::from_utf8_lossy(&got.data).to_string();
            assert!(raw.contains("DKIM-Signature:"), "{raw}");
            let file = dir.path().join(format!("m{ed25519}{i}.eml"));
            std::fs::write(&file, &got.data).expect("write");
            let o = std::process::Command::new("python3")
                .arg(script)
                .arg(&file)
                .arg(&record)
                .output()
                .expect("python3");
            if !o.status.success() {
                let _ = std::fs::copy(&file, std::env::temp_dir().join("dkim-failed.eml"));
                let _ = std::fs::write(std::env::temp_dir().join("dkim-record.txt"), &record);
            }
            assert!(
                o.status.success(),
                "ed25519={ed25519}: {}{}\n{raw}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            // a changed byte of the body fails verification
            if i == 0 {
                let tampered = raw.replacen("Hello", "Jello", 1);
                std::fs::write(&file, tampered).expect("write");
                let o = std::process::Command::new("python3")
                    .arg(script)
                    .arg(&file)
                    .arg(&record)
                    .output()
                    .expect("python3");
                assert!(!o.status.success(), "tampering must break the signature");
            }
        }
    }
}

#[tokio::test]
async fn starttls_required_is_never_downgraded_to_plain_text() {
    // the sink offers no STARTTLS: a transport that requires it must refuse to send in clear
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(&SmtpConfig {
        url: format!("smtp://127.0.0.1:{}?tls=required", sink.port()),
        dkim: None,
        timeout: StdDuration::from_secs(5),
        pool_size: 1,
    })
    .expect("mailer");
    let t = spawn_app(Backend::Sqlite).await;
    let (_, m) = roster_mail::samples::all().remove(0);
    let email = test_renderer(&t.addr).render(&m).expect("render");
    use roster_core::mailer::Mailer;
    let err = mailer
        .send(&email)
        .await
        .expect_err("must not send in clear");
    assert!(!err.permanent, "a relay without TLS may be fixed: retried");
    assert_eq!(sink.count(), 0, "nothing was sent in clear text");
}
