//! The operator console (J8), continued: second factors reset from an ID's page (audited, the
//! owner told), a login that skipped the second step refused, the queue of seat requests across
//! apps oldest first, and the CLI's actions shown to the app as "Roster support".

use super::operator::{login_with_second_step, make_operator, operator_browser, request_id};
use reqwest::StatusCode;
use roster_core::model::SeatEntryKind;
use roster_core::service::SeatAnswer;
use roster_testkit::pages::{browser, csrf, get, post};
use roster_testkit::{Backend, GOOD_PASSWORD, spawn_app, totp_code};
use serde_json::json;
use time::Duration;

#[tokio::test]
async fn the_console_resets_an_ids_second_factors_and_audits_it() {
    let t = spawn_app(Backend::Sqlite).await;
    let (a, admin) = t.app_with_admin("Acme", 3).await;
    let (_, una) = t.add_user(&a, &admin, "una@acme.test").await;
    // Una sets up an authenticator app, then loses her phone
    let r = t
        .post("/api/v1/me/two-step/totp", Some(&una), json!({}))
        .await;
    let una_secret = r.body["secret"].as_str().expect("secret").to_string();
    let code = totp_code(&una_secret, t.now().unix_timestamp());
    let r = t
        .post(
            "/api/v1/me/two-step/totp/confirm",
            Some(&una),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        t.login("una@acme.test", GOOD_PASSWORD).await.code(),
        "second_factor_required"
    );
    let (_, support) = t.app_with_admin("Support", 1).await;
    let (secret, support) = make_operator(&t, "admin@support.test", &support).await;
    let op = operator_browser(&t, "admin@support.test", &secret).await;
    let page = get(&op, &t, "/operator/ids?email=una%40acme.test").await;
    assert!(
        page.html.contains("Two-step verification: on"),
        "{}",
        page.html
    );
    t.deliver_mail().await;
    let r = post(
        &op,
        &t,
        "/operator/ids/action",
        &[
            ("csrf", &csrf(&page.html)),
            ("email", "una@acme.test"),
            ("action", "reset-two-step"),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/operator/ids?email=una%40acme.test")
    );
    // her second factors are gone: the password alone logs her in
    let page = get(&op, &t, "/operator/ids?email=una%40acme.test").await;
    assert!(
        page.html.contains("Two-step verification: off"),
        "{}",
        page.html
    );
    let v = t
        .services
        .operator_id(&t.ctx(), None, "una@acme.test")
        .await
        .expect("id");
    assert!(!v.two_step);
    assert_eq!(
        t.login("una@acme.test", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    // the owner is told, and the operator's own activity shows it as Roster support
    let mail = t.deliver_mail().await;
    assert!(
        mail.iter().any(|m| m.to == "una@acme.test"),
        "{:?}",
        mail.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
    );
    let log = t
        .get(
            "/api/v1/me/security-activity?action=twofactor.reset",
            Some(&support),
        )
        .await;
    let e = &log.body["items"][0];
    assert_eq!(
        (
            e["action"].as_str(),
            e["actor"].as_str(),
            e["target"].as_str()
        ),
        (
            Some("twofactor.reset"),
            Some("Roster support"),
            Some("una@acme.test")
        ),
        "{}",
        log.body
    );
}

#[tokio::test]
async fn an_operator_who_skipped_the_second_step_is_asked_to_use_it() {
    let t = spawn_app(Backend::Sqlite).await;
    let (_, support) = t.app_with_admin("Support", 1).await;
    let (secret, _) = make_operator(&t, "admin@support.test", &support).await;
    // logged in with the second step, trusting this browser: the console opens
    let b = browser();
    login_with_second_step(&b, &t, "admin@support.test", &secret, true).await;
    assert_eq!(get(&b, &t, "/operator").await.status, StatusCode::OK);
    // the next login in that browser skips the second step: the console stays shut
    let page = get(&b, &t, "/login?next=/operator").await;
    let r = post(
        &b,
        &t,
        "/login",
        &[
            ("csrf", &csrf(&page.html)),
            ("email", "admin@support.test"),
            ("password", GOOD_PASSWORD),
            ("next", "/operator"),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/operator"),
        "a trusted browser is not asked: {}",
        r.html
    );
    let shut = get(&b, &t, "/operator").await;
    assert_eq!(shut.status, StatusCode::FORBIDDEN);
    assert!(
        shut.html
            .contains("Use your second step to open the console")
            && shut.html.contains("Forget trusted browsers"),
        "{}",
        shut.html
    );
    // and so does every action
    let account = get(&b, &t, "/account").await;
    let r = post(
        &b,
        &t,
        "/operator/ids/action",
        &[
            ("csrf", &csrf(&account.html)),
            ("email", "admin@support.test"),
            ("action", "end-sessions"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_queue_lists_every_apps_requests_oldest_first() {
    let t = spawn_app(Backend::Sqlite).await;
    // Zed asks first, Acme a minute later: Zed's comes first although Acme sorts first
    let (z, zed) = t.app_with_admin("Zed", 1).await;
    let (a, acme) = t.app_with_admin("Acme", 1).await;
    for (app, admin, q) in [(&z, &zed, 4), (&a, &acme, 2)] {
        let r = t
            .post(
                &format!("/api/v1/apps/{app}/seat-requests"),
                Some(admin),
                json!({"quantity": q}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        t.clock.advance(Duration::minutes(1));
    }
    let (_, support) = t.app_with_admin("Support", 1).await;
    let (secret, _) = make_operator(&t, "admin@support.test", &support).await;
    let op = operator_browser(&t, "admin@support.test", &secret).await;
    let console = get(&op, &t, "/operator").await;
    // (the list of apps above is by name: Acme, Support, Zed)
    let queue = &console.html[console.html.find("id=\"seat-requests\"").expect("queue")..];
    let at = |what: &str| {
        queue
            .find(what)
            .unwrap_or_else(|| panic!("{what}: {queue}"))
    };
    assert!(
        at(&format!(
            "/operator/apps/{z}\">Zed</a></strong> (<code>{z}</code>) asked for 4 seats"
        )) < at(&format!(
            "/operator/apps/{a}\">Acme</a></strong> (<code>{a}</code>) asked for 2 seats"
        )),
        "oldest first: {queue}"
    );
    // the first form answers Zed's; once answered, Acme's is first
    let r = post(
        &op,
        &t,
        &format!("/operator/seat-requests/{}", request_id(&console)),
        &[
            ("csrf", &csrf(&console.html)),
            ("app_id", z.as_str()),
            ("decision", "decline"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let console = get(&op, &t, "/operator").await;
    assert!(
        !console.html.contains("asked for 4 seats") && console.html.contains("asked for 2 seats"),
        "{}",
        console.html
    );
}

#[tokio::test]
async fn the_clis_actions_show_in_the_apps_audit_log_as_roster_support() {
    let t = spawn_app(Backend::Sqlite).await;
    let (a, admin) = t.app_with_admin("Acme", 1).await;
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/seat-requests"),
            Some(&admin),
            json!({"quantity": 2}),
        )
        .await;
    let request: roster_core::types::SeatRequestId =
        r.body["id"].as_str().expect("id").parse().expect("id");
    // what `roster seats answer|grant` and `roster app suspend|resume` call
    let s = &t.services;
    s.answer_seat_request(
        &t.ctx(),
        None,
        &a,
        request,
        SeatAnswer::Grant {
            quantity: None,
            kind: SeatEntryKind::Complimentary,
        },
        Some("Welcome"),
    )
    .await
    .expect("answer");
    s.grant_seats(&t.ctx(), &a, 1, SeatEntryKind::Complimentary)
        .await
        .expect("grant");
    s.set_app_suspended(&t.ctx(), None, &a, true)
        .await
        .expect("suspend");
    s.set_app_suspended(&t.ctx(), None, &a, false)
        .await
        .expect("resume");
    let log = t
        .get(&format!("/api/v1/apps/{a}/audit?limit=10"), Some(&admin))
        .await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    let mut by_cli: Vec<(&str, &str)> = log.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| Some((e["action"].as_str()?, e["actor"].as_str()?)))
        .filter(|(action, _)| {
            [
                "seats.granted",
                "seats.request_granted",
                "app.suspended",
                "app.resumed",
            ]
            .contains(action)
        })
        .collect();
    by_cli.sort();
    assert_eq!(
        by_cli,
        [
            ("app.resumed", "Roster support"),
            ("app.suspended", "Roster support"),
            ("seats.granted", "Roster support"),
            ("seats.granted", "Roster support"),
            ("seats.request_granted", "Roster support"),
        ],
        "{}",
        log.body
    );
}
