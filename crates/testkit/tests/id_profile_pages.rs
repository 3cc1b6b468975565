//! Over real HTTP (a browser-less client with a cookie jar), on every backend: the ID's profile
//! is set once and follows it into its next app; a seat request shows its outcome.

use reqwest::StatusCode;
use roster_core::model::{SeatEntryKind, SeatRequestStatus};
use roster_testkit::pages::{Got, accept_in_browser, csrf, get, got, post};
use roster_testkit::{GOOD_PASSWORD, TestApp, token_from};

roster_testkit::on_every_backend!(
    the_profile_set_up_in_app_a_is_not_asked_again_in_app_b,
    a_granted_seat_request_shows_granted_on_the_users_page,
);

async fn skip_logo(c: &reqwest::Client, t: &TestApp, path: &str, csrf: &str) -> Got {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("action", "skip");
    got(c
        .post(format!("{}{path}", t.addr))
        .multipart(form)
        .send()
        .await
        .expect("skip"))
    .await
}

async fn the_profile_set_up_in_app_a_is_not_asked_again_in_app_b(t: TestApp) {
    // Lee sets up app A: name, time zone, signature; skips the logo
    let (a, token) = t.create_app("Alpha", 2, "lee@alpha.test", "Lee").await;
    t.deliver_mail().await;
    let (b, done) = accept_in_browser(&t, &token, "Lee").await;
    assert_eq!(done.location, format!("/app/{a}/setup/1"));
    let s1 = get(&b, &t, &done.location).await;
    assert!(s1.html.contains("Step 1 of 3"), "{}", s1.html);
    let c = csrf(&s1.html);
    let r = post(
        &b,
        &t,
        &format!("/app/{a}/setup/1"),
        &[
            ("csrf", &c),
            ("action", "save"),
            ("first_name", "Lee"),
            ("last_name", "Sherron"),
            ("phone", ""),
            ("time_zone", "Europe/Berlin"),
        ],
    )
    .await;
    assert_eq!(r.location, format!("/app/{a}/setup/2"), "{}", r.html);
    let r = post(
        &b,
        &t,
        &format!("/app/{a}/setup/2"),
        &[
            ("csrf", &c),
            ("action", "save"),
            ("signature_html", "<b>Lee Sherron</b>"),
            ("signature_text", "Lee Sherron, Alpha sales"),
        ],
    )
    .await;
    assert_eq!(r.location, format!("/app/{a}/setup/3"));
    let r = skip_logo(&b, &t, &format!("/app/{a}/setup/3"), &c).await;
    assert_eq!(r.location, format!("/app/{a}"));
    let mails = t.deliver_mail().await;
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.contains("account information"))
            .count(),
        1
    );

    // Lee joins app B with the same ID
    let (beta, admin_b) = t.app_with_admin("Beta", 3).await;
    let inv = t
        .invite(&beta, &admin_b, "lee@alpha.test", "user", false)
        .await;
    assert_eq!(inv.status, StatusCode::CREATED, "{:?}", inv.body);
    let token = token_from(&t.deliver_mail().await[0]);
    let page = get(&b, &t, &format!("/invite/{token}")).await;
    let joined = post(
        &b,
        &t,
        &format!("/invite/{token}/join"),
        &[("csrf", &csrf(&page.html)), ("password", GOOD_PASSWORD)],
    )
    .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.html);
    assert_eq!(joined.location, format!("/app/{beta}/setup/1"));

    // B's setup passes over the details and signature: only the logo is asked
    let first = get(&b, &t, &joined.location).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location, format!("/app/{beta}/setup/3"));
    assert_eq!(
        get(&b, &t, &format!("/app/{beta}/setup/2")).await.location,
        format!("/app/{beta}/setup/3")
    );
    let s3 = get(&b, &t, &first.location).await;
    assert_eq!(s3.status, StatusCode::OK);
    assert!(s3.html.contains("Step 1 of 1"), "{}", s3.html);
    assert!(
        s3.html.contains("Hi Lee! Welcome to Roster."),
        "{}",
        s3.html
    );
    assert!(!s3.html.contains("name=\"time_zone\""));
    assert!(!s3.html.contains("name=\"signature_text\""));
    let r = skip_logo(&b, &t, &format!("/app/{beta}/setup/3"), &csrf(&s3.html)).await;
    assert_eq!(r.location, format!("/app/{beta}"));

    // the Account Information email still goes out, for B
    let mails = t.deliver_mail().await;
    let info = mails
        .iter()
        .find(|m| m.subject.contains("account information"))
        .expect("account information for B");
    assert!(info.text.contains(beta.as_str()), "{}", info.text);

    // B's profile page shows what was set up in A
    let prof = get(&b, &t, &format!("/app/{beta}/profile")).await;
    assert_eq!(prof.status, StatusCode::OK);
    assert!(prof.html.contains("Europe/Berlin"), "{}", prof.html);
    assert!(
        prof.html.contains("Lee Sherron, Alpha sales"),
        "{}",
        prof.html
    );
    assert!(prof.html.contains("Lee Sherron"));
    assert!(!prof.html.contains("not finished"));

    // a change made from B is the ID's, so A sees it too
    let e1 = get(&b, &t, &format!("/app/{beta}/setup/1?from=profile")).await;
    assert!(e1.html.contains("value=\"Europe/Berlin\" selected"));
    let r = post(
        &b,
        &t,
        &format!("/app/{beta}/setup/1?from=profile"),
        &[
            ("csrf", &csrf(&e1.html)),
            ("action", "save"),
            ("first_name", "Lee"),
            ("last_name", "Sherron"),
            ("phone", "+1 555 0100"),
            ("time_zone", "America/New_York"),
        ],
    )
    .await;
    assert_eq!(r.location, format!("/app/{beta}/profile"));
    let prof_a = get(&b, &t, &format!("/app/{a}/profile")).await;
    assert!(prof_a.html.contains("America/New_York") && prof_a.html.contains("+1 555 0100"));

    // the accessor other pages use for the viewer's time zone
    let session = t.login_token("lee@alpha.test", GOOD_PASSWORD).await;
    let p = t
        .services
        .authenticate(&t.ctx(), &session)
        .await
        .expect("auth");
    assert_eq!(
        t.services.identity_time_zone(&p).await.expect("tz"),
        Some("America/New_York".to_string())
    );
}

