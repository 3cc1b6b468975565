//! Suspending an app (J8) reaches "Sign in with your Roster ID" too: a suspended app is not
//! offered to a client (nor taken from a forged answer), its access tokens are refused at
//! userinfo and the API, and its refresh tokens no longer work; resuming brings it back.

use reqwest::StatusCode;
use roster_core::service::NewClient;
use roster_testkit::TestApp;
use roster_testkit::pages::{Got, get, logged_in_browser, post};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

roster_testkit::on_every_backend!(
    a_suspended_app_is_not_offered_to_clients_and_its_tokens_are_refused
);

/// Where the "continue" link of an authorization answer points (the redirect with the code).
fn continue_target(page: &Got) -> Option<String> {
    let m = "id=\"continue\" href=\"";
    let i = page.html.find(m)? + m.len();
    let end = page.html[i..].find('"')? + i;
    Some(
        page.html[i..end]
            .replace("&amp;", "&")
            .replace("&#x2F;", "/"),
    )
}

fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn token(t: &TestApp, id: &str, secret: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = t
        .client
        .post(format!("{}/oauth2/token", t.addr))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .expect("token endpoint");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn a_suspended_app_is_not_offered_to_clients_and_its_tokens_are_refused(t: TestApp) {
    let (a, _) = t.app_with_admin("Acme", 3).await;
    let registered = t
        .services
        .create_oidc_client(
            &t.ctx(),
            NewClient {
                name: "Acme CRM".into(),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![],
                public: false,
                first_party: true,
                back_channel_logout_uri: None,
                id_token_alg: None,
            },
        )
        .await
        .expect("client");
    let id = registered.client.client_id.clone();
    let secret = registered.secret.expect("confidential");
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let authorize = format!(
        "/oauth2/authorize?client_id={id}&redirect_uri={}&response_type=code\
         &scope=openid%20email%20offline_access%20members:read&state=s1&nonce=n1",
        urlencode(REDIRECT)
    );
    // before: one app, a first-party client: a code at once
    let page = get(&b, &t, &authorize).await;
    let to = continue_target(&page).unwrap_or_else(|| panic!("a code: {}", page.html));
    let code = param(&to, "code").expect("code");
    let (st, tok) = token(
        &t,
        &id,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{tok}");
    let access = tok["access_token"].as_str().expect("access").to_string();
    let refresh = tok["refresh_token"].as_str().expect("refresh").to_string();
    assert_eq!(
        t.get("/oauth2/userinfo", Some(&access)).await.status,
        StatusCode::OK
    );
    let members = format!("/api/v1/apps/{a}/members");
    assert_eq!(t.get(&members, Some(&access)).await.status, StatusCode::OK);

    // suspended (as `roster app suspend` does)
    t.services
        .set_app_suspended(&t.ctx(), None, &a, true)
        .await
        .expect("suspend");
    // its tokens are refused: userinfo, the API, refreshing
    assert_eq!(
        t.get("/oauth2/userinfo", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = t.get(&members, Some(&access)).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "app_suspended"),
        "{:?}",
        r.body
    );
    let (st, v) = token(
        &t,
        &id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{v}"
    );
    // a new sign-in: the app is not offered, no code is given
    let page = get(&b, &t, &authorize).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(continue_target(&page).is_none(), "{}", page.html);
    assert!(
        page.html.contains("has nothing to sign you in to")
            && !page.html.contains(&format!("value=\"{a}\"")),
        "{}",
        page.html
    );
    // nor from a forged answer naming it
    let mut form: Vec<(String, String)> = hidden_fields(&page.html);
    form.push(("chosen_app".into(), a.to_string()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = post(&b, &t, "/oauth2/authorize", &form).await;
    assert!(continue_target(&r).is_none(), "{}", r.html);

    // resumed: signing in works again
    t.services
        .set_app_suspended(&t.ctx(), None, &a, false)
        .await
        .expect("resume");
    let page = get(&b, &t, &authorize).await;
    let to = continue_target(&page).unwrap_or_else(|| panic!("a code: {}", page.html));
    assert!(param(&to, "code").is_some(), "{to}");
}

/// The hidden inputs of a page's form, as pairs.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    let m = "<input type=\"hidden\" name=\"";
    while let Some(i) = rest.find(m) {
        rest = &rest[i + m.len()..];
        let (Some(n_end), Some(v)) = (rest.find('"'), rest.find("value=\"")) else {
            break;
        };
        let name = rest[..n_end].to_string();
        let after = &rest[v + 7..];
        let Some(v_end) = after.find('"') else { break };
        out.push((
            name,
            after[..v_end].replace("&amp;", "&").replace("&#x2F;", "/"),
        ));
        rest = after;
    }
    out
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
