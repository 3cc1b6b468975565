//! The webhooks pages: add an endpoint (secret shown once), its delivery log, "Send test
//! event" and "Delete", each form submitted as a browser would.

use reqwest::StatusCode;
use roster_testkit::pages::{csrf, get, logged_in_browser, post};
use roster_testkit::webhook_sink::WebhookSink;
use roster_testkit::{Backend, spawn_app};

#[tokio::test]
async fn an_admin_adds_tests_and_deletes_an_endpoint_on_the_pages() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 5).await;
    let sink = WebhookSink::start().await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let path = format!("/app/{app}/admin/webhooks");
    let page = get(&b, &t, &path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains(&format!("href=\"{path}\"")),
        "in the admin bar"
    );
    assert!(page.html.contains("member.deactivated"));
    let c = csrf(&page.html);

    // nothing picked: the form says so and keeps the address
    let r = post(&b, &t, &path, &[("csrf", &c), ("url", &sink.url)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("Pick at least one event."));
    assert!(r.html.contains(&sink.url));
    // two events ticked
    let r = post(
        &b,
        &t,
        &path,
        &[
            ("csrf", &c),
            ("url", &sink.url),
            ("event", "seats.changed"),
            ("event", "member.invited"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.html);
    assert!(r.html.contains("id=\"secret\" value=\"whsec_"));
    let list = t
        .get(&format!("/api/v1/apps/{app}/webhooks"), Some(&admin))
        .await;
    let id = list.body["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        list.body["items"][0]["events"],
        serde_json::json!(["member.invited", "seats.changed"])
    );
    let page = get(&b, &t, &path).await;
    assert!(!page.html.contains("whsec_"), "the secret is shown once");

    // the endpoint's page: send a test event, see it delivered
    let ep = format!("{path}/{id}");
    let page = get(&b, &t, &ep).await;
    assert!(page.html.contains("Nothing sent yet."));
    let r = post(&b, &t, &format!("{ep}/test"), &[("csrf", &c)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    t.deliver_webhooks().await;
    let page = get(&b, &t, &ep).await;
    assert!(page.html.contains("webhook.test"), "{}", page.html);
    assert!(page.html.contains("Delivered"));
    assert!(page.html.contains("<td data-label=\"Response\">200</td>"));
    assert_eq!(sink.received().len(), 1);

    // without the CSRF token nothing happens; another app's admin gets 404
    let r = post(&b, &t, &format!("{ep}/delete"), &[]).await;
    assert!(r.status.is_client_error());
    t.app_with_admin("Other", 2).await;
    let stranger = logged_in_browser(&t, "admin@other.test").await;
    assert_eq!(get(&stranger, &t, &ep).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&stranger, &t, &path).await.status,
        StatusCode::NOT_FOUND
    );

    // delete
    let r = post(&b, &t, &format!("{ep}/delete"), &[("csrf", &c)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    let page = get(&b, &t, &path).await;
    assert!(page.html.contains("No endpoints yet."));
    assert_eq!(get(&b, &t, &ep).await.status, StatusCode::NOT_FOUND);
}
