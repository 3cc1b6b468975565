//! Browser security headers (issue 8, item 9): one CSP without inline script or style on every
//! HTML response, error pages included; nosniff and Referrer-Policy everywhere; `no-store` on the
//! API; HSTS and `__Host-` cookies only when the base URL is https.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use roster_testkit::pages::{browser, csrf};
use roster_testkit::{Backend, GOOD_PASSWORD, TestApp, spawn_app, spawn_app_with_base};

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The checks every HTML page must pass; returns its HTML.
async fn assert_page_headers(what: &str, r: reqwest::Response) -> String {
    let h = r.headers().clone();
    assert!(
        header(&h, "content-type").starts_with("text/html"),
        "{what}: not HTML"
    );
    let csp = header(&h, "content-security-policy");
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{what}: no {name} in {csp:?}"))
            .to_string()
    };
    assert_eq!(directive("script-src"), "script-src 'self'", "{what}");
    assert_eq!(directive("style-src"), "style-src 'self'", "{what}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(directive("frame-ancestors"), "frame-ancestors 'none'");
    assert_eq!(directive("form-action"), "form-action 'self'");
    assert_eq!(directive("base-uri"), "base-uri 'none'");
    assert_eq!(directive("object-src"), "object-src 'none'");
    assert_eq!(header(&h, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(&h, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header(&h, "cache-control"), "no-store", "{what}");
    assert!(
        !h.contains_key("strict-transport-security"),
        "{what}: HSTS over http"
    );
    let html = r.text().await.expect("body");
    assert_no_inline_script_or_style(what, &html);
    html
}

fn assert_no_inline_script_or_style(what: &str, html: &str) {
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..i + html[i..].find('>').expect("tag end")];
        assert!(tag.contains(" src="), "{what}: inline script {tag}");
    }
    assert!(!html.contains(" style="), "{what}: inline style attribute");
    assert!(!html.contains("<style"), "{what}: style element");
    assert!(!html.contains(" onclick="), "{what}: inline handler");
}

