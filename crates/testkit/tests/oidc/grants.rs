//! What a grant is bound to, and how it ends: revocation (RFC 7009) of refresh and access
//! tokens, the authorization request's `prompt`, `max_age` and `login_hint`, public clients and
//! PKCE, codes bound to client, redirect URI, verifier and time, `client_secret_post`, and
//! back-channel logouts retried until delivered.

use super::{REDIRECT, client, oauth_post, oidc_audit, rp};
use reqwest::StatusCode;
use roster_core::service::NewClient;
use roster_testkit::TestApp;
use roster_testkit::pages::{browser, get};
use serde_json::{Value, json};
use time::Duration;

/// POST a form to an OAuth endpoint without an Authorization header (client_secret_post, or
/// a public client naming itself).
async fn form_post(t: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = t
        .client
        .post(format!("{}{path}", t.addr))
        .form(form)
        .send()
        .await
        .expect("post");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A code for `email` from the RP's authorization request (through the login page when the
/// browser has no session), and the request (its PKCE verifier and nonce).
async fn code_for(
    t: &TestApp,
    c: &rp::Client,
    b: &reqwest::Client,
    email: &str,
    scopes: &[&str],
) -> (String, rp::Started) {
    let s = rp::start(c, scopes, &[]);
    let page = rp::through_login(b, t, &s.url, email, None).await;
    (rp::code_from(t, &page, &s, REDIRECT), s)
}

/// A code and its verifier, for exchanging by hand.
async fn code_and_verifier(
    t: &TestApp,
    c: &rp::Client,
    b: &reqwest::Client,
    email: &str,
) -> (String, String) {
    let (code, s) = code_for(t, c, b, email, &[]).await;
    (code, s.verifier.secret().clone())
}

/// How many `action` events the audit log holds.
async fn audited(t: &TestApp, action: &str) -> usize {
    oidc_audit(t)
        .await
        .iter()
        .filter(|e| e.action == action)
        .count()
}

pub(super) async fn revoking_a_refresh_or_access_token_ends_the_sign_in(t: TestApp) {
    let (a, _) = t.app_with_admin("Rev", 3).await;
    let (id, cs) = client(&t, "CRM", true, None).await;
    let cs = cs.expect("secret");
    let (other, other_cs) = client(&t, "Other", true, None).await;
    let other_cs = other_cs.expect("secret");
    let c = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    let b = browser();
    let members = format!("/api/v1/apps/{a}/members");
    let introspect = |token: String| {
        let (t, id, cs) = (&t, &id, &cs);
        async move { oauth_post(t, "/oauth2/introspect", id, cs, &[("token", &token)]).await }
    };
    let refresh_error = |rt: String| {
        let (t, id, cs) = (&t, &id, &cs);
        async move {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
            ];
            let (st, v) = oauth_post(t, "/oauth2/token", id, cs, &form).await;
            (st, v["error"].clone())
        }
    };
    let inactive = (StatusCode::OK, json!({"active": false}));
    let invalid_grant = (StatusCode::BAD_REQUEST, json!("invalid_grant"));

    // a refresh token
    let (code, s) = code_for(
        &t,
        &c,
        &b,
        "admin@rev.test",
        &["offline_access", "members:read"],
    )
    .await;
    let tok = rp::exchange(&c, &code, s).await;
    let rt = tok.refresh.clone().expect("refresh token");
    assert_eq!(
        t.get(&members, Some(&tok.access)).await.status,
        StatusCode::OK
    );
    // another client cannot revoke it (RFC 7009 §2.1): answered 200, nothing changes
    let (st, _) = oauth_post(&t, "/oauth2/revoke", &other, &other_cs, &[("token", &rt)]).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(introspect(rt.clone()).await.1["active"], true);
    assert_eq!(audited(&t, "oidc.token_revoked").await, 0);
    // its own client revokes it
    let (st, body) = oauth_post(&t, "/oauth2/revoke", &id, &cs, &[("token", &rt)]).await;
    assert_eq!((st, body), (StatusCode::OK, json!({})));
    assert_eq!(refresh_error(rt.clone()).await, invalid_grant);
    assert_eq!(introspect(rt.clone()).await, inactive);
    // the whole sign-in ends: its access token too, on introspection and on Roster's API
    assert_eq!(introspect(tok.access.clone()).await, inactive);
    assert_eq!(
        t.get(&members, Some(&tok.access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let events = oidc_audit(&t).await;
    let revoked: Vec<_> = events
        .iter()
        .filter(|e| e.action == "oidc.token_revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "{events:?}");
    assert_eq!(revoked[0].app_id.as_ref(), Some(&a));
    assert_eq!(revoked[0].actor_label, "CRM");
    assert_eq!(revoked[0].target.as_deref(), Some(id.as_str()));
    assert_eq!(revoked[0].details["grant"], tok.claims["sid"]);

    // an access token
    let (code, s) = code_for(
        &t,
        &c,
        &b,
        "admin@rev.test",
        &["offline_access", "members:read"],
    )
    .await;
    let tok = rp::exchange(&c, &code, s).await;
    let rt = tok.refresh.clone().expect("refresh token");
    assert_eq!(
        t.get(&members, Some(&tok.access)).await.status,
        StatusCode::OK
    );
    let (st, _) = oauth_post(
        &t,
        "/oauth2/revoke",
        &id,
        &cs,
        &[("token", &tok.access), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(introspect(tok.access.clone()).await, inactive);
    assert_eq!(
        t.get(&members, Some(&tok.access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/oauth2/userinfo", Some(&tok.access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // ...and with it the sign-in's refresh token
    assert_eq!(refresh_error(rt.clone()).await, invalid_grant);
    assert_eq!(introspect(rt).await, inactive);
    assert_eq!(audited(&t, "oidc.token_revoked").await, 2);
    // revoking it again is fine, and not audited again
    let (st, _) = oauth_post(&t, "/oauth2/revoke", &id, &cs, &[("token", &tok.access)]).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(audited(&t, "oidc.token_revoked").await, 2);
}

/// "3 Mar 2026, 14:05 UTC", as the account page writes times for a viewer without a zone.
fn as_shown(at: time::OffsetDateTime) -> String {
    let month = format!("{:?}", at.month());
    format!(
        "{} {} {}, {:02}:{:02} UTC",
        at.day(),
        &month[..3],
        at.year(),
        at.hour(),
        at.minute()
    )
}

pub(super) async fn prompt_login_and_max_age_ask_for_a_fresh_login(t: TestApp) {
    t.app_with_admin("Fresh", 2).await;
    let (id, cs) = client(&t, "CRM", true, None).await;
    let c = rp::discover(&t, &id, cs.as_deref(), REDIRECT).await;
    let b = browser();
    let email = "admin@fresh.test";
    let login_at = t.now().unix_timestamp();
    let (code, s) = code_for(&t, &c, &b, email, &[]).await;
    let tok = rp::exchange(&c, &code, s).await;
    assert_eq!(tok.claims["auth_time"], login_at);
    t.clock.advance(Duration::minutes(10));
    // with the session, a max_age it meets: straight back, the login as it was
    let s = rp::start(&c, &[], &[("max_age", "3600")]);
    let page = get(&b, &t, &rp::local(&t, &s.url)).await;
    let code = rp::code_from(&t, &page, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    assert_eq!(tok.claims["auth_time"], login_at);
    // a max_age the session is older than: the login page
    let s = rp::start(&c, &[], &[("max_age", "300")]);
    let first = get(&b, &t, &rp::local(&t, &s.url)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.html);
    assert!(
        first.location.starts_with("/login?next="),
        "{}",
        first.location
    );
    let login = get(&b, &t, &first.location).await;
    assert!(
        login.html.contains("action=\"/login\"") && login.html.contains("name=\"password\""),
        "{}",
        login.html
    );
    // logging in again gives a code, with the new login's time
    let page = rp::through_login(&b, &t, &s.url, email, None).await;
    let code = rp::code_from(&t, &page, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    let relogin_at = login_at + 600;
    assert_eq!(tok.claims["auth_time"], relogin_at);
    // prompt=login: the login page although the session is a minute old
    t.clock.advance(Duration::minutes(1));
    let s = rp::start(&c, &[], &[("prompt", "login")]);
    let first = get(&b, &t, &rp::local(&t, &s.url)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.html);
    assert!(
        first.location.starts_with("/login?next="),
        "{}",
        first.location
    );
    let page = rp::through_login(&b, &t, &s.url, email, None).await;
    let code = rp::code_from(&t, &page, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    assert_eq!(tok.claims["auth_time"], relogin_at + 60);
    // without prompt=login the fresh session is used as it is
    let s = rp::start(&c, &[], &[]);
    let page = get(&b, &t, &rp::local(&t, &s.url)).await;
    rp::code_from(&t, &page, &s, REDIRECT);
}

/// What the third-party client of the consent test asks for.
const SCOPES: [&str; 2] = ["email", "offline_access"];

pub(super) async fn prompt_consent_asks_again_and_an_app_id_login_hint_picks_the_app(t: TestApp) {
    let (a, admin_a) = t.app_with_admin("Alpha", 3).await;
    let (b_app, _) = t.app_with_admin("Beta", 3).await;
    t.join_with_password(&a, &admin_a, "admin@beta.test", "user")
        .await;
    let (id, cs) = client(&t, "Plugin Co", false, None).await;
    let c = rp::discover(&t, &id, cs.as_deref(), REDIRECT).await;
    let br = browser();
    let email = "admin@beta.test";
    // without a hint, both apps are offered
    let s = rp::start(&c, &SCOPES, &[]);
    let page = rp::through_login(&br, &t, &s.url, email, None).await;
    assert!(page.html.contains("Sign in to Plugin Co"), "{}", page.html);
    // a login_hint that is one of the ID's App IDs picks that app: no picker, its consent
    let hint = [("login_hint", b_app.as_str())];
    let s = rp::start(&c, &SCOPES, &hint);
    let page = get(&br, &t, &rp::local(&t, &s.url)).await;
    assert!(
        page.html.contains("Allow Plugin Co into Beta?")
            && !page.html.contains("Sign in to Plugin Co"),
        "{}",
        page.html
    );
    assert!(page.html.contains(b_app.as_str()));
    let allowed_at = t.now();
    let done = rp::submit(
        &br,
        &t,
        &page,
        "/oauth2/authorize",
        &[("decision", "allow")],
    )
    .await;
    let code = rp::code_from(&t, &done, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    assert_eq!(tok.claims["app_id"], b_app.to_string());
    // remembered: the same request goes straight back
    t.clock.advance(Duration::hours(3));
    let s = rp::start(&c, &SCOPES, &hint);
    let page = get(&br, &t, &rp::local(&t, &s.url)).await;
    let code = rp::code_from(&t, &page, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    // "Connected applications" says when the client last used its access: when it was let in
    let row = |html: String| {
        html.split("<tr>")
            .find(|r| r.contains("Plugin Co"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{html}"))
    };
    let let_in_at = t.now();
    let shown = row(get(&br, &t, "/account").await.html);
    assert!(shown.contains(&as_shown(let_in_at)), "{shown}");
    assert!(!shown.contains(&as_shown(allowed_at)), "{shown}");
    // ...or, later, when it refreshed its tokens
    t.clock.advance(Duration::days(2));
    rp::refresh(&c, tok.refresh.as_deref().expect("rt"))
        .await
        .expect("refresh");
    // (the browser's session ended meanwhile)
    roster_testkit::pages::log_in(&t, &br, email).await;
    let shown = row(get(&br, &t, "/account").await.html);
    assert!(shown.contains(&as_shown(t.now())), "{shown}");
    assert!(!shown.contains(&as_shown(let_in_at)), "{shown}");
    // prompt=consent asks again although it was allowed
    let s = rp::start(
        &c,
        &SCOPES,
        &[("login_hint", b_app.as_str()), ("prompt", "consent")],
    );
    let page = get(&br, &t, &rp::local(&t, &s.url)).await;
    assert!(
        page.html.contains("Allow Plugin Co into Beta?"),
        "{}",
        page.html
    );
    let done = rp::submit(
        &br,
        &t,
        &page,
        "/oauth2/authorize",
        &[("decision", "allow")],
    )
    .await;
    let code = rp::code_from(&t, &done, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    assert_eq!(tok.claims["app_id"], b_app.to_string());
    // a hint naming an app the ID is not in picks nothing: the picker
    let (gamma, _) = t.app_with_admin("Gamma", 2).await;
    let s = rp::start(&c, &SCOPES, &[("login_hint", gamma.as_str())]);
    let page = get(&br, &t, &rp::local(&t, &s.url)).await;
    assert!(page.html.contains("Sign in to Plugin Co"), "{}", page.html);
    let offered = |app: &str| {
        page.html
            .contains(&format!("name=\"chosen_app\" value=\"{app}\""))
    };
    assert!(offered(a.as_str()) && offered(b_app.as_str()) && !offered(gamma.as_str()));
}

pub(super) async fn public_clients_get_tokens_only_with_pkce(t: TestApp) {
    let (a, _) = t.app_with_admin("Pub", 2).await;
    let r = t
        .services
        .create_oidc_client(
            &t.ctx(),
            NewClient {
                name: "Phone App".into(),
                redirect_uris: vec![REDIRECT.into()],
                public: true,
                first_party: true,
                ..NewClient::default()
            },
        )
        .await
        .expect("client");
    assert!(r.secret.is_none());
    let id = r.client.client_id;
    // the RP as a public client: no secret, its client_id in the form
    let c = rp::discover(&t, &id, None, REDIRECT).await;
    let b = browser();
    let (code, s) = code_for(&t, &c, &b, "admin@pub.test", &["offline_access"]).await;
    let tok = rp::exchange(&c, &code, s).await;
    assert_eq!(tok.claims["app_id"], a.to_string());
    let next = rp::refresh(&c, tok.refresh.as_deref().expect("rt"))
        .await
        .expect("a public client refreshes");
    assert!(next.refresh.is_some());
    // a code whose verifier is not sent is refused at the token endpoint
    let (code, _) = code_and_verifier(&t, &c, &b, "admin@pub.test").await;
    let (st, body) = form_post(
        &t,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &id),
        ],
    )
    .await;
    assert_eq!(
        (st, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant")),
        "{body}"
    );
    // a public client has no secret to send
    let (code, v) = code_and_verifier(&t, &c, &b, "admin@pub.test").await;
    let (st, body) = form_post(
        &t,
        "/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &v),
            ("client_id", &id),
            ("client_secret", "guessed"),
        ],
    )
    .await;
    assert_eq!(
        (st, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_client"))
    );
    // an authorization request without PKCE is refused before anyone is asked: the client
    // hears why at its redirect URI, with no code
    let p = get(
        &b,
        &t,
        &format!(
            "/oauth2/authorize?client_id={id}&redirect_uri={REDIRECT}&response_type=code&scope=openid&state=s1&nonce=n1"
        ),
    )
    .await;
    let to = rp::continue_target(&p);
    assert_eq!(rp::param(&to, "error").as_deref(), Some("invalid_request"));
    assert_eq!(
        rp::param(&to, "error_description").as_deref(),
        Some("Public clients must use PKCE (S256).")
    );
    assert_eq!(rp::param(&to, "state").as_deref(), Some("s1"));
    assert!(rp::param(&to, "code").is_none());
    // and it may not introspect
    let (st, _) = form_post(
        &t,
        "/oauth2/introspect",
        &[("token", &next.access), ("client_id", &id)],
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

const REDIRECT_2: &str = "http://127.0.0.1:9/other-callback";

pub(super) async fn codes_are_bound_to_client_redirect_uri_verifier_and_a_minute(t: TestApp) {
    t.app_with_admin("Bind", 2).await;
    let r = t
        .services
        .create_oidc_client(
            &t.ctx(),
            NewClient {
                name: "CRM".into(),
                redirect_uris: vec![REDIRECT.into(), REDIRECT_2.into()],
                first_party: true,
                ..NewClient::default()
            },
        )
        .await
        .expect("client");
    let (id, cs) = (r.client.client_id, r.secret.expect("secret"));
    let (other, other_cs) = client(&t, "Other", true, None).await;
    let other_cs = other_cs.expect("secret");
    let c = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    let b = browser();
    let email = "admin@bind.test";
    let exchange = |who: &'static str, code: String, redirect: &'static str, verifier: String| {
        let (t, id, cs, other, other_cs) = (&t, &id, &cs, &other, &other_cs);
        async move {
            let (i, s) = if who == "own" {
                (id, cs)
            } else {
                (other, other_cs)
            };
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect),
                ("code_verifier", verifier.as_str()),
            ];
            let (st, v) = oauth_post(t, "/oauth2/token", i, s, &form).await;
            (st, v)
        }
    };
    let refused = |r: (StatusCode, Value)| {
        assert_eq!(
            (r.0, r.1["error"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_grant")),
            "{}",
            r.1
        );
    };
    let issued = |r: (StatusCode, Value)| {
        assert_eq!(r.0, StatusCode::OK, "{}", r.1);
        assert!(r.1["id_token"].is_string() && r.1["access_token"].is_string());
    };

    // another registered redirect URI than the one the code was sent to: refused, and the
    // code is used up
    let (code, v) = code_and_verifier(&t, &c, &b, email).await;
    refused(exchange("own", code.clone(), REDIRECT_2, v.clone()).await);
    refused(exchange("own", code, REDIRECT, v).await);
    // the wrong verifier: refused, used up
    let (code, v) = code_and_verifier(&t, &c, &b, email).await;
    let wrong = "x".repeat(43);
    refused(exchange("own", code.clone(), REDIRECT, wrong).await);
    refused(exchange("own", code, REDIRECT, v).await);
    // another client's code: refused, and not used up (its own client still redeems it)
    let (code, v) = code_and_verifier(&t, &c, &b, email).await;
    refused(exchange("other", code.clone(), REDIRECT, v.clone()).await);
    issued(exchange("own", code, REDIRECT, v).await);
    // a code lives a minute
    let (code, v) = code_and_verifier(&t, &c, &b, email).await;
    t.clock.advance(Duration::seconds(59));
    issued(exchange("own", code, REDIRECT, v).await);
    let (code, v) = code_and_verifier(&t, &c, &b, email).await;
    t.clock.advance(Duration::seconds(61));
    refused(exchange("own", code, REDIRECT, v).await);
}

pub(super) async fn client_secret_post_authenticates_a_client(t: TestApp) {
    t.app_with_admin("Post", 2).await;
    let (id, cs) = client(&t, "CRM", true, None).await;
    let cs = cs.expect("secret");
    // the RP sends its secret in the form, not in an Authorization header
    let c = rp::discover(&t, &id, Some(&cs), REDIRECT)
        .await
        .set_auth_type(openidconnect::AuthType::RequestBody);
    let b = browser();
    let (code, s) = code_for(&t, &c, &b, "admin@post.test", &["offline_access"]).await;
    let tok = rp::exchange(&c, &code, s).await;
    let rt = tok.refresh.clone().expect("rt");
    let (st, body) = form_post(
        &t,
        "/oauth2/introspect",
        &[
            ("token", &tok.access),
            ("client_id", &id),
            ("client_secret", &cs),
        ],
    )
    .await;
    assert_eq!((st, body["active"].clone()), (StatusCode::OK, json!(true)));
    // a wrong secret by post
    let (st, body) = form_post(
        &t,
        "/oauth2/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", &id),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (st, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_client"))
    );
    // the refresh token was not touched by that: the right secret by post refreshes
    let next = rp::refresh(&c, &rt).await.expect("refresh by post");
    assert!(next.refresh.is_some());
    // two methods at once are refused
    let (st, body) = oauth_post(
        &t,
        "/oauth2/token",
        &id,
        &cs,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", next.refresh.as_deref().expect("rt")),
            ("client_secret", &cs),
        ],
    )
    .await;
    assert_eq!(
        (st, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_request"))
    );
}

pub(super) async fn a_back_channel_logout_is_retried_until_delivered(t: TestApp) {
    let (a, admin) = t.app_with_admin("Retry", 3).await;
    let (member, _) = t.add_user(&a, &admin, "pat@retry.test").await;
    let sink = roster_testkit::webhook_sink::WebhookSink::start().await;
    let (id, cs) = client(&t, "CRM", true, Some(&sink.url)).await;
    let c = rp::discover(&t, &id, cs.as_deref(), REDIRECT).await;
    let (code, s) = code_for(&t, &c, &browser(), "pat@retry.test", &[]).await;
    let tok = rp::exchange(&c, &code, s).await;
    // the application's receiver fails twice, then works
    sink.answer(&[500, 503]);
    let r = t
        .patch(
            &format!("/api/v1/apps/{a}/members/{member}"),
            Some(&admin),
            json!({"status": "inactive"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(t.deliver_webhooks().await, 1);
    let rows = t.services.backchannel_logouts(&id).await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].attempts,
            rows[0].delivered_at,
            rows[0].last_error.as_deref()
        ),
        (1, None, Some("answered 500"))
    );
    // not again at once: waits grow (20 s, then 40 s)
    assert_eq!(t.deliver_webhooks().await, 0);
    t.clock.advance(Duration::seconds(19));
    assert_eq!(t.deliver_webhooks().await, 0);
    t.clock.advance(Duration::seconds(2));
    assert_eq!(t.deliver_webhooks().await, 1);
    t.clock.advance(Duration::seconds(39));
    assert_eq!(t.deliver_webhooks().await, 0);
    t.clock.advance(Duration::seconds(2));
    assert_eq!(t.deliver_webhooks().await, 1);
    let got = sink.received();
    assert_eq!(got.len(), 3);
    // the delivered token is a logout token for the sign-in that ended
    let lt =
        rp::verify_with_jwks(&t, got[2].body.strip_prefix("logout_token=").expect("form")).await;
    assert_eq!(lt["sid"], tok.claims["sid"]);
    assert_eq!(lt["sub"], tok.claims["sub"]);
    assert!(lt["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    let rows = t.services.backchannel_logouts(&id).await.expect("rows");
    assert_eq!(rows[0].attempts, 3);
    assert!(rows[0].delivered_at.is_some() && rows[0].last_error.is_none());
    // delivered: never sent again
    t.clock.advance(Duration::hours(2));
    assert_eq!(t.deliver_webhooks().await, 0);
    assert_eq!(sink.received().len(), 3);
}
