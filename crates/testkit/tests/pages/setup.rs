//! The initial setup steps (J4) in the pages: each step, skipping them, the logo upload.

use super::*;

async fn upload(
    c: &reqwest::Client,
    t: &TestApp,
    path: &str,
    csrf: &str,
    name: &str,
    bytes: &[u8],
) -> Got {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("action", "save")
        .part(
            "logo",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    let r = c
        .post(format!("{}{path}", t.addr))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    got(r).await
}

#[tokio::test]
async fn initial_setup_three_steps_then_account_information_email() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, token) = t.create_app("Acme", 2, "lee@acme.test", "Lee").await;
    t.deliver_mail().await;
    let (b, done) = accept_in_browser(&t, &token, "Lee").await;
    assert_eq!(done.location, format!("/app/{app}/setup/1"));
    let s1 = get(&b, &t, &done.location).await;
    assert!(s1.html.contains("Step 1 of 3") && s1.html.contains("Hi Lee! Welcome to Roster."));
    assert!(s1.html.contains("<option value=\"Europe/Berlin\""));
    let c = csrf(&s1.html);
    // bad phone and unknown zone: errors next to the fields, values kept
    let bad = post(
        &b,
        &t,
        &format!("/app/{app}/setup/1"),
        &[
            ("csrf", &c),
            ("action", "save"),
            ("first_name", "Lee"),
            ("last_name", "Sherron"),
            ("phone", "call me"),
            ("time_zone", "Mars/Olympus"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.html.contains("Use digits") && bad.html.contains("Choose a time zone from the list")
    );
    assert!(bad.html.contains("value=\"call me\""));
    let ok = post(
        &b,
        &t,
        &format!("/app/{app}/setup/1"),
        &[
            ("csrf", &c),
            ("action", "save"),
            ("first_name", "Lee"),
            ("last_name", "Sherron"),
            ("phone", "+1 555 0100"),
            ("time_zone", "America/New_York"),
        ],
    )
    .await;
    assert_eq!(ok.location, format!("/app/{app}/setup/2"));

    // signature with a preview that cannot run scripts
    let s2 = get(&b, &t, &ok.location).await;
    let prev = post(
        &b,
        &t,
        &format!("/app/{app}/setup/2"),
        &[
            ("csrf", &c),
            ("action", "preview"),
            ("signature_html", "<b>Lee</b><script>alert(1)</script>"),
            ("signature_text", "Lee"),
        ],
    )
    .await;
    assert!(
        prev.html
            .contains("<iframe title=\"Signature preview\" sandbox srcdoc=\"&#60;b&#62;Lee")
            || prev.html.contains("sandbox srcdoc=\"&lt;b&gt;Lee"),
        "{}",
        prev.html
    );
    let _ = s2;
    let saved = post(
        &b,
        &t,
        &format!("/app/{app}/setup/2"),
        &[
            ("csrf", &c),
            ("action", "save"),
            ("signature_html", "<b>Lee</b>"),
            ("signature_text", "Lee"),
        ],
    )
    .await;
    assert_eq!(saved.location, format!("/app/{app}/setup/3"));

    // step 3: an SVG (or a PNG in name only) is refused, a real PNG is kept and shown back
    let svg = upload(
        &b,
        &t,
        &format!("/app/{app}/setup/3"),
        &c,
        "logo.png",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    )
    .await;
    assert_eq!(svg.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(svg.html.contains("PNG, JPEG or WebP"));
    let big = upload(
        &b,
        &t,
        &format!("/app/{app}/setup/3"),
        &c,
        "big.png",
        &vec![0u8; 2 * 1024 * 1024 + 10],
    )
    .await;
    assert_eq!(big.status, StatusCode::UNPROCESSABLE_ENTITY);
    let png = upload(
        &b,
        &t,
        &format!("/app/{app}/setup/3"),
        &c,
        "me.png",
        PNG_1X1,
    )
    .await;
    assert_eq!(png.location, format!("/app/{app}"), "{}", png.html);
    let img = b
        .get(format!("{}/app/{app}/profile/logo", t.addr))
        .send()
        .await
        .expect("logo");
    assert_eq!(img.headers()["content-type"], "image/png");
    assert_eq!(img.bytes().await.expect("bytes").as_ref(), PNG_1X1);

    // the Account Information email
    let mails = t.deliver_mail().await;
    let info = mails
        .iter()
        .find(|m| m.subject.contains("account information"))
        .expect("account info");
    assert!(info.text.contains("lee@acme.test") && info.text.contains(app.as_str()));
    assert!(info.text.contains(&format!("/app/{app}")));

    // the profile page changes it later
    let prof = get(&b, &t, &format!("/app/{app}/profile")).await;
    assert!(prof.html.contains("+1 555 0100") && prof.html.contains("America/New_York"));
    assert!(!prof.html.contains("not finished"));
}

#[tokio::test]
async fn every_setup_step_can_be_skipped_and_finished_later() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, token) = t.create_app("Acme", 2, "sam@acme.test", "Sam").await;
    let (b, _) = accept_in_browser(&t, &token, "Sam").await;
    let s1 = get(&b, &t, &format!("/app/{app}/setup/1")).await;
    let c = csrf(&s1.html);
    let r = post(
        &b,
        &t,
        &format!("/app/{app}/setup/1"),
        &[("csrf", &c), ("action", "skip")],
    )
    .await;
    assert_eq!(r.location, format!("/app/{app}/setup/2"));
    let r = post(
        &b,
        &t,
        &format!("/app/{app}/setup/2"),
        &[("csrf", &c), ("action", "skip")],
    )
    .await;
    assert_eq!(r.location, format!("/app/{app}/setup/3"));
    let form = reqwest::multipart::Form::new()
        .text("csrf", c.clone())
        .text("action", "skip");
    let r = got(b
        .post(format!("{}/app/{app}/setup/3", t.addr))
        .multipart(form)
        .send()
        .await
        .expect("skip"))
    .await;
    assert_eq!(r.location, format!("/app/{app}"));
    let prof = get(&b, &t, &format!("/app/{app}/profile")).await;
    assert!(prof.html.contains("Change profile"));
}