async fn send(
    t: &TestApp,
    b: &reqwest::Client,
    method: reqwest::Method,
    path: &str,
) -> reqwest::Response {
    b.request(method, format!("{}{path}", t.addr))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn every_kind_of_page_has_the_strict_csp_and_no_inline_script_or_style() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, _) = t.app_with_admin("Acme", 5).await;
    let r = t
        .invite(
            &app,
            &admin_token(&t).await,
            "bob@example.com",
            "user",
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let inv = r.body["id"].as_str().expect("id").to_string();
    let token = roster_testkit::token_from(&t.deliver_mail().await[0]);
    let b = browser();
    use reqwest::Method as M;

    // anonymous pages: login, the invitation page (checklist and Show toggle), a framed 404
    let login = assert_page_headers("login", send(&t, &b, M::GET, "/login").await).await;
    let invite = send(&t, &b, M::GET, &format!("/invite/{token}")).await;
    let invite = assert_page_headers("invitation page", invite).await;
    assert!(invite.contains("id=\"rules\"") && invite.contains("data-min=\""));
    let r = send(&t, &b, M::GET, "/no/such/page").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_page_headers("framed 404", r).await;

    // logged in: the Users page, the copy-link page, a framed 405 and a framed 404 in an app
    let c = csrf(&login);
    let r = b
        .post(format!("{}/login", t.addr))
        .form(&[
            ("csrf", c.as_str()),
            ("email", "admin@acme.test"),
            ("password", GOOD_PASSWORD),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let users = send(&t, &b, M::GET, &format!("/app/{app}/admin/users")).await;
    let users = assert_page_headers("Users page", users).await;
    let c = csrf(&users);
    let r = b
        .post(format!("{}/app/{app}/admin/invitations/{inv}/link", t.addr))
        .form(&[("csrf", c.as_str())])
        .send()
        .await
        .expect("link");
    assert_eq!(r.status(), StatusCode::OK);
    let link = assert_page_headers("copy-link page", r).await;
    assert!(link.contains("id=\"copy\""));
    let r = send(&t, &b, M::DELETE, &format!("/app/{app}/admin/users")).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_page_headers("framed 405", r).await;
    let r = send(&t, &b, M::GET, &format!("/app/{app}/admin/nothing")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_page_headers("framed 404 in an app", r).await;

    // the signature preview is a sandboxed srcdoc iframe, allowed by frame-src 'self'
    let r = send(&t, &b, M::GET, &format!("/app/{app}/setup/2?from=profile")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_page_headers("setup step 2", r).await;

    // the static files: nosniff, cacheable, and the behaviour moved out of the pages
    let r = send(&t, &b, M::GET, "/static/roster.js").await;
    assert_eq!(header(r.headers(), "x-content-type-options"), "nosniff");
    let js = r.text().await.expect("js");
    assert!(js.contains("getElementById('show')") && js.contains("getElementById('copy')"));
}

async fn admin_token(t: &TestApp) -> String {
    t.login_token("admin@acme.test", GOOD_PASSWORD).await
}

#[tokio::test]
async fn api_responses_with_personal_data_or_secrets_are_not_stored() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 5).await;
    let c = reqwest::Client::new();
    let r = t
        .invite(&app, &admin, "bob@example.com", "user", false)
        .await;
    let inv = r.body["id"].as_str().expect("id").to_string();
    let token = roster_testkit::token_from(&t.deliver_mail().await[0]);
    let checks: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("me", c.get(format!("{}/api/v1/me", t.addr)).bearer_auth(&admin)),
        (
            "members",
            c.get(format!("{}/api/v1/apps/{app}/members", t.addr))
                .bearer_auth(&admin),
        ),
        (
            "invitations",
            c.get(format!("{}/api/v1/apps/{app}/invitations", t.addr))
                .bearer_auth(&admin),
        ),
        (
            "invite",
            c.post(format!("{}/api/v1/apps/{app}/invitations", t.addr))
                .bearer_auth(&admin)
                .json(&serde_json::json!({"email": "cy@example.com", "first_name": "Cy", "kind": "user", "admin": false})),
        ),
        (
            "public invitation info",
            c.get(format!("{}/api/v1/invitations/{token}", t.addr)),
        ),
        (
            "resend",
            c.post(format!("{}/api/v1/apps/{app}/invitations/{inv}/resend", t.addr))
                .bearer_auth(&admin),
        ),
        (
            "session",
            c.post(format!("{}/api/v1/session", t.addr))
                .json(&serde_json::json!({"email": "admin@acme.test", "password": GOOD_PASSWORD})),
        ),
        ("unauthenticated me", c.get(format!("{}/api/v1/me", t.addr))),
    ];
    for (what, rb) in checks {
        let r = rb.send().await.expect(what);
        assert!(
            r.status().is_success() || what.starts_with("unauth"),
            "{what}: {}",
            r.status()
        );
        assert_eq!(header(r.headers(), "cache-control"), "no-store", "{what}");
        assert_eq!(header(r.headers(), "x-content-type-options"), "nosniff");
        assert_eq!(header(r.headers(), "referrer-policy"), "no-referrer");
        assert!(!r.headers().contains_key("strict-transport-security"));
    }
}

fn set_cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect()
}

