//! "Sign in with your Roster ID" (issue 11), end to end: an independent relying party (the
//! `openidconnect` crate) against a real Roster over HTTP, through the real login pages.

#[path = "oidc/flows.rs"]
mod flows;
#[path = "oidc/grants.rs"]
mod grants;
#[path = "oidc/rp.rs"]
mod rp;

use flows::*;
use grants::*;
use reqwest::StatusCode;
use roster_core::service::NewClient;
use roster_testkit::pages::{browser, get};
use roster_testkit::webhook_sink::WebhookSink;
use roster_testkit::{TestApp, totp_code};
use serde_json::{Value, json};
use time::Duration;

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

roster_testkit::on_every_backend!(
    an_independent_relying_party_signs_in_and_loses_access_when_the_member_is_deactivated,
    reused_refresh_tokens_and_codes_revoke_what_they_issued,
    third_party_clients_ask_which_app_and_for_consent_and_partners_get_kind_partner,
    a_client_never_gets_an_app_the_id_is_not_an_active_member_of,
    bad_requests_are_refused_clearly,
    rp_initiated_logout_ends_the_session_and_the_grant,
    signing_keys_rotate_on_two_nodes_without_a_failed_validation,
    leaving_or_a_password_reset_ends_the_applications_sign_in,
    an_eddsa_client_gets_ed25519_id_tokens,
    revoking_a_refresh_or_access_token_ends_the_sign_in,
    prompt_login_and_max_age_ask_for_a_fresh_login,
    prompt_consent_asks_again_and_an_app_id_login_hint_picks_the_app,
    public_clients_get_tokens_only_with_pkce,
    codes_are_bound_to_client_redirect_uri_verifier_and_a_minute,
    client_secret_post_authenticates_a_client,
    a_back_channel_logout_is_retried_until_delivered,
);

/// Register a client as the operator does.
pub async fn client(
    t: &TestApp,
    name: &str,
    first_party: bool,
    bcl: Option<&str>,
) -> (String, Option<String>) {
    let r = t
        .services
        .create_oidc_client(
            &t.ctx(),
            NewClient {
                name: name.into(),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec!["http://127.0.0.1:9/bye".into()],
                public: false,
                first_party,
                back_channel_logout_uri: bcl.map(str::to_string),
                id_token_alg: None,
            },
        )
        .await
        .expect("client");
    (r.client.client_id, r.secret)
}

/// The `oidc.*` events of the audit log, oldest first, in an app or not (client registration,
/// key rotation and a reused code are recorded outside any app).
pub async fn oidc_audit(t: &TestApp) -> Vec<roster_core::model::AuditEvent> {
    let filter = roster_core::model::AuditFilter {
        action: Some("oidc.".into()),
        ..Default::default()
    };
    let mut r = t.store.read().await.expect("read");
    let mut events = r.list_identity_audit(&filter, 500).await.expect("audit");
    events.reverse();
    events
}

