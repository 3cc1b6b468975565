//! More OpenID Connect journeys: who may be given which app, refused requests, RP-initiated
//! logout, and signing keys rotating under two nodes.

use super::{REDIRECT, client, oauth_post, rp};
use reqwest::StatusCode;
use roster_testkit::pages::{browser, get};
use roster_testkit::{TestApp, spawn_second_node};
use serde_json::json;
use time::Duration;

pub(super) async fn a_client_never_gets_an_app_the_id_is_not_an_active_member_of(t: TestApp) {
    let (a, admin_a) = t.app_with_admin("Alpha", 3).await;
    let (b, admin_b) = t.app_with_admin("Beta", 3).await;
    let (c_app, _) = t.app_with_admin("Gamma", 3).await;
    let (member_b, _) = t.add_user(&b, &admin_b, "pat@example.com").await;
    // Pat joins Alpha too, then is deactivated in Beta
    t.join_with_password(&a, &admin_a, "pat@example.com", "user")
        .await;
    let r = t
        .patch(
            &format!("/api/v1/apps/{b}/members/{member_b}"),
            Some(&admin_b),
            json!({"status": "inactive"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let (id, cs) = client(&t, "CRM", true, None).await;
    let c = rp::discover(&t, &id, cs.as_deref(), REDIRECT).await;
    let br = browser();
    // naming an app Pat is not an Active member of: not given; the only Active app is
    let s = rp::start(&c, &[], &[("app_id", b.as_str())]);
    let page = rp::through_login(&br, &t, &s.url, "pat@example.com", None).await;
    let code = rp::code_from(&t, &page, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    assert_eq!(tok.claims["app_id"], a.to_string());
    // a forged picker answer for another app gets the picker back, never a code
    let s = rp::start(&c, &[], &[("prompt", "select_account")]);
    let page = get(&br, &t, &rp::local(&t, &s.url)).await;
    assert!(page.html.contains("Sign in to CRM"), "{}", page.html);
    assert!(page.html.contains(&format!("value=\"{a}\"")));
    assert!(
        !page.html.contains(&format!("value=\"{b}\"")),
        "an inactive membership is not offered"
    );
    for other in [b.as_str(), c_app.as_str()] {
        let r = rp::submit(
            &br,
            &t,
            &page,
            "/oauth2/authorize",
            &[("chosen_app", other)],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.html.contains("Sign in to CRM") && !r.html.contains("id=\"continue\""),
            "{}",
            r.html
        );
    }
    // prompt=none cannot show the picker: the client hears why
    let s = rp::start(&c, &[], &[("prompt", "none")]);
    let done = get(&br, &t, &rp::local(&t, &s.url)).await;
    // one usable app: no picker needed, so even prompt=none gets a code
    rp::code_from(&t, &done, &s, REDIRECT);
    // an app that requires two-step verification is not offered to an ID without it
    let r = t
        .post("/api/v1/me/two-step/totp", Some(&admin_a), json!({}))
        .await;
    let secret = r.body["secret"].as_str().expect("secret").to_string();
    let code = roster_testkit::totp_code(&secret, t.now().unix_timestamp());
    let r = t
        .post(
            "/api/v1/me/two-step/totp/confirm",
            Some(&admin_a),
            json!({"code": code}),
        )
        .await;
    let admin_a = r.body["token"].as_str().expect("token").to_string();
    let r = t
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{a}/two-step"),
            Some(&admin_a),
            Some(json!({"required": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let s = rp::start(&c, &[], &[]);
    let page = get(&br, &t, &rp::local(&t, &s.url)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("requires two-step verification"),
        "{}",
        page.html
    );
    assert!(!page.html.contains(&format!("value=\"{a}\"")));
}

pub(super) async fn bad_requests_are_refused_clearly(t: TestApp) {
    t.app_with_admin("Bad", 2).await;
    let (id, cs) = client(&t, "CRM", true, None).await;
    let cs = cs.expect("secret");
    let br = browser();
    // an unknown client or an unregistered redirect: a page, never a redirect
    let p = get(&br, &t, &format!("/oauth2/authorize?client_id=nope&redirect_uri={REDIRECT}&response_type=code&scope=openid")).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.html.contains("not registered"));
    let p = get(&br, &t, &format!("/oauth2/authorize?client_id={id}&redirect_uri=http://127.0.0.1:9/evil&response_type=code&scope=openid")).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(!p.html.contains("evil\""), "{}", p.html);
    // wrong response type, unknown scope, plain PKCE: told at the redirect URI
    for (q, err) in [
        (
            "response_type=token&scope=openid",
            "unsupported_response_type",
        ),
        ("response_type=code&scope=openid%20admin", "invalid_scope"),
        ("response_type=code&scope=profile", "invalid_scope"),
        (
            "response_type=code&scope=openid&code_challenge=abc&code_challenge_method=plain",
            "invalid_request",
        ),
        (
            "response_type=code&scope=openid&prompt=sideways",
            "invalid_request",
        ),
    ] {
        let p = get(
            &br,
            &t,
            &format!("/oauth2/authorize?client_id={id}&redirect_uri={REDIRECT}&state=s1&{q}"),
        )
        .await;
        let to = rp::continue_target(&p);
        assert_eq!(rp::param(&to, "error").as_deref(), Some(err), "{q}: {to}");
        assert_eq!(rp::param(&to, "state").as_deref(), Some("s1"));
    }
    // an email as login_hint fills in the login form
    let s = format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={REDIRECT}&response_type=code&scope=openid&nonce=n1&login_hint=ann%40example.com"
    );
    let p = get(&br, &t, &s).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let login = get(&br, &t, &p.location).await;
    assert!(
        login.html.contains("value=\"ann@example.com\""),
        "{}",
        login.html
    );
    // prompt=none without a session
    let p = get(&br, &t, &format!("/oauth2/authorize?client_id={id}&redirect_uri={REDIRECT}&response_type=code&scope=openid&nonce=n1&prompt=none")).await;
    assert_eq!(
        rp::param(&rp::continue_target(&p), "error").as_deref(),
        Some("login_required")
    );
    // the token endpoint: OAuth errors, never a page
    let (st, v) = oauth_post(
        &t,
        "/oauth2/token",
        &id,
        "wrong-secret",
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(
        (st, v["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_client"))
    );
    let (st, v) = oauth_post(&t, "/oauth2/token", &id, &cs, &[("grant_type", "password")]).await;
    assert_eq!(
        (st, v["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("unsupported_grant_type"))
    );
    let (st, v) = oauth_post(
        &t,
        "/oauth2/token",
        &id,
        &cs,
        &[("grant_type", "authorization_code"), ("code", "made-up")],
    )
    .await;
    assert_eq!(
        (st, v["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant"))
    );
    // not a form, or the wrong method: still the OAuth error format, never a page
    let r = t
        .post(
            "/oauth2/token",
            None,
            json!({"grant_type": "authorization_code"}),
        )
        .await;
    assert!(
        r.status.is_client_error() && r.content_type.starts_with("application/json"),
        "{r:?}"
    );
    assert_eq!(r.body["error"], "invalid_request");
    let r = t.get("/oauth2/token", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body["error"], "invalid_request");
    // browser clients may call the machine endpoints from their own origin
    let r = t
        .client
        .get(format!("{}/.well-known/openid-configuration", t.addr))
        .header("origin", "https://plugin.example.com")
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    // introspection needs a confidential client; revocation of nonsense is fine
    let (st, _) = oauth_post(&t, "/oauth2/introspect", &id, "wrong", &[("token", "x")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _) = oauth_post(&t, "/oauth2/revoke", &id, &cs, &[("token", "never-issued")]).await;
    assert_eq!(st, StatusCode::OK);
    // userinfo without or with a bad token
    assert_eq!(
        t.get("/oauth2/userinfo", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/oauth2/userinfo", Some("a.b.c")).await.status,
        StatusCode::UNAUTHORIZED
    );
    // discovery names every endpoint and S256 only
    let d = t.get("/.well-known/openid-configuration", None).await;
    assert_eq!(d.body["issuer"], t.addr);
    assert_eq!(d.body["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        d.body["end_session_endpoint"],
        format!("{}/oauth2/logout", t.addr)
    );
    let jwks = t.get("/oauth2/jwks", None).await;
    let algs: Vec<&str> = jwks.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["alg"].as_str())
        .collect();
    assert!(
        algs.contains(&"RS256") && algs.contains(&"EdDSA"),
        "{algs:?}"
    );
    assert!(
        jwks.body["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k.get("d").is_none()),
        "no private parts"
    );
    // failures count towards the address's throttle
    for _ in 0..70 {
        oauth_post(
            &t,
            "/oauth2/token",
            &id,
            "wrong",
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
    }
    let (st, v) = oauth_post(
        &t,
        "/oauth2/token",
        &id,
        "wrong",
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_eq!(
        (st, v["error"].clone()),
        (StatusCode::TOO_MANY_REQUESTS, json!("slow_down"))
    );
}

pub(super) async fn rp_initiated_logout_ends_the_session_and_the_grant(t: TestApp) {
    let (a, _) = t.app_with_admin("Bye", 2).await;
    let (id, cs) = client(&t, "CRM", true, None).await;
    let cs = cs.expect("secret");
    let c = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    let br = browser();
    let s = rp::start(&c, &["members:read"], &[]);
    let page = rp::through_login(&br, &t, &s.url, "admin@bye.test", None).await;
    let code = rp::code_from(&t, &page, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    // an admin's token reaches exactly what its scopes name: members:read reads members,
    // nothing else (no invitations, no settings, no seats, no audit log)
    let members = t
        .get(&format!("/api/v1/apps/{a}/members"), Some(&tok.access))
        .await;
    assert_eq!(members.status, StatusCode::OK, "{:?}", members.body);
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/invitations"),
            Some(&tok.access),
            json!({"email": "x@bye.test", "first_name": "X"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    for path in ["audit", "seats", "api-keys", "webhooks"] {
        let r = t
            .get(&format!("/api/v1/apps/{a}/{path}"), Some(&tok.access))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "insufficient_scope"),
            "{path}"
        );
    }
    let r = t
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{a}/two-step"),
            Some(&tok.access),
            Some(json!({"required": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // an unregistered return address is refused
    let bad = get(
        &br,
        &t,
        &format!(
            "/oauth2/logout?id_token_hint={}&post_logout_redirect_uri=http://127.0.0.1:9/evil",
            tok.id_token
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    // GET asks; nothing changes yet
    let ask = get(&br, &t, &format!("/oauth2/logout?id_token_hint={}&post_logout_redirect_uri=http://127.0.0.1:9/bye&state=xyz", tok.id_token)).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.html.contains("Sign out of CRM?"), "{}", ask.html);
    assert_eq!(get(&br, &t, "/apps").await.status, StatusCode::OK);
    let done = rp::submit(&br, &t, &ask, "/oauth2/logout", &[]).await;
    let to = rp::continue_target(&done);
    assert_eq!(to, "http://127.0.0.1:9/bye?state=xyz");
    // the browser session and the grant are gone
    let apps = get(&br, &t, "/apps").await;
    assert_eq!(apps.status, StatusCode::SEE_OTHER);
    let events = super::oidc_audit(&t).await;
    let out: Vec<_> = events
        .iter()
        .filter(|e| e.action == "oidc.logout")
        .collect();
    assert_eq!(out.len(), 1, "{events:?}");
    assert_eq!(
        (out[0].app_id.as_ref(), out[0].actor_label.as_str()),
        (Some(&a), "CRM")
    );
    assert_eq!(out[0].details, json!({"grant": tok.claims["sid"]}));
    let (_, v) = oauth_post(
        &t,
        "/oauth2/introspect",
        &id,
        &cs,
        &[("token", &tok.access)],
    )
    .await;
    assert_eq!(v, json!({"active": false}));
    // a forged hint is refused
    let forged = format!("{}x", tok.id_token);
    let r = get(&br, &t, &format!("/oauth2/logout?id_token_hint={forged}")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

pub(super) async fn signing_keys_rotate_on_two_nodes_without_a_failed_validation(t: TestApp) {
    let second = spawn_second_node(&t).await;
    t.app_with_admin("Rot", 2).await;
    let (id, cs) = client(&t, "CRM", true, None).await;
    let cs = cs.expect("secret");
    // the RP caches the JWKS from discovery, as relying parties do
    let c = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    let br = browser();
    let mut refresh = {
        let s = rp::start(&c, &["offline_access"], &[]);
        let page = rp::through_login(&br, &t, &s.url, "admin@rot.test", None).await;
        let code = rp::code_from(&t, &page, &s, REDIRECT);
        rp::exchange(&c, &code, s).await.refresh.expect("rt")
    };
    // node 2 rotates, publishing the new keys a minute before they sign
    second
        .services
        .rotate_signing_keys(&second.ctx(), Duration::minutes(1))
        .await
        .expect("rotate");
    let events = super::oidc_audit(&t).await;
    let rotated = events
        .iter()
        .find(|e| e.action == "oidc.keys_rotated")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(rotated.actor_label, "Roster support");
    assert_eq!(rotated.details["lead_seconds"], 60);
    assert_eq!(rotated.details["kids"].as_array().map(Vec::len), Some(2));
    // the RP refreshes its JWKS within its cache time (here: now); it talks to either node
    // (each test node has its own address, so its own issuer; production nodes share one)
    let c1 = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    let c2 = rp::discover(&second, &id, Some(&cs), REDIRECT).await;
    let mut kids = std::collections::BTreeSet::new();
    for step in 0..6 {
        // tokens from either node, before and after the new keys start signing
        let c_node = if step % 2 == 0 { &c1 } else { &c2 };
        let r = rp::refresh(c_node, &refresh)
            .await
            .unwrap_or_else(|e| panic!("step {step}: {e}"));
        let header = r.id_token.split('.').next().expect("h").to_string();
        kids.insert(header);
        // Roster itself takes the access token at once, whichever key signed it (a node
        // that cached the key list before the new key reads it again)
        let node = if step % 2 == 0 { &t } else { &second };
        let info = node.get("/oauth2/userinfo", Some(&r.access)).await;
        assert_eq!(info.status, StatusCode::OK, "step {step}: {:?}", info.body);
        refresh = r.refresh.expect("rotated");
        t.clock.advance(Duration::seconds(25));
    }
    assert!(kids.len() >= 2, "the new key signed: {kids:?}");
    // the old key stays published (tokens it signed are still valid), then goes
    let n = |j: serde_json::Value| j["keys"].as_array().map(|k| k.len()).unwrap_or(0);
    assert_eq!(n(second.get("/oauth2/jwks", None).await.body), 4);
    t.clock
        .advance(roster_core::service::KEY_RETENTION + Duration::minutes(1));
    assert_eq!(n(t.get("/oauth2/jwks", None).await.body), 2);
    assert_eq!(
        t.services.prune_signing_keys(t.now()).await.expect("prune"),
        2
    );
    // scheduled rotation: a key older than the rotation interval gets a successor, published
    // an hour before it signs
    let r = rp::refresh(&c1, &refresh).await.expect("refresh");
    refresh = r.refresh.expect("rt");
    t.clock.advance(Duration::days(29));
    assert_eq!(n(t.get("/oauth2/jwks", None).await.body), 4);
    let r = rp::refresh(&c1, &refresh).await.expect("still the old key");
    refresh = r.refresh.expect("rt");
    t.clock.advance(roster_core::service::KEY_PUBLISH_LEAD);
    let c1 = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    rp::refresh(&c1, &refresh).await.expect("the new key");
}

/// Sign `email` in through the RP; returns the tokens.
async fn signed_in(t: &TestApp, c: &rp::Client, email: &str) -> rp::Tokens {
    let s = rp::start(c, &["offline_access"], &[]);
    let page = rp::through_login(&browser(), t, &s.url, email, None).await;
    let code = rp::code_from(t, &page, &s, REDIRECT);
    rp::exchange(c, &code, s).await
}

pub(super) async fn leaving_or_a_password_reset_ends_the_applications_sign_in(t: TestApp) {
    let (a, admin) = t.app_with_admin("Alpha", 3).await;
    let (_, session) = t.add_user(&a, &admin, "pat@example.com").await;
    let sink = roster_testkit::webhook_sink::WebhookSink::start().await;
    let (id, cs) = client(&t, "CRM", true, Some(&sink.url)).await;
    let cs = cs.expect("secret");
    let c = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    // Pat leaves the app
    let tok = signed_in(&t, &c, "pat@example.com").await;
    let r = t
        .delete(&format!("/api/v1/me/apps/{a}"), Some(&session))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert!(
        rp::refresh(&c, tok.refresh.as_deref().expect("rt"))
            .await
            .is_err()
    );
    t.deliver_webhooks().await;
    assert_eq!(sink.received().len(), 1);
    // the admin's password is reset by its owner: every sign-in of the ID ends
    let tok = signed_in(&t, &c, "admin@alpha.test").await;
    let r = t
        .post(
            "/api/v1/password/forgot",
            None,
            json!({"email": "admin@alpha.test"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let mail = t
        .deliver_mail()
        .await
        .into_iter()
        .find(|m| m.text.contains("Your code: "))
        .expect("the reset mail");
    let code = roster_testkit::reset_code(&mail);
    let r = t
        .post(
            "/api/v1/password/reset",
            None,
            json!({"email": "admin@alpha.test", "code": code, "password": "Another-Pass-77", "security_answer": "rex"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let (_, v) = oauth_post(
        &t,
        "/oauth2/introspect",
        &id,
        &cs,
        &[("token", &tok.access)],
    )
    .await;
    assert_eq!(v, json!({"active": false}));
    t.deliver_webhooks().await;
    let got = sink.received();
    assert_eq!(got.len(), 2);
    let lt =
        rp::verify_with_jwks(&t, got[1].body.strip_prefix("logout_token=").expect("form")).await;
    assert_eq!(lt["sid"], tok.claims["sid"]);
}

pub(super) async fn an_eddsa_client_gets_ed25519_id_tokens(t: TestApp) {
    t.app_with_admin("Ed", 2).await;
    let r = t
        .services
        .create_oidc_client(
            &t.ctx(),
            roster_core::service::NewClient {
                name: "Ed CRM".into(),
                redirect_uris: vec![REDIRECT.into()],
                first_party: true,
                id_token_alg: Some(roster_core::model::SigningAlg::EdDSA),
                ..Default::default()
            },
        )
        .await
        .expect("client");
    let c = rp::discover(&t, &r.client.client_id, r.secret.as_deref(), REDIRECT).await;
    let tok = signed_in(&t, &c, "admin@ed.test").await;
    let header = tok.id_token.split('.').next().expect("header");
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(tok.claims["app_id"].as_str().map(str::len), Some(5));
}