/// `name=value` of the Set-Cookie called `name`.
fn cookie_value(h: &HeaderMap, name: &str) -> Option<String> {
    set_cookies(h).iter().find_map(|c| {
        let (k, v) = c.split(';').next()?.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

#[tokio::test]
async fn over_https_cookies_carry_the_host_prefix_and_hsts_is_sent() {
    let t = spawn_app_with_base(Backend::Sqlite, "https://roster.example").await;
    let (app, _) = t.app_with_admin("Acme", 5).await;
    // a plain client: the server listens on http, so Secure cookies are sent back by hand
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let r = c
        .get(format!("{}/login", t.addr))
        .send()
        .await
        .expect("login");
    let h = r.headers().clone();
    assert_eq!(
        header(&h, "strict-transport-security"),
        "max-age=31536000; includeSubDomains"
    );
    let all = set_cookies(&h);
    assert!(
        all.iter().all(|c| c.starts_with("__Host-")
            && c.contains("; Path=/")
            && c.contains("; Secure")
            && !c.to_ascii_lowercase().contains("domain=")),
        "{all:?}"
    );
    let csrf_cookie = cookie_value(&h, "__Host-roster_csrf").expect("csrf cookie");
    let html = r.text().await.expect("html");
    let form = csrf(&html);
    assert_eq!(form, csrf_cookie);

    // the unprefixed name is not read over https: a planted `roster_csrf` does not count
    let r = c
        .post(format!("{}/login", t.addr))
        .header("cookie", format!("roster_csrf={form}"))
        .form(&[
            ("csrf", form.as_str()),
            ("email", "admin@acme.test"),
            ("password", GOOD_PASSWORD),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().contains_key("strict-transport-security"));

    // with the prefixed cookie the login works and the session cookie is prefixed too
    let r = c
        .post(format!("{}/login", t.addr))
        .header("cookie", format!("__Host-roster_csrf={form}"))
        .form(&[
            ("csrf", form.as_str()),
            ("email", "admin@acme.test"),
            ("password", GOOD_PASSWORD),
            ("next", &format!("/app/{app}/admin/users")),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = cookie_value(r.headers(), "__Host-roster_session").expect("session cookie");
    assert!(
        set_cookies(r.headers())
            .iter()
            .all(|c| c.starts_with("__Host-"))
    );

    // the session is read from the prefixed cookie only
    let users = |cookie: String| {
        c.get(format!("{}/app/{app}/admin/users", t.addr))
            .header("cookie", cookie)
            .send()
    };
    let r = users(format!("__Host-roster_session={session}"))
        .await
        .expect("users");
    assert_eq!(r.status(), StatusCode::OK);
    let r = users(format!("roster_session={session}"))
        .await
        .expect("users");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "to the login page");

    // the API session cookie is prefixed as well
    let r = c
        .post(format!("{}/api/v1/session", t.addr))
        .json(&serde_json::json!({"email": "admin@acme.test", "password": GOOD_PASSWORD}))
        .send()
        .await
        .expect("session");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(cookie_value(r.headers(), "__Host-roster_session").is_some());
    assert!(r.headers().contains_key("strict-transport-security"));
    let me = c
        .get(format!("{}/api/v1/me", t.addr))
        .header("cookie", format!("__Host-roster_session={session}"))
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn over_http_cookie_names_are_plain_and_there_is_no_hsts() {
    let t = spawn_app(Backend::Sqlite).await;
    let r = reqwest::get(format!("{}/login", t.addr))
        .await
        .expect("login");
    assert!(!r.headers().contains_key("strict-transport-security"));
    let all = set_cookies(r.headers());
    assert!(
        all.iter()
            .any(|c| c.starts_with("roster_csrf=") && !c.contains("Secure")),
        "{all:?}"
    );
    assert!(all.iter().all(|c| !c.starts_with("__Host-")));
}

/// The API reference (issue 10): `/api/docs` is the vendored Swagger UI, served from the binary
/// (no other host named anywhere, so it works offline), under the same strict CSP as every page.
#[tokio::test]
async fn the_api_reference_is_served_from_the_binary_under_the_site_csp() {
    let t = spawn_app(Backend::Sqlite).await;
    let b = browser();
    use reqwest::Method as M;
    let login = send(&t, &b, M::GET, "/login").await;
    let site_csp = header(login.headers(), "content-security-policy").to_string();
    let r = send(&t, &b, M::GET, "/api/docs").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(r.headers(), "content-security-policy"),
        site_csp,
        "the docs page has the site's policy, not a relaxed one"
    );
    let html = assert_page_headers("API reference", r).await;
    let assets = [
        ("/static/apidocs/swagger-ui.css", "text/css", ".swagger-ui"),
        (
            "/static/apidocs/swagger-ui-bundle.js",
            "text/javascript",
            "SwaggerUIBundle",
        ),
        (
            "/static/apidocs/roster-apidocs.js",
            "text/javascript",
            "/api/v1/openapi.json",
        ),
    ];
    for (path, content_type, marker) in assets {
        assert!(html.contains(&format!("\"{path}\"")), "{path} not used");
        let r = send(&t, &b, M::GET, path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(
            header(r.headers(), "content-type").starts_with(content_type),
            "{path}: {:?}",
            r.headers()
        );
        assert_eq!(header(r.headers(), "x-content-type-options"), "nosniff");
        let body = r.text().await.expect("asset");
        assert!(body.contains(marker), "{path}");
    }
    // nothing is fetched from another host: every script and stylesheet is one of ours
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let url = &rest[..rest.find('"').unwrap_or(0)];
            assert!(url.starts_with('/'), "{url}");
        }
    }
    let init = send(&t, &b, M::GET, "/static/apidocs/roster-apidocs.js")
        .await
        .text()
        .await
        .expect("init");
    assert!(init.contains("validatorUrl: null"), "no outside validator");
    // the document it shows is served
    let r = send(&t, &b, M::GET, "/api/v1/openapi.json").await;
    assert_eq!(r.status(), StatusCode::OK);
}
