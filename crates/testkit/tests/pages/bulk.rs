//! The "Invite a list" page: paste a list or upload a file (multipart, as a browser sends it),
//! follow the run's page until it shows every row's result.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use roster_testkit::TestApp;
use roster_testkit::pages::{Got, csrf, get, got, logged_in_browser};
use roster_testkit::{Backend, spawn_app};

async fn submit(b: &reqwest::Client, t: &TestApp, path: &str, form: Form) -> Got {
    got(b
        .post(format!("{}{path}", t.addr))
        .multipart(form)
        .send()
        .await
        .expect("post"))
    .await
}

/// Follow a run's page until it has finished.
async fn finished(b: &reqwest::Client, t: &TestApp, path: &str) -> Got {
    for _ in 0..200 {
        let page = get(b, t, path).await;
        if !page.html.contains("http-equiv=\"refresh\"") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the run did not finish");
}

#[tokio::test]
async fn an_admin_pastes_or_uploads_a_list_and_sees_each_rows_result() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, admin) = t.app_with_admin("Acme", 3).await;
    let b = logged_in_browser(&t, "admin@acme.test").await;
    let users = get(&b, &t, &format!("/app/{app}/admin/users")).await;
    assert!(
        users
            .html
            .contains(&format!("href=\"/app/{app}/admin/users/bulk\""))
    );
    let path = format!("/app/{app}/admin/users/bulk");
    let page = get(&b, &t, &path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let c = csrf(&page.html);

    // paste: two seats free, three users and a partner
    let list = "email,first_name,last_name,admin,kind\nann@example.com,Ann,,no,user\nbob@example.com,Bob,,,\ncid@example.com,Cid,,,\npat@partner.example,,,,partner\n";
    let r = submit(
        &b,
        &t,
        &path,
        Form::new()
            .text("csrf", c.clone())
            .text("list", list)
            .text("file", ""),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    assert!(
        r.location.starts_with(&format!("{path}/")),
        "{}",
        r.location
    );
    let done = finished(&b, &t, &r.location).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.html.contains("3 invited"), "{}", done.html);
    assert!(done.html.contains("1 not invited"));
    assert!(done.html.contains("1 more seat would cover"));
    assert!(done.html.contains("cid@example.com"));
    assert!(
        done.html.contains("Not invited: no seat available"),
        "{}",
        done.html
    );
    // refused rows come first
    assert!(done.html.find("cid@example.com") < done.html.find("ann@example.com"));
    t.assert_seats_consistent(&app).await;

    // upload a file
    let file = Part::bytes(b"email,first_name\nann@example.com,Ann\n".to_vec())
        .file_name("people.csv")
        .mime_str("text/csv")
        .expect("mime");
    let r = submit(
        &b,
        &t,
        &path,
        Form::new()
            .text("csrf", c.clone())
            .text("list", "")
            .part("file", file),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.html);
    let done = finished(&b, &t, &r.location).await;
    assert!(done.html.contains("0 invited"), "{}", done.html);
    assert!(done.html.contains("already pending"), "{}", done.html);

    // nothing sent, or no header row: the form again with the reason
    let r = submit(
        &b,
        &t,
        &path,
        Form::new().text("csrf", c.clone()).text("list", "  "),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("Paste a list or choose a file."));
    let r = submit(
        &b,
        &t,
        &path,
        Form::new()
            .text("csrf", c.clone())
            .text("list", "who,what\nx,y"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.html.contains("must name the columns"));
    assert!(r.html.contains("who,what"), "what was pasted is kept");
    // without the CSRF token nothing happens
    let r = submit(&b, &t, &path, Form::new().text("list", list)).await;
    assert!(r.status.is_client_error());

    // another app's admin, or a member, cannot see the run or the page
    let (other, _) = t.app_with_admin("Other", 2).await;
    let stranger = logged_in_browser(&t, "admin@other.test").await;
    let run = format!(
        "/app/{app}/admin/users/bulk/{}",
        r.location.rsplit('/').next().unwrap_or("")
    );
    assert_eq!(
        get(&stranger, &t, &path).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&stranger, &t, &run).await.status, StatusCode::NOT_FOUND);
    let other_run = run.replace(app.as_str(), other.as_str());
    assert_eq!(
        get(&stranger, &t, &other_run).await.status,
        StatusCode::NOT_FOUND
    );
    // a member who is not an admin
    t.post(
        &format!("/api/v1/apps/{app}/seats"),
        Some(&admin),
        serde_json::json!({"quantity": 1}),
    )
    .await;
    t.add_user(&app, &admin, "una@example.com").await;
    let member = logged_in_browser(&t, "una@example.com").await;
    assert_eq!(get(&member, &t, &run).await.status, StatusCode::NOT_FOUND);
}
