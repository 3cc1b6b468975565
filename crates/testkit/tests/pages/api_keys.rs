//! The API keys page: a member makes and revokes a personal key, an admin a service key; each
//! form submitted as a browser would, and the key made on the page works on the API.

use reqwest::StatusCode;
use roster_testkit::pages::{csrf, get, logged_in_browser, post};
use roster_testkit::{Backend, spawn_app};

fn secret_of(html: &str) -> String {
    let start = html.find("id=\"secret\" value=\"").expect("secret shown") + 19;
    html[start..].split('"').next().unwrap_or("").to_string()
}

#[tokio::test]
async fn keys_are_made_shown_once_used_and_revoked_on_the_page() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 5).await;
    t.add_user(&app, &admin, "una@example.com").await;
    let path = format!("/app/{app}/api-keys");

    // a user sees their own keys only, and no service keys section
    let una = logged_in_browser(&t, "una@example.com").await;
    let page = get(&una, &t, &path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Your personal keys"));
    assert!(!page.html.contains("Service keys"));
    let c = csrf(&page.html);
    let r = post(
        &una,
        &t,
        &path,
        &[
            ("csrf", &c),
            ("kind", "personal"),
            ("name", "My script"),
            ("read_only", "yes"),
            ("expires_days", "30"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.html);
    let key = secret_of(&r.html);
    assert!(key.starts_with(&format!("rk_live_{app}_")), "{key}");
    assert!(r.html.contains("read only"));
    // the key works on the API, read only
    let seats = t
        .get(&format!("/api/v1/apps/{app}/seats"), Some(&key))
        .await;
    assert_eq!(
        seats.status,
        StatusCode::NOT_FOUND,
        "a user cannot see seats"
    );
    let keys = t
        .get(&format!("/api/v1/apps/{app}/api-keys"), Some(&key))
        .await;
    assert_eq!(keys.status, StatusCode::OK);
    // shown once: the page no longer has it
    let page = get(&una, &t, &path).await;
    assert!(!page.html.contains(&key));
    assert!(page.html.contains("My script"));
    // a user cannot make a service key, even by posting the form by hand
    let c = csrf(&page.html);
    let r = post(
        &una,
        &t,
        &path,
        &[("csrf", &c), ("kind", "service"), ("name", "x")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // a name is needed: the page says so
    let r = post(
        &una,
        &t,
        &path,
        &[("csrf", &c), ("kind", "personal"), ("name", " ")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("Give the key a name"), "{}", r.html);
    // revoke with the button
    let id = keys.body["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = post(&una, &t, &format!("{path}/{id}/revoke"), &[("csrf", &c)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    let page = get(&una, &t, &path).await;
    assert!(page.html.contains("was revoked"));
    assert!(page.html.contains("Revoked"));
    assert_eq!(
        t.get(&format!("/api/v1/apps/{app}/api-keys"), Some(&key))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // without the CSRF token nothing is made
    let r = post(&una, &t, &path, &[("kind", "personal"), ("name", "sneaky")]).await;
    assert!(r.status.is_client_error());

    // the admin makes a service key with the admin scope; it is listed for admins
    let ada = logged_in_browser(&t, "admin@acme.test").await;
    let page = get(&ada, &t, &path).await;
    assert!(page.html.contains("Service keys"));
    assert!(page.html.contains(&format!("href=\"/app/{app}/api-keys\"")));
    let c = csrf(&page.html);
    let r = post(
        &ada,
        &t,
        &path,
        &[
            ("csrf", &c),
            ("kind", "service"),
            ("name", "CRM sync"),
            ("admin_scope", "yes"),
            ("expires_days", ""),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.html);
    let svc = secret_of(&r.html);
    assert!(r.html.contains("API keys and admins"));
    let members = t
        .get(&format!("/api/v1/apps/{app}/members"), Some(&svc))
        .await;
    assert_eq!(members.status, StatusCode::OK);
    let r = post(
        &ada,
        &t,
        &path,
        &[
            ("csrf", &c),
            ("kind", "service"),
            ("name", "x"),
            ("expires_days", "7000"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !page.html.contains("My script"),
        "admins do not see others' personal keys"
    );

    // SCIM provisioning: invitations by default; the admin switches to Active members
    assert!(page.html.contains("SCIM provisioning"));
    assert!(
        page.html.contains(r#"value="invite" checked"#),
        "{}",
        page.html
    );
    let scim = format!("{path}/scim");
    let r = post(&ada, &t, &scim, &[("csrf", &c), ("provisioning", "active")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    let page = get(&ada, &t, &path).await;
    assert!(
        page.html.contains("added as Active members at once"),
        "{}",
        page.html
    );
    assert!(page.html.contains(r#"value="active" checked"#));
    let setting = t
        .get(&format!("/api/v1/apps/{app}/scim-settings"), Some(&admin))
        .await;
    assert_eq!(setting.body["provisioning"], "active");
    // nothing chosen: the page says so and nothing changes
    let r = post(&ada, &t, &scim, &[("csrf", &c), ("provisioning", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("Choose what new users"), "{}", r.html);
    // a user has no such section and cannot post the form; nor can anyone without CSRF
    assert!(
        !get(&una, &t, &path)
            .await
            .html
            .contains("SCIM provisioning")
    );
    let c_una = csrf(&get(&una, &t, &path).await.html);
    let r = post(
        &una,
        &t,
        &scim,
        &[("csrf", &c_una), ("provisioning", "invite")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = post(&ada, &t, &scim, &[("provisioning", "invite")]).await;
    assert!(r.status.is_client_error());
    let setting = t
        .get(&format!("/api/v1/apps/{app}/scim-settings"), Some(&admin))
        .await;
    assert_eq!(setting.body["provisioning"], "active");
}