/// Turn on an authenticator app for the session's ID; returns its secret.
async fn enrol_totp(t: &TestApp, session: &str) -> String {
    let r = t
        .post("/api/v1/me/two-step/totp", Some(session), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
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
    secret
}

/// POST a form to an OAuth endpoint with Basic client authentication.
pub async fn oauth_post(
    t: &TestApp,
    path: &str,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let r = t
        .client
        .post(format!("{}{path}", t.addr))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .expect("post");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn an_independent_relying_party_signs_in_and_loses_access_when_the_member_is_deactivated(
    t: TestApp,
) {
    let (a, admin) = t.app_with_admin("Acme", 5).await;
    let (member, session) = t.add_user(&a, &admin, "una@acme.test").await;
    let secret = enrol_totp(&t, &session).await;
    let sink = WebhookSink::start().await;
    let (id, cs) = client(&t, "Acme CRM", true, Some(&sink.url)).await;
    let cs = cs.expect("confidential");
    let c = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    let s = rp::start(
        &c,
        &["email", "profile", "offline_access", "members:read"],
        &[],
    );
    // a fresh authenticator code (the enrolment's cannot be replayed)
    t.clock.advance(Duration::seconds(31));
    let code = totp_code(&secret, t.now().unix_timestamp());
    let b = browser();
    let page = rp::through_login(&b, &t, &s.url, "una@acme.test", Some(&code)).await;
    // one app and a first-party client: straight back, no picker, no consent
    let code = rp::code_from(&t, &page, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    let cl = &tok.claims;
    assert_eq!(cl["app_id"], a.to_string());
    assert_eq!(cl["app_name"], "Acme");
    assert_eq!(cl["member_id"], member);
    assert_eq!(cl["role"], "user");
    assert_eq!(cl["kind"], "user");
    assert_eq!(cl["email"], "una@acme.test");
    assert_eq!(cl["email_verified"], true);
    assert_eq!(cl["name"], "Una Tester");
    assert_eq!(cl["amr"], json!(["pwd", "otp", "mfa"]));
    assert!(cl["auth_time"].as_i64().is_some());
    let sub = cl["sub"].as_str().expect("sub").to_string();
    assert!(!sub.contains('@') && sub.len() >= 20, "{sub}");
    // userinfo, read by the library
    let ui: openidconnect::core::CoreUserInfoClaims = c
        .user_info(openidconnect::AccessToken::new(tok.access.clone()), None)
        .expect("userinfo endpoint")
        .request_async(&rp::http)
        .await
        .expect("userinfo");
    assert_eq!(ui.subject().as_str(), sub);
    let raw = t.get("/oauth2/userinfo", Some(&tok.access)).await;
    assert_eq!(raw.body["role"], "user");
    assert_eq!(raw.body["app_id"], a.to_string());
    // Roster's API takes the access token with the member's rights, narrowed by scope
    let members = format!("/api/v1/apps/{a}/members");
    let profile = format!("/api/v1/apps/{a}/profile");
    // the profile is not a route any OpenID Connect scope reaches
    let r = t.get(&profile, Some(&tok.access)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "insufficient_scope"),
        "{:?}",
        r.body
    );
    // a user cannot list members, with a token or without
    assert_eq!(
        t.get(&members, Some(&tok.access)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/invitations"),
            Some(&tok.access),
            json!({"email": "x@acme.test", "first_name": "X", "kind": "user"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(r.code(), "insufficient_scope");
    let (b_app, _) = t.app_with_admin("Other", 2).await;
    assert_eq!(
        t.get(&format!("/api/v1/apps/{b_app}/members"), Some(&tok.access))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get("/api/v1/me", Some(&tok.access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // refresh: rotated, validated again
    let r1 = rp::refresh(&c, tok.refresh.as_deref().expect("refresh token"))
        .await
        .expect("refresh");
    assert_eq!(r1.claims["sub"], sub);
    let rt = r1.refresh.clone().expect("rotated");
    let (st, v) = oauth_post(&t, "/oauth2/introspect", &id, &cs, &[("token", &r1.access)]).await;
    assert_eq!(
        (st, v["active"].clone()),
        (StatusCode::OK, json!(true)),
        "{v}"
    );
    assert_eq!(v["app_id"], a.to_string());
    // another client learns nothing about this client's tokens
    let (other, other_cs) = client(&t, "Other CRM", true, None).await;
    let (st, v) = oauth_post(
        &t,
        "/oauth2/introspect",
        &other,
        &other_cs.expect("secret"),
        &[("token", &r1.access)],
    )
    .await;
    assert_eq!((st, v), (StatusCode::OK, json!({"active": false})));

    // the member is deactivated
    let r = t
        .patch(
            &format!("{members}/{member}"),
            Some(&admin),
            json!({"status": "inactive"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(rp::refresh(&c, &rt).await.is_err(), "refresh must fail");
    for token in [&r1.access, &rt] {
        let (st, v) = oauth_post(&t, "/oauth2/introspect", &id, &cs, &[("token", token)]).await;
        assert_eq!((st, v), (StatusCode::OK, json!({"active": false})));
    }
    assert_eq!(
        t.get(&profile, Some(&r1.access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/oauth2/userinfo", Some(&r1.access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // the application hears of it on its back channel, with a token that verifies
    assert!(t.deliver_webhooks().await >= 1);
    let got = sink.received();
    assert_eq!(got.len(), 1, "one logout");
    assert_eq!(
        got[0].header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let token = got[0].body.strip_prefix("logout_token=").expect("form");
    let lt = rp::verify_with_jwks(&t, token).await;
    assert_eq!(lt["iss"], t.addr);
    assert_eq!(lt["aud"], id);
    assert_eq!(lt["sub"], sub);
    assert_eq!(lt["sid"], tok.claims["sid"]);
    assert!(lt["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(lt.get("nonce").is_none());
    // delivered: not sent again
    assert_eq!(t.deliver_webhooks().await, 0);
    // and audited
    let audit = t
        .get(&format!("/api/v1/apps/{a}/audit"), Some(&admin))
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for want in [
        "oidc.authorized",
        "oidc.tokens_issued",
        "oidc.tokens_refreshed",
        "oidc.grant_revoked",
    ] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
}

async fn reused_refresh_tokens_and_codes_revoke_what_they_issued(t: TestApp) {
    let (a, _admin) = t.app_with_admin("Reuse", 3).await;
    let (id, cs) = client(&t, "Reuse CRM", true, None).await;
    let cs = cs.expect("secret");
    let c = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    let b = browser();
    // a code used twice: the second use fails and revokes what the first issued
    let s = rp::start(&c, &["offline_access"], &[]);
    let verifier = s.verifier.secret().clone();
    let page = rp::through_login(&b, &t, &s.url, "admin@reuse.test", None).await;
    let code = rp::code_from(&t, &page, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (st, v) = oauth_post(&t, "/oauth2/token", &id, &cs, &form).await;
    assert_eq!(
        (st, v["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_grant"))
    );
    let (_, v) = oauth_post(
        &t,
        "/oauth2/introspect",
        &id,
        &cs,
        &[("token", &tok.access)],
    )
    .await;
    assert_eq!(v, json!({"active": false}));
    assert!(
        rp::refresh(&c, tok.refresh.as_deref().expect("rt"))
            .await
            .is_err()
    );
    // audited: the client's registration, and the reuse (outside any app: who holds the code
    // is unknown)
    let events = oidc_audit(&t).await;
    let created = events
        .iter()
        .find(|e| e.action == "oidc.client_created" && e.target.as_deref() == Some(id.as_str()))
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(
        (
            created.actor_label.as_str(),
            created.details["name"].clone()
        ),
        ("Roster support", json!("Reuse CRM"))
    );
    let reused: Vec<_> = events
        .iter()
        .filter(|e| e.action == "oidc.code_reused")
        .collect();
    assert_eq!(reused.len(), 1, "{events:?}");
    assert_eq!(reused[0].target.as_deref(), Some(id.as_str()));
    assert_eq!(
        reused[0].details,
        json!({"grant": tok.claims["sid"], "revoked": true})
    );

    // a refresh token used twice revokes the whole family
    let s = rp::start(&c, &["offline_access"], &[]);
    let page = rp::through_login(&b, &t, &s.url, "admin@reuse.test", None).await;
    let code = rp::code_from(&t, &page, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    let rt1 = tok.refresh.expect("rt1");
    let next = rp::refresh(&c, &rt1).await.expect("first use");
    let rt2 = next.refresh.expect("rt2");
    assert!(rp::refresh(&c, &rt1).await.is_err(), "reuse is refused");
    assert!(
        rp::refresh(&c, &rt2).await.is_err(),
        "and the family is revoked"
    );
    let events = oidc_audit(&t).await;
    let reused: Vec<_> = events
        .iter()
        .filter(|e| e.action == "oidc.refresh_reused")
        .collect();
    assert_eq!(reused.len(), 1, "{events:?}");
    assert_eq!(reused[0].app_id.as_ref(), Some(&a));
    assert_eq!(
        reused[0].details,
        json!({"grant": next.claims["sid"], "revoked": true})
    );
    let (_, v) = oauth_post(
        &t,
        "/oauth2/introspect",
        &id,
        &cs,
        &[("token", &next.access)],
    )
    .await;
    assert_eq!(v, json!({"active": false}));
    // another client's secret cannot redeem this client's tokens
    let (other, other_cs) = client(&t, "Other", true, None).await;
    let (st, v) = oauth_post(
        &t,
        "/oauth2/token",
        &other,
        "wrong",
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
    )
    .await;
    assert_eq!(
        (st, v["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_client"))
    );
    let (st, _) = oauth_post(
        &t,
        "/oauth2/token",
        &other,
        &other_cs.expect("s"),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2)],
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // a day later housekeeping forgets the revoked sign-ins; their tokens stay refused
    t.clock.advance(Duration::days(2));
    let gone = t.services.prune_oidc(t.now()).await.expect("prune");
    assert!(gone >= 6, "{gone}");
    assert!(rp::refresh(&c, &rt2).await.is_err());
}

async fn third_party_clients_ask_which_app_and_for_consent_and_partners_get_kind_partner(
    t: TestApp,
) {
    let (a, admin_a) = t.app_with_admin("Alpha", 3).await;
    let (b_app, _admin_b) = t.app_with_admin("Beta", 3).await;
    // Beta's admin joins Alpha as a partner
    t.join_with_password(&a, &admin_a, "admin@beta.test", "partner")
        .await;
    let (id, cs) = client(&t, "Plugin Co", false, None).await;
    let cs = cs.expect("secret");
    let c = rp::discover(&t, &id, Some(&cs), REDIRECT).await;
    let br = browser();
    let s = rp::start(&c, &["email", "members:read"], &[]);
    let page = rp::through_login(&br, &t, &s.url, "admin@beta.test", None).await;
    // the picker offers both apps
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Sign in to Plugin Co"), "{}", page.html);
    assert!(
        page.html.contains(&format!("value=\"{a}\""))
            && page.html.contains(&format!("value=\"{b_app}\""))
    );
    let consent = rp::submit(
        &br,
        &t,
        &page,
        "/oauth2/authorize",
        &[("chosen_app", a.as_str())],
    )
    .await;
    assert!(
        consent.html.contains("Allow Plugin Co into Alpha?"),
        "{}",
        consent.html
    );
    assert!(consent.html.contains(&a.to_string()));
    assert!(
        consent.html.contains("See the app&#39;s members")
            || consent.html.contains("See the app's members")
    );
    let done = rp::submit(
        &br,
        &t,
        &consent,
        "/oauth2/authorize",
        &[("decision", "allow")],
    )
    .await;
    let code = rp::code_from(&t, &done, &s, REDIRECT);
    let tok = rp::exchange(&c, &code, s).await;
    assert_eq!(tok.claims["app_id"], a.to_string());
    assert_eq!(tok.claims["kind"], "partner");
    assert_eq!(tok.claims["role"], "user");
    // consent is remembered: naming the app skips picker and consent
    let s = rp::start(&c, &["email", "members:read"], &[("app_id", a.as_str())]);
    let page = get(&br, &t, &rp::local(&t, &s.url)).await;
    rp::code_from(&t, &page, &s, REDIRECT);
    // ...but not for more scopes, nor when prompt=consent asks again
    let s = rp::start(&c, &["email", "members:write"], &[("app_id", a.as_str())]);
    let page = get(&br, &t, &rp::local(&t, &s.url)).await;
    assert!(page.html.contains("Allow Plugin Co into Alpha?"));
    // denying tells the client
    let denied = rp::submit(&br, &t, &page, "/oauth2/authorize", &[("decision", "deny")]).await;
    let to = rp::continue_target(&denied);
    assert_eq!(rp::param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        rp::param(&to, "state").as_deref(),
        Some(s.state.secret().as_str())
    );
    // "Connected applications" on the account page, revocable
    let account = get(&br, &t, "/account").await;
    assert!(
        account.html.contains("Connected applications") && account.html.contains("Plugin Co"),
        "{}",
        account.html
    );
    let revoke = roster_testkit::pages::post(
        &br,
        &t,
        "/account/connections/revoke",
        &[
            ("csrf", &roster_testkit::pages::csrf(&account.html)),
            ("client_id", &id),
            ("app_id", a.as_str()),
        ],
    )
    .await;
    assert_eq!(revoke.status, StatusCode::SEE_OTHER);
    let account = get(&br, &t, "/account").await;
    assert!(!account.html.contains("Plugin Co"));
    let events = oidc_audit(&t).await;
    let gone = events
        .iter()
        .find(|e| e.action == "oidc.disconnected")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(
        (gone.app_id.as_ref(), gone.target.as_deref()),
        (Some(&a), Some(id.as_str()))
    );
    assert_eq!(gone.actor_label, "admin@beta.test");
    // both sign-ins into Alpha: the one allowed, and the one the remembered consent gave
    assert_eq!(gone.details, json!({"grants": 2}));
    let (_, v) = oauth_post(
        &t,
        "/oauth2/introspect",
        &id,
        &cs,
        &[("token", &tok.access)],
    )
    .await;
    assert_eq!(v, json!({"active": false}));
    // a third-party request without state and nonce is refused
    let bare = format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={REDIRECT}&response_type=code&scope=openid"
    );
    let page = get(&br, &t, &bare).await;
    let to = rp::continue_target(&page);
    assert_eq!(rp::param(&to, "error").as_deref(), Some("invalid_request"));
}