async fn a_granted_seat_request_shows_granted_on_the_users_page(t: TestApp) {
    let (app, token) = t.create_app("Acme", 1, "ada@acme.test", "Ada").await;
    let (admin, _) = accept_in_browser(&t, &token, "Ada").await;
    let form = get(&admin, &t, &format!("/app/{app}/admin/users/add")).await;
    let c = csrf(&form.html);
    let asked = post(
        &admin,
        &t,
        &format!("/app/{app}/admin/seats/request"),
        &[("csrf", &c)],
    )
    .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let users = get(&admin, &t, &format!("/app/{app}/admin/users")).await;
    assert!(users.html.contains("— pending"), "{}", users.html);

    let mut r = t.store.read().await.expect("read");
    let reqs = r.list_seat_requests(&app).await.expect("list");
    drop(r);
    assert_eq!(reqs.len(), 1);
    let (granted_app, req) = t
        .services
        .grant_seat_request(
            &t.ctx(),
            &app,
            reqs[0].id,
            Some(2),
            SeatEntryKind::Complimentary,
        )
        .await
        .expect("grant");
    assert_eq!(granted_app.seats_total(), 3);
    assert_eq!(req.status, SeatRequestStatus::Granted);
    assert_eq!(req.granted_quantity, Some(2));

    let day = t
        .now()
        .format(&time::macros::format_description!("[year]-[month]-[day]"))
        .expect("date");
    let users = get(&admin, &t, &format!("/app/{app}/admin/users")).await;
    assert!(
        users.html.contains(&format!("granted: 2 seats on {day}")),
        "{}",
        users.html
    );
    assert!(!users.html.contains("— pending"), "{}", users.html);
    assert!(users.html.contains("Seats: 1 used of 3"), "{}", users.html);

    // granting the same request again is refused, naming the request
    let again = t
        .services
        .grant_seat_request(&t.ctx(), &app, req.id, None, SeatEntryKind::Complimentary)
        .await;
    assert!(
        matches!(&again, Err(roster_core::Error::Invalid(f)) if f[0].field == "request"),
        "{again:?}"
    );
}
