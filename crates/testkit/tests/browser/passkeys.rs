//! Passkeys in Chromium with its virtual authenticator (the WebDriver WebAuthn extension that
//! chromedriver implements): add one from "Two-step verification", sign in with it and no
//! password, and use it as the second step after a password. At laptop and phone size. The site
//! runs at `http://localhost:<port>`: a WebAuthn relying party is a host name, never an IP.

use super::{SIZES, browser, click, fill, shot, text_with, wait_path};
use fantoccini::Client;
use fantoccini::wd::WebDriverCompatibleCommand;
use roster_testkit::{Backend, GOOD_PASSWORD, spawn_app_with_base};
use serde_json::json;

/// `POST /session/{id}/webauthn/authenticator`: a platform authenticator that holds discoverable
/// credentials, verifies the user and always consents.
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserConsenting": true,
            "isUserVerified": true
        });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

async fn password_login(c: &Client, base: &str, next: &str) {
    c.goto(&format!("{base}/login?next={next}"))
        .await
        .expect("login page");
    fill(c, "email", "admin@acme.test").await;
    fill(c, "password", GOOD_PASSWORD).await;
    click(c, "form[action='/login'] button[type=submit]").await;
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn add_a_passkey_then_sign_in_with_it_and_use_it_as_the_second_step() {
    for (w, h) in SIZES {
        let t = spawn_app_with_base(Backend::Sqlite, "http://localhost:{port}").await;
        t.app_with_admin("Acme", 3).await;
        let port = t.addr.rsplit(':').next().expect("port").to_string();
        let base = format!("http://localhost:{port}");
        let b = browser(w, h).await;
        let c = &b.client;
        c.issue_cmd(AddVirtualAuthenticator)
            .await
            .expect("virtual authenticator");

        // add a passkey (two-step verification turns on; backup codes shown once)
        password_login(c, &base, "/account/two-step").await;
        wait_path(c, "/account/two-step").await;
        fill(c, "passkey_name", "Laptop").await;
        click(c, "button[data-passkey=register]").await;
        let page = text_with(c, "Passkey added").await;
        assert!(page.contains("Passkey added"), "{page}");
        assert!(page.contains("Your backup codes"), "{page}");
        shot(c, "passkey-added", w).await;
        c.goto(&format!("{base}/account/two-step"))
            .await
            .expect("reload");
        let page = text_with(c, "Laptop").await;
        assert!(page.contains("1 passkey(s)"), "{page}");

        // sign in with it, no email and no password
        c.delete_all_cookies().await.expect("log out");
        c.goto(&format!("{base}/login?next=/account"))
            .await
            .expect("login page");
        click(c, "button[data-passkey=sign-in]").await;
        let path = wait_path(c, "/account").await;
        assert_eq!(path, "/account");
        let page = text_with(c, "admin@acme.test").await;
        assert!(page.contains("admin@acme.test"), "{page}");

        // the password now leads to a second step, and the passkey answers it
        c.delete_all_cookies().await.expect("log out");
        password_login(c, &base, "/account/security").await;
        let page = text_with(c, "Use a passkey").await;
        assert!(page.contains("Two-step verification"), "{page}");
        shot(c, "second-step", w).await;
        click(c, "button[data-passkey=second-step]").await;
        let path = wait_path(c, "/account/security").await;
        assert_eq!(path, "/account/security");
    }
}
