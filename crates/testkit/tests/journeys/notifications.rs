//! Notifications journey: admins are told what happens in their app (grouped, each kind on or
//! off per admin, one-click unsubscribe), members are told of their own role and status
//! changes, invited people get one reminder, buyers get a receipt, and an invitation shows what
//! became of its email.

use reqwest::StatusCode;
use roster_testkit::{GOOD_PASSWORD, TestApp};
use serde_json::json;
use time::Duration;

/// Another admin of `app` named `first` (`<first>@<app>.test`): invited as admin, accepted;
/// returns (email, session).
async fn another_admin(
    t: &TestApp,
    app: &roster_core::types::AppId,
    admin: &str,
    first: &str,
) -> (String, String) {
    let email = format!("{}@{}.test", first.to_lowercase(), app.as_str());
    let r = t.invite(app, admin, &email, "user", true).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let token = r.body["accept_url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("token")
        .to_string();
    let a = t.accept_new(&token, first, GOOD_PASSWORD).await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    t.deliver_mail().await;
    (email, a.body["token"].as_str().expect("token").to_string())
}

pub(super) async fn admins_are_told_grouped_and_each_chooses_what_they_get(t: TestApp) {
    let (a, ada) = t.app_with_admin("Alpha", 20).await;
    let (bob, _) = another_admin(&t, &a, &ada, "Bob").await;
    let carol = another_admin(&t, &a, &ada, "Carol").await;

    // Carol turns "invited" off for herself (API); Bob keeps everything on
    let r = t
        .patch(
            &format!("/api/v1/apps/{a}/notifications"),
            Some(&carol.1),
            json!({"kinds": {"invited": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let kinds = r.body["kinds"].as_array().expect("kinds").clone();
    assert!(
        kinds
            .iter()
            .any(|k| k["kind"] == "invited" && k["enabled"] == false)
    );
    assert!(
        kinds
            .iter()
            .any(|k| k["kind"] == "joined" && k["enabled"] == true)
    );
    assert_eq!(r.body["invitation_reminders"], true);
    let bad = t
        .patch(
            &format!("/api/v1/apps/{a}/notifications"),
            Some(&carol.1),
            json!({"kinds": {"everything": false}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Ada invites 12 people, one request each: Bob gets one summary, Carol none, Ada (who
    // did it) none
    for i in 0..12 {
        let r = t
            .invite(&a, &ada, &format!("p{i}@example.com"), "partner", false)
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let mails = t.deliver_mail().await;
    let notes: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.contains("invited to Alpha"))
        .collect();
    assert_eq!(
        notes.len(),
        1,
        "{:?}",
        mails
            .iter()
            .map(|m| (&m.to, &m.subject))
            .collect::<Vec<_>>()
    );
    assert_eq!(notes[0].to, bob);
    assert!(
        notes[0].subject.starts_with("12 people were invited"),
        "{}",
        notes[0].subject
    );
    for i in 0..12 {
        assert!(
            notes[0].text.contains(&format!("p{i}@example.com")),
            "{}",
            notes[0].text
        );
    }
    assert!(notes[0].text.contains("by Ada"));
    // every notification carries its one-click unsubscribe link
    let unsub = notes[0].list_unsubscribe.clone().expect("List-Unsubscribe");
    assert!(
        unsub.starts_with(&format!("{}/unsubscribe/", t.addr)),
        "{unsub}"
    );
    // 12 invitations themselves went out too
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.contains("invited you"))
            .count(),
        12
    );

    // Bob unsubscribes with one click (RFC 8058: a POST with no cookie and no CSRF token)
    let page = t.client.get(&unsub).send().await.expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap_or_default();
    assert!(
        body.contains("Someone was invited") && body.contains(&bob),
        "{body}"
    );
    let one_click = t
        .client
        .post(&unsub)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("post");
    assert_eq!(one_click.status(), StatusCode::OK);
    // a forged token is refused and changes nothing
    let forged = format!("{}x", unsub);
    let r = t.client.post(&forged).send().await.expect("post");
    assert!(r.status().is_client_error(), "{}", r.status());

    t.invite(&a, &ada, "late@example.com", "partner", false)
        .await;
    let mails = t.deliver_mail().await;
    assert!(
        !mails.iter().any(|m| m.subject.contains("invited to Alpha")),
        "nobody wants it any more"
    );

    // other kinds still reach Bob and Carol: Ada deactivates a member
    let (dave, _) = t.add_user(&a, &ada, "dave@example.com").await;
    t.deliver_mail().await;
    let r = t
        .patch(
            &format!("/api/v1/apps/{a}/members/{dave}"),
            Some(&ada),
            json!({"status": "inactive"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mails = t.deliver_mail().await;
    let to: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.contains("was deactivated in Alpha"))
        .map(|m| m.to.clone())
        .collect();
    assert_eq!(to.len(), 2, "{mails:?}");
    assert!(to.contains(&bob) && to.contains(&carol.0));
    // and the member concerned is told, always
    let own = mails
        .iter()
        .find(|m| m.to == "dave@example.com")
        .expect("the member's own notice");
    assert!(own.subject.contains("deactivated"), "{}", own.subject);
    assert_eq!(own.list_unsubscribe, None, "cannot be turned off");
}

pub(super) async fn members_are_told_of_their_role_and_buyers_get_a_receipt(t: TestApp) {
    let (a, ada) = t.app_with_admin("Alpha", 3).await;
    let (una, _) = t.add_user(&a, &ada, "una@example.com").await;
    t.deliver_mail().await;
    let r = t
        .patch(
            &format!("/api/v1/apps/{a}/members/{una}"),
            Some(&ada),
            json!({"admin": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mails = t.deliver_mail().await;
    let own = mails
        .iter()
        .find(|m| m.to == "una@example.com")
        .expect("notice to the member");
    assert!(
        own.subject.contains("now an admin of Alpha"),
        "{}",
        own.subject
    );
    assert!(own.text.contains("Ada"), "{}", own.text);
    // and only that: not also the admins' notification about themselves
    assert_eq!(
        mails.iter().filter(|m| m.to == "una@example.com").count(),
        1,
        "{mails:?}"
    );

    let r = t
        .post(
            &format!("/api/v1/apps/{a}/seats"),
            Some(&ada),
            json!({"quantity": 2}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let mails = t.deliver_mail().await;
    let receipt = mails
        .iter()
        .find(|m| m.subject.starts_with("Receipt: 2 seats for Alpha"))
        .expect("a receipt");
    assert_eq!(receipt.to, format!("admin@alpha.test"));
    assert!(
        receipt.text.contains("Seats in the app now: 5"),
        "{}",
        receipt.text
    );
}

pub(super) async fn an_unanswered_invitation_is_reminded_once_and_both_links_work(t: TestApp) {
    let (a, ada) = t.app_with_admin("Alpha", 5).await;
    let r = t.invite(&a, &ada, "slow@example.com", "user", false).await;
    let first = r.body["accept_url"].as_str().expect("url").to_string();
    let r2 = t.invite(&a, &ada, "quiet@example.com", "user", false).await;
    assert_eq!(r2.status, StatusCode::CREATED);
    t.deliver_mail().await;
    // nothing is due yet
    assert_eq!(
        t.services
            .send_due_reminders(t.now())
            .await
            .expect("remind"),
        0
    );
    // a day before expiry (7-day invitations): one reminder each, never a second
    t.clock.advance(Duration::days(6) + Duration::hours(1));
    assert_eq!(
        t.services
            .send_due_reminders(t.now())
            .await
            .expect("remind"),
        2
    );
    assert_eq!(
        t.services
            .send_due_reminders(t.now())
            .await
            .expect("remind"),
        0
    );
    let mails = t.deliver_mail().await;
    let reminder = mails
        .iter()
        .find(|m| m.to == "slow@example.com")
        .expect("reminder");
    assert!(
        reminder.subject.starts_with("Reminder:"),
        "{}",
        reminder.subject
    );
    let link = roster_testkit::link_token(reminder, "/invite/");
    assert_ne!(format!("{}/invite/{link}", t.addr), first);
    // the reminder's own link works, and so does the first one (until one is used)
    let info = t.get(&format!("/api/v1/invitations/{link}"), None).await;
    assert_eq!(info.status, StatusCode::OK, "{:?}", info.body);
    let first_token = first.rsplit('/').next().expect("token");
    let info = t
        .get(&format!("/api/v1/invitations/{first_token}"), None)
        .await;
    assert_eq!(info.status, StatusCode::OK);
    let acc = t.accept_new(&link, "Slow", GOOD_PASSWORD).await;
    assert_eq!(acc.status, StatusCode::CREATED, "{:?}", acc.body);
    let again = t.accept_new(first_token, "Slow", GOOD_PASSWORD).await;
    assert!(again.status.is_client_error());

    // an app that turned reminders off sends none
    let (b, bea) = t.app_with_admin("Beta", 5).await;
    let r = t
        .patch(
            &format!("/api/v1/apps/{b}/notifications"),
            Some(&bea),
            json!({"invitation_reminders": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    t.invite(&b, &bea, "none@example.com", "user", false).await;
    t.deliver_mail().await;
    t.clock.advance(Duration::days(6) + Duration::hours(1));
    assert_eq!(
        t.services
            .send_due_reminders(t.now())
            .await
            .expect("remind"),
        0
    );
}

pub(super) async fn an_invitation_shows_what_became_of_its_email(t: TestApp) {
    let (a, ada) = t.app_with_admin("Alpha", 5).await;
    // refused for good: undeliverable with the server's reply, not retried
    t.mailer.refuse_next(1);
    let r = t.invite(&a, &ada, "typo@exmaple.com", "user", false).await;
    let inv = r.body["id"].as_str().expect("id").to_string();
    t.deliver_mail().await;
    let item = t.invitation_in_list(&a, &ada, &inv).await;
    assert_eq!(item["delivery"]["state"], "undeliverable", "{item}");
    assert!(
        item["delivery"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("550")
    );
    // the Users page says so too
    let page = t
        .client
        .get(format!("{}/app/{a}/admin/users", t.addr))
        .header("cookie", format!("roster_session={ada}"))
        .send()
        .await
        .expect("page");
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("Email undeliverable"), "{html}");
    assert!(html.contains("550"));
    assert!(html.contains("/correct\">Correct address</a>"));

    // the admin corrects the address and resends (API)
    let r = t
        .post(
            &format!("/api/v1/apps/{a}/invitations/{inv}/resend"),
            Some(&ada),
            json!({"email": "typo@example.com"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["email"], "typo@example.com");
    let mails = t.deliver_mail().await;
    assert!(mails.iter().any(|m| m.to == "typo@example.com"));
    let list = t
        .get(&format!("/api/v1/apps/{a}/invitations"), Some(&ada))
        .await;
    let newest = &list.body["items"][0];
    assert_eq!(newest["email"], "typo@example.com");
    assert_eq!(newest["delivery"]["state"], "delivered", "{newest}");
    // the seat moved with it: one held for the corrected invitation, none for the typo
    t.assert_seats_consistent(&a).await;
    assert_eq!(t.seats(&a, &ada).await["used"], 2);

    // a temporary failure shows as retrying, with the next try
    t.mailer.fail_next(1);
    let r = t.invite(&a, &ada, "later@example.com", "user", false).await;
    let later = r.body["id"].as_str().expect("id").to_string();
    t.deliver_mail().await;
    let item = t.invitation_in_list(&a, &ada, &later).await;
    assert_eq!(item["delivery"]["state"], "retrying", "{item}");
    assert!(item["delivery"]["next_attempt_at"].is_string());
}

pub(super) async fn a_sign_in_from_a_new_browser_is_told_to_the_owner(t: TestApp) {
    let (_a, _ada) = t.app_with_admin("Alpha", 3).await;
    let login = |ua: &'static str| {
        let t = &t;
        async move {
            let r = t
                .client
                .post(format!("{}/api/v1/session", t.addr))
                .header("user-agent", ua)
                .json(&json!({"email": "admin@alpha.test", "password": GOOD_PASSWORD}))
                .send()
                .await
                .expect("login");
            assert_eq!(r.status(), StatusCode::OK);
        }
    };
    login("Firefox/140 (Linux)").await;
    let mails = t.deliver_mail().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].subject.contains("New sign-in"),
        "{}",
        mails[0].subject
    );
    assert!(
        mails[0].text.contains("Firefox/140 (Linux)"),
        "{}",
        mails[0].text
    );
    assert!(mails[0].text.contains("/forgot-password"));
    // the same browser again: nothing
    login("Firefox/140 (Linux)").await;
    assert!(t.deliver_mail().await.is_empty());
    // another one: told again
    login("curl/8.5").await;
    let mails = t.deliver_mail().await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("curl/8.5"));
}
