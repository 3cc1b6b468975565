//! "Sign in with your Roster ID" in Chromium at laptop and phone size: a third-party client
//! sends the browser to Roster, the person logs in, picks one of their two apps, allows the
//! client, and lands back at the client with a code — through `form-action 'self'`.
//! Screenshots: oidc-pick-, oidc-consent-, oidc-connected-{1280,375}.png.

use super::{SIZES, browser, click, fill, shot, text_with, wait_path};
use fantoccini::Client;
use roster_core::service::NewClient;
use roster_testkit::{Backend, GOOD_PASSWORD, spawn_app};

/// Nothing sticks out sideways (a phone would have to scroll), and nothing shown is cut off at
/// the window's edge or sticks out of its card. The window's width is the document element's
/// client width: `innerWidth` grows with a page that is too wide (the browser zooms out).
async fn fits(c: &Client) {
    let v = c
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            vec![],
        )
        .await
        .expect("js");
    let w: Vec<f64> = serde_json::from_value(v).expect("numbers");
    assert!(w[0] <= w[1] + 1.0, "page wider than the window: {w:?}");
    let v = c
        .execute(
            "return [...document.querySelectorAll('main button, main a, main input, main td, main th')]
               .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > 0; })
               .filter(e => {
                 const card = e.closest('.card');
                 const edge = card ? card.getBoundingClientRect().right : document.documentElement.clientWidth;
                 return e.getBoundingClientRect().right > Math.min(edge, document.documentElement.clientWidth) + 1;
               })
               .map(e => e.outerHTML.slice(0, 80));",
            vec![],
        )
        .await
        .expect("js");
    let cut: Vec<String> = serde_json::from_value(v).expect("strings");
    assert!(cut.is_empty(), "cut off, or out of its card: {cut:?}");
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn a_plugin_signs_in_with_the_app_picker_and_consent() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        let (a, admin_a) = t.app_with_admin("Alpha", 3).await;
        let (_b, _) = t.app_with_admin("Beta", 3).await;
        // Beta's admin is also a partner in Alpha
        t.join_with_password(&a, &admin_a, "admin@beta.test", "partner")
            .await;
        // the client's redirect URI is on the test server, so the browser can land there
        let redirect = format!("{}/healthz", t.addr);
        let reg = t
            .services
            .create_oidc_client(
                &t.ctx(),
                NewClient {
                    name: "Plugin Co".into(),
                    redirect_uris: vec![redirect.clone()],
                    public: true,
                    ..NewClient::default()
                },
            )
            .await
            .expect("client");
        let url = format!(
            "{}/oauth2/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid%20email&state=st-{w}&nonce=n-{w}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            t.addr,
            reg.client.client_id,
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        );
        let b = browser(w, h).await;
        let c = &b.client;
        c.goto(&url).await.expect("goto");
        wait_path(c, "/login").await;
        fill(c, "email", "admin@beta.test").await;
        fill(c, "password", GOOD_PASSWORD).await;
        click(c, "form[action='/login'] button[type=submit]").await;
        let page = text_with(c, "Sign in to Plugin Co").await;
        assert!(page.contains("Alpha") && page.contains("Beta"), "{page}");
        fits(c).await;
        shot(c, "oidc-pick", w).await;
        click(c, &format!("button[name=chosen_app][value='{a}']")).await;
        let page = text_with(c, "Allow Plugin Co into Alpha?").await;
        assert!(page.contains(&a.to_string()), "the App ID is named: {page}");
        assert!(page.contains("See your email address"), "{page}");
        fits(c).await;
        shot(c, "oidc-consent", w).await;
        click(c, "button[name=decision][value=allow]").await;
        // back at the client, with a code and the state
        wait_path(c, "/healthz").await;
        let u = c.current_url().await.expect("url");
        let q: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert!(q.iter().any(|(k, v)| k == "code" && v.len() == 43), "{u}");
        assert!(
            q.iter()
                .any(|(k, v)| k == "state" && v == &format!("st-{w}")),
            "{u}"
        );
        // the connection is listed on the ID's page
        c.goto(&format!("{}/account", t.addr)).await.expect("goto");
        let page = text_with(c, "Connected applications").await;
        assert!(page.contains("Plugin Co"), "{page}");
        // with when it was last used, and the table fits the phone's width too
        let used = c
            .execute(
                "return document.querySelector('table.connected tbody td:nth-child(4)').innerText;",
                vec![],
            )
            .await
            .expect("js");
        let used = used.as_str().unwrap_or_default();
        assert!(
            used.contains(&t.now().year().to_string()) && used.contains(':'),
            "last used: {used:?}"
        );
        fits(c).await;
        shot(c, "oidc-connected", w).await;
    }
}
