//! The operator console (J8) over HTTP: only operators with two-step verification get in;
//! seat requests are granted or declined (the admin is emailed, the Users page shows the
//! outcome, the app's audit log says "Roster support"); an ID is unlocked; an app is suspended
//! (pages, API sessions and API keys refused) and resumed.

use reqwest::StatusCode;
use roster_testkit::pages::{Got, browser, csrf, get, post};
use roster_testkit::{GOOD_PASSWORD, TestApp, totp_code};
use serde_json::json;
use time::Duration;

/// Make the ID with `email` (logged in as `session`) an operator with an authenticator app;
/// returns the app's secret and the session token that confirming it gave.
pub(super) async fn make_operator(t: &TestApp, email: &str, session: &str) -> (String, String) {
    t.services
        .add_operator(&t.ctx(), email)
        .await
        .expect("operator");
    let r = t
        .post("/api/v1/me/two-step/totp", Some(session), json!({}))
        .await;
    let secret = r.body["secret"].as_str().expect("secret").to_string();
    let code = totp_code(&secret, t.now().unix_timestamp());
    let r = t
        .post(
            "/api/v1/me/two-step/totp/confirm",
            Some(session),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let token = r.body["token"].as_str().expect("token").to_string();
    (secret, token)
}

/// A browser logged in as `email` (password, then the authenticator code of `secret`).
pub(super) async fn operator_browser(t: &TestApp, email: &str, secret: &str) -> reqwest::Client {
    let b = browser();
    login_with_second_step(&b, t, email, secret, false).await;
    b
}

/// Log `b` in as `email` with the authenticator code of `secret`, trusting the browser when
/// `trust` (its next logins skip the second step).
pub(super) async fn login_with_second_step(
    b: &reqwest::Client,
    t: &TestApp,
    email: &str,
    secret: &str,
    trust: bool,
) {
    let page = get(b, t, "/login?next=/operator").await;
    let r = post(
        b,
        t,
        "/login",
        &[
            ("csrf", &csrf(&page.html)),
            ("email", email),
            ("password", GOOD_PASSWORD),
            ("next", "/operator"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "second step: {}", r.html);
    let challenge = field(&r, "challenge");
    t.clock.advance(Duration::seconds(31));
    let code = totp_code(secret, t.now().unix_timestamp());
    let c = csrf(&r.html);
    let mut form = vec![
        ("csrf", c.as_str()),
        ("challenge", challenge.as_str()),
        ("next", "/operator"),
        ("method", "totp"),
        ("code", code.as_str()),
    ];
    if trust {
        form.push(("trust_browser", "yes"));
    }
    let r = post(b, t, "/login/second-factor", &form).await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/operator")
    );
}

pub(super) fn field(page: &Got, name: &str) -> String {
    let m = format!("name=\"{name}\" value=\"");
    let i = page
        .html
        .find(&m)
        .unwrap_or_else(|| panic!("{name}: {}", page.html))
        + m.len();
    let end = page.html[i..].find('"').expect("end") + i;
    page.html[i..end].to_string()
}

/// The seat ledger of an app's console page: (change, who, why) per row, oldest first.
pub(super) fn ledger_rows(page: &Got) -> Vec<(String, String, String)> {
    let start = page.html.find("id=\"ledger\"").expect("the ledger");
    let end = page.html[start..].find("</table>").expect("its end") + start;
    let cell = |row: &str, label: &str| {
        let m = format!("<td data-label=\"{label}\">");
        let i = row.find(&m).unwrap_or_else(|| panic!("{label}: {row}")) + m.len();
        let j = row[i..].find("</td>").expect("cell end") + i;
        row[i..j].to_string()
    };
    page.html[start..end]
        .split("<tr>")
        .filter(|row| row.contains("data-label=\"Who\""))
        .map(|row| (cell(row, "Seats"), cell(row, "Who"), cell(row, "Why")))
        .collect()
}

/// The id of the app's pending seat request as the console lists it.
pub(super) fn request_id(page: &Got) -> String {
    let marker = "action=\"/operator/seat-requests/";
    let i = page.html.find(marker).expect("a request") + marker.len();
    let end = page.html[i..].find('"').expect("end") + i;
    page.html[i..end].to_string()
}

#[tokio::test]
async fn the_operator_console_answers_seat_requests_unlocks_and_suspends() {
    let t = roster_testkit::spawn_app(roster_testkit::Backend::Sqlite).await;
    let (a, admin) = t.app_with_admin("Acme", 1).await;
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/seat-requests"),
            Some(&admin),
            json!({"quantity": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // the operator: an ID of its own, named by the CLI's service
    let (_, support) = t.app_with_admin("Support", 1).await;
    t.services
        .add_operator(&t.ctx(), "admin@support.test")
        .await
        .expect("operator");
    // without two-step verification the console stays shut
    let b = roster_testkit::pages::logged_in_browser(&t, "admin@support.test").await;
    let shut = get(&b, &t, "/operator").await;
    assert_eq!(shut.status, StatusCode::FORBIDDEN);
    assert!(
        shut.html.contains("Set up two-step verification first"),
        "{}",
        shut.html
    );
    // a non-operator gets 404
    let other = roster_testkit::pages::logged_in_browser(&t, "admin@acme.test").await;
    assert_eq!(
        get(&other, &t, "/operator").await.status,
        StatusCode::NOT_FOUND
    );
    let r = t
        .post("/api/v1/me/two-step/totp", Some(&support), json!({}))
        .await;
    let secret = r.body["secret"].as_str().expect("secret").to_string();
    let code = totp_code(&secret, t.now().unix_timestamp());
    let r = t
        .post(
            "/api/v1/me/two-step/totp/confirm",
            Some(&support),
            json!({"code": code}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let op = operator_browser(&t, "admin@support.test", &secret).await;

    // the queue shows Acme's request; search by name, App ID and a member's email
    let console = get(&op, &t, "/operator").await;
    assert_eq!(console.status, StatusCode::OK);
    assert!(
        console.html.contains("asked for 2 seats"),
        "{}",
        console.html
    );
    // control characters are dropped (a NUL made PostgreSQL refuse the query: 500)
    for q in ["acme", a.as_str(), "admin%40acme.test", "ac%00me"] {
        let found = get(&op, &t, &format!("/operator?q={q}")).await;
        assert!(found.html.contains(&format!("/operator/apps/{a}")), "{q}");
    }
    let page = get(&op, &t, &format!("/operator/apps/{a}")).await;
    assert!(page.html.contains("admin@acme.test") && page.html.contains("1</strong> of <strong>1"));

    // grant 3 with a note: the admin is emailed, the Users page and the audit log show it
    t.deliver_mail().await;
    let id = request_id(&console);
    let c = csrf(&console.html);
    let done = post(
        &op,
        &t,
        &format!("/operator/seat-requests/{id}"),
        &[
            ("csrf", &c),
            ("app_id", a.as_str()),
            ("decision", "grant"),
            ("quantity", "3"),
            ("note", "Welcome aboard"),
        ],
    )
    .await;
    assert_eq!(
        (done.status, done.location.as_str()),
        (StatusCode::SEE_OTHER, "/operator")
    );
    let mail = t.deliver_mail().await;
    let m = mail
        .iter()
        .find(|m| m.to == "admin@acme.test")
        .expect("mail to the admin");
    assert!(m.subject.contains("granted"), "{}", m.subject);
    assert!(
        m.text.contains("added 3 seats") && m.text.contains("Welcome aboard"),
        "{}",
        m.text
    );
    let users = get(&other, &t, &format!("/app/{a}/admin/users")).await;
    assert!(users.html.contains("granted: 3 seats"), "{}", users.html);
    assert_eq!(t.seats(&a, &admin).await["total"], 4);
    let audit = t
        .get(&format!("/api/v1/apps/{a}/audit"), Some(&admin))
        .await;
    let first = &audit.body["items"][0];
    assert_eq!(
        (first["action"].as_str(), first["actor"].as_str()),
        (Some("seats.request_granted"), Some("Roster support")),
        "{first}"
    );
    // answering twice is refused
    let again = post(
        &op,
        &t,
        &format!("/operator/seat-requests/{id}"),
        &[("csrf", &c), ("app_id", a.as_str()), ("decision", "grant")],
    )
    .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);

    // a declined request: the admin hears why
    t.post(
        &format!("/api/v1/apps/{a}/seat-requests"),
        Some(&admin),
        json!({"quantity": 5}),
    )
    .await;
    let console = get(&op, &t, "/operator").await;
    let id = request_id(&console);
    let r = post(
        &op,
        &t,
        &format!("/operator/seat-requests/{id}"),
        &[
            ("csrf", &c),
            ("app_id", a.as_str()),
            ("decision", "decline"),
            ("note", "Buy them on the Users page"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mail = t.deliver_mail().await;
    assert!(
        mail.iter()
            .any(|m| m.text.contains("could not add the 5 seats")
                && m.text.contains("Buy them on the Users page"))
    );

    // grant seats directly, saying why
    let r = post(
        &op,
        &t,
        &format!("/operator/apps/{a}/seats"),
        &[
            ("csrf", &c),
            ("quantity", "2"),
            ("note", "Partner discount"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(t.seats(&a, &admin).await["total"], 6);
    // the seat ledger says when, who and why
    let page = get(&op, &t, &format!("/operator/apps/{a}")).await;
    let ledger = ledger_rows(&page);
    assert_eq!(
        ledger,
        [
            ("+1", "Roster support", "seats the app was created with"),
            (
                "+3",
                "Roster support (admin@support.test)",
                "complimentary, in answer to a request for 2 seats: “Welcome aboard”"
            ),
            (
                "+2",
                "Roster support (admin@support.test)",
                "complimentary: “Partner discount”"
            ),
        ]
        .map(|(q, who, why)| (q.to_string(), who.to_string(), why.to_string())),
        "{}",
        page.html
    );

    // a locked ID is unlocked
    for _ in 0..5 {
        t.login("admin@acme.test", "Wrong-pass-1").await;
    }
    assert_eq!(
        t.login("admin@acme.test", GOOD_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let idp = get(&op, &t, "/operator/ids?email=admin%40acme.test").await;
    assert!(idp.html.contains("Locked"), "{}", idp.html);
    let r = post(
        &op,
        &t,
        "/operator/ids/action",
        &[
            ("csrf", &c),
            ("email", "admin@acme.test"),
            ("action", "unlock"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.login("admin@acme.test", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    // end its sessions
    let r = post(
        &op,
        &t,
        "/operator/ids/action",
        &[
            ("csrf", &c),
            ("email", "admin@acme.test"),
            ("action", "end-sessions"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.get("/api/v1/me", Some(&admin)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // suspend: pages, sessions and API keys are refused; resume brings them back
    let admin = t.login_token("admin@acme.test", GOOD_PASSWORD).await;
    let key = t
        .post(
            &format!("/api/v1/apps/{a}/api-keys"),
            Some(&admin),
            json!({"name": "sync", "kind": "service"}),
        )
        .await
        .body["secret"]
        .as_str()
        .expect("key")
        .to_string();
    let r = post(
        &op,
        &t,
        &format!("/operator/apps/{a}/suspension"),
        &[("csrf", &c), ("suspend", "yes")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let members = format!("/api/v1/apps/{a}/members");
    let r = t.get(&members, Some(&admin)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "app_suspended")
    );
    assert_eq!(t.get(&members, Some(&key)).await.code(), "app_suspended");
    let other = roster_testkit::pages::logged_in_browser(&t, "admin@acme.test").await;
    let home = get(&other, &t, &format!("/app/{a}")).await;
    assert_eq!(home.status, StatusCode::FORBIDDEN);
    assert!(home.html.contains("This app is suspended"), "{}", home.html);
    let page = get(&op, &t, &format!("/operator/apps/{a}")).await;
    assert!(page.html.contains("Suspended since"));
    let r = post(
        &op,
        &t,
        &format!("/operator/apps/{a}/suspension"),
        &[("csrf", &c), ("suspend", "no")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(t.get(&members, Some(&key)).await.status, StatusCode::OK);

    // create an app from the console
    let r = post(
        &op,
        &t,
        "/operator/apps",
        &[
            ("csrf", &c),
            ("name", "Newco"),
            ("seats", "3"),
            ("admin_email", "boss@newco.test"),
            ("admin_first_name", "Bo"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location.starts_with("/operator/apps/"), "{}", r.location);
    assert!(
        t.deliver_mail()
            .await
            .iter()
            .any(|m| m.to == "boss@newco.test")
    );
}

#[tokio::test]
async fn an_operator_invitation_creates_an_id_or_is_accepted_by_an_existing_one() {
    use roster_core::service::OperatorInvited;
    let t = roster_testkit::spawn_app(roster_testkit::Backend::Sqlite).await;
    let (a, admin) = t.app_with_admin("Acme", 3).await;
    // nobody has this email: an invitation to create an ID is emailed
    let OperatorInvited::Invited { token, .. } = t
        .services
        .invite_operator(&t.ctx(), "sam@roster.test")
        .await
        .expect("invite")
    else {
        panic!("no ID has this email")
    };
    let mail = t.deliver_mail().await;
    let m = mail
        .iter()
        .find(|m| m.to == "sam@roster.test")
        .expect("mail");
    assert!(
        m.text.contains(&format!("/operator/join/{token}")),
        "{}",
        m.text
    );
    let b = browser();
    let page = get(&b, &t, &format!("/operator/join/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("Create your Roster ID to accept"),
        "{}",
        page.html
    );
    let c = csrf(&page.html);
    let bad = post(
        &b,
        &t,
        &format!("/operator/join/{token}/create"),
        &[
            ("csrf", &c),
            ("first_name", "Sam"),
            ("password", "short"),
            ("security_question", "first_car"),
            ("security_answer", "Volvo"),
            ("accept_terms", "yes"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("value=\"Sam\""), "{}", bad.html);
    let done = post(
        &b,
        &t,
        &format!("/operator/join/{token}/create"),
        &[
            ("csrf", &c),
            ("first_name", "Sam"),
            ("password", GOOD_PASSWORD),
            ("security_question", "first_car"),
            ("security_answer", "Volvo"),
            ("accept_terms", "yes"),
        ],
    )
    .await;
    assert_eq!(
        (done.status, done.location.as_str()),
        (StatusCode::SEE_OTHER, "/account/two-step")
    );
    // an operator now, who must set up two-step verification first
    let shut = get(&b, &t, "/operator").await;
    assert_eq!(shut.status, StatusCode::FORBIDDEN);
    assert!(shut.html.contains("Set up two-step verification first"));
    // the link works once
    let again = get(&browser(), &t, &format!("/operator/join/{token}")).await;
    assert_eq!(again.status, StatusCode::GONE);

    // invited before their ID existed: they log in and accept
    let OperatorInvited::Invited { token, .. } = t
        .services
        .invite_operator(&t.ctx(), "pat@example.com")
        .await
        .expect("invite")
    else {
        panic!("no ID yet")
    };
    t.add_user(&a, &admin, "pat@example.com").await;
    let anon = browser();
    let page = get(&anon, &t, &format!("/operator/join/{token}")).await;
    assert!(page.html.contains("Log in to accept"), "{}", page.html);
    // another ID cannot take it
    let other = roster_testkit::pages::logged_in_browser(&t, "admin@acme.test").await;
    let page = get(&other, &t, &format!("/operator/join/{token}")).await;
    assert!(
        page.html.contains("You are logged in as admin@acme.test"),
        "{}",
        page.html
    );
    let r = post(
        &other,
        &t,
        &format!("/operator/join/{token}"),
        &[("csrf", &csrf(&get(&other, &t, "/account").await.html))],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let pat = roster_testkit::pages::logged_in_browser(&t, "pat@example.com").await;
    let page = get(&pat, &t, &format!("/operator/join/{token}")).await;
    let r = post(
        &pat,
        &t,
        &format!("/operator/join/{token}"),
        &[("csrf", &csrf(&page.html))],
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/operator")
    );
    assert_eq!(
        get(&pat, &t, "/operator").await.status,
        StatusCode::FORBIDDEN
    );
    // a second invitation voids the first link
    let first = match t
        .services
        .invite_operator(&t.ctx(), "late@example.com")
        .await
    {
        Ok(OperatorInvited::Invited { token, .. }) => token,
        other => panic!("{other:?}"),
    };
    t.services
        .invite_operator(&t.ctx(), "late@example.com")
        .await
        .expect("again");
    let gone = get(&browser(), &t, &format!("/operator/join/{first}")).await;
    assert_eq!(gone.status, StatusCode::GONE);
}

#[tokio::test]
async fn operators_register_sign_in_clients_in_the_console() {
    let t = roster_testkit::spawn_app(roster_testkit::Backend::Sqlite).await;
    let (_, support) = t.app_with_admin("Support", 1).await;
    let (secret, _) = make_operator(&t, "admin@support.test", &support).await;
    let op = operator_browser(&t, "admin@support.test", &secret).await;
    let page = get(&op, &t, "/operator/clients").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("No client yet"));
    let c = csrf(&page.html);
    // an unusable redirect URI is refused, the form kept
    let bad = post(
        &op,
        &t,
        "/operator/clients",
        &[
            ("csrf", &c),
            ("name", "CRM"),
            ("redirect_uris", "http://crm.example.com/cb"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("not a usable redirect URI") && bad.html.contains("value=\"CRM\""));
    // a confidential first-party client: its secret is shown once
    let done = post(
        &op,
        &t,
        "/operator/clients",
        &[
            ("csrf", &c),
            ("name", "CRM"),
            (
                "redirect_uris",
                "https://crm.example.com/cb\nhttps://crm.example.com/cb2",
            ),
            ("back_channel_logout_uri", "https://crm.example.com/bcl"),
            ("first_party", "yes"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.html.contains("id=\"client-secret\""), "{}", done.html);
    let i = done.html.find("id=\"client-id\">").expect("id") + 15;
    let id = &done.html[i..i + 25];
    let client = t
        .services
        .oidc_client(id)
        .await
        .expect("read")
        .expect("registered");
    assert!(client.first_party && !client.is_public());
    assert_eq!(client.redirect_uris.len(), 2);
    assert_eq!(
        client.back_channel_logout_uri.as_deref(),
        Some("https://crm.example.com/bcl")
    );
    // a public EdDSA plugin: no secret
    let done = post(
        &op,
        &t,
        "/operator/clients",
        &[
            ("csrf", &c),
            ("name", "Plugin"),
            ("redirect_uris", "https://p.example.com/cb"),
            ("public", "yes"),
            ("eddsa", "yes"),
        ],
    )
    .await;
    assert!(
        done.html.contains("A public client: no secret") && !done.html.contains("client-secret")
    );
    let list = get(&op, &t, "/operator/clients").await;
    assert!(
        list.html.contains("CRM")
            && list.html.contains("public")
            && list.html.contains("first-party")
    );
    assert!(
        !list.html.contains("client-secret"),
        "the secret is not shown again"
    );
    // not for anyone else
    let stranger = roster_testkit::pages::browser();
    assert_eq!(
        get(&stranger, &t, "/operator/clients").await.status,
        StatusCode::SEE_OTHER
    );
}
