//! The notification preferences page, the unsubscribe page, and "Correct address" on an
//! invitation: each form submitted as a browser would.

use reqwest::StatusCode;
use roster_testkit::pages::{csrf, get, logged_in_browser, post};
use roster_testkit::{Backend, spawn_app};

#[tokio::test]
async fn an_admin_turns_notifications_off_on_the_page_and_unsubscribes_with_the_button() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, ada) = t.app_with_admin("Acme", 5).await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let path = format!("/app/{app}/admin/notifications");
    let page = get(&b, &t, &path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Someone was invited"));
    assert!(
        page.html
            .contains("name=\"invitation_reminders\" value=\"yes\" checked")
    );
    // keep only "joined" (unticked boxes are not sent)
    let c = csrf(&page.html);
    let r = post(&b, &t, &path, &[("csrf", &c), ("joined", "yes")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    let s = t
        .get(&format!("/api/v1/apps/{app}/notifications"), Some(&ada))
        .await;
    let on: Vec<_> = s.body["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .filter(|k| k["enabled"] == true)
        .map(|k| k["kind"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(on, ["joined"]);
    assert_eq!(s.body["invitation_reminders"], false);
    let page = get(&b, &t, &path).await;
    assert!(page.html.contains("Your email choices are saved."));
    // without the CSRF token nothing changes
    let r = post(&b, &t, &path, &[("invited", "yes")]).await;
    assert!(r.status.is_client_error(), "{}", r.status);

    // the unsubscribe page's button (no login needed)
    let token = t.services.unsubscribe_token(
        &app,
        t.services
            .store()
            .read()
            .await
            .expect("read")
            .list_active_admins(&app)
            .await
            .expect("admins")[0]
            .id,
        roster_core::model::NotificationKind::Joined,
    );
    let anon = roster_testkit::pages::browser();
    let page = get(&anon, &t, &format!("/unsubscribe/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Someone joined"), "{}", page.html);
    let c = csrf(&page.html);
    let r = post(&anon, &t, &format!("/unsubscribe/{token}"), &[("csrf", &c)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.html.contains("will no longer get emails"), "{}", r.html);
    let s = t
        .get(&format!("/api/v1/apps/{app}/notifications"), Some(&ada))
        .await;
    assert!(
        s.body["kinds"]
            .as_array()
            .expect("kinds")
            .iter()
            .all(|k| k["enabled"] == false)
    );
    // a broken link is a friendly page, not a 500
    let bad = get(&anon, &t, "/unsubscribe/not-a-token").await;
    assert!(bad.status.is_client_error(), "{}", bad.status);
}

#[tokio::test]
async fn correct_address_resends_the_invitation_to_the_new_address() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, ada) = t.app_with_admin("Acme", 5).await;
    t.mailer.refuse_next(1);
    let r = t
        .invite(&app, &ada, "rohti@example.com", "user", false)
        .await;
    let inv = r.body["id"].as_str().expect("id").to_string();
    t.deliver_mail().await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let path = format!("/app/{app}/admin/invitations/{inv}/correct");
    let page = get(&b, &t, &path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("value=\"rohti@example.com\""));
    let c = csrf(&page.html);
    // a bad address keeps the form with the error
    let bad = post(&b, &t, &path, &[("csrf", &c), ("email", "not an email")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    let r = post(
        &b,
        &t,
        &path,
        &[("csrf", &c), ("email", "rohit@example.com")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    assert_eq!(r.location, format!("/app/{app}/admin/users"));
    let mails = t.deliver_mail().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "rohit@example.com");
    let users = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    assert!(users.html.contains("Invitation sent to rohit@example.com."));
    assert!(users.html.contains("Email delivered"), "{}", users.html);
}
