//! A browser-less client for the HTML pages: a cookie jar, no redirects followed, and helpers
//! to read what a page says.

use crate::{GOOD_PASSWORD, TestApp};
use reqwest::StatusCode;

/// A client with a cookie jar that does not follow redirects (tests assert them).
pub fn browser() -> reqwest::Client {
    roster_webhooks::install_crypto_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// What a page answered.
pub struct Got {
    pub status: StatusCode,
    pub location: String,
    pub html: String,
}

pub async fn got(r: reqwest::Response) -> Got {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Got {
        status,
        location,
        html: r.text().await.unwrap_or_default(),
    }
}

pub async fn get(c: &reqwest::Client, t: &TestApp, path: &str) -> Got {
    let r = c
        .get(format!("{}{path}", t.addr))
        .send()
        .await
        .expect("get");
    got(r).await
}

pub async fn post(c: &reqwest::Client, t: &TestApp, path: &str, form: &[(&str, &str)]) -> Got {
    let r = c
        .post(format!("{}{path}", t.addr))
        .form(form)
        .send()
        .await
        .expect("post");
    got(r).await
}

/// The CSRF token of the page's first form.
pub fn csrf(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[i..i + 43].to_string()
}

/// Log `b` in through the login page (asserts it worked).
pub async fn log_in(t: &TestApp, b: &reqwest::Client, email: &str) {
    let page = get(b, t, "/login").await;
    let c = csrf(&page.html);
    let r = post(
        b,
        t,
        "/login",
        &[("csrf", &c), ("email", email), ("password", GOOD_PASSWORD)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
}

/// A new browser, logged in through the login page.
pub async fn logged_in_browser(t: &TestApp, email: &str) -> reqwest::Client {
    let b = browser();
    log_in(t, &b, email).await;
    b
}

/// Create an ID through the invitation page; returns the browser, logged in.
pub async fn accept_in_browser(t: &TestApp, token: &str, first: &str) -> (reqwest::Client, Got) {
    let b = browser();
    let page = get(&b, t, &format!("/invite/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let c = csrf(&page.html);
    let done = post(
        &b,
        t,
        &format!("/invite/{token}/create"),
        &[
            ("csrf", &c),
            ("first_name", first),
            ("last_name", "Tester"),
            ("password", GOOD_PASSWORD),
            ("security_question", "first_car"),
            ("security_answer", "Volvo"),
            ("accept_terms", "yes"),
        ],
    )
    .await;
    (b, done)
}
