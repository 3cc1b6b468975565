//! The seed journeys in a real Chromium (Debian's `chromium` + `chromium-driver`), at laptop and
//! phone size. Enabled by ROSTER_TEST_BROWSER=1 (`.ci/run` sets it after installing the packages);
//! listed as ignored, with that reason, otherwise. Screenshots go to $ROSTER_SCREENSHOT_DIR when set.

use fantoccini::{Client, ClientBuilder, Locator};
use roster_testkit::PNG_1X1;
use roster_testkit::{Backend, GOOD_PASSWORD, TestApp, spawn_app, token_from};
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SIZES: [(u32, u32); 2] = [(1280, 800), (375, 667)];

struct Browser {
    client: Client,
    driver: Child,
    profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Chromium outlives a killed chromedriver, so the whole process group goes (chromedriver
    /// runs in its own), then anything still using this test's profile folder.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .args(["-9", "-f", &self.profile.path().display().to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

async fn browser(width: u32, height: u32) -> Browser {
    // two TLS providers are linked in test builds; the WebDriver client needs one chosen
    let _ = rustls::crypto::ring::default_provider().install_default();
    // a free port for chromedriver: bind 0, read it, release it
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver (apt-get install chromium-driver)");
    let profile = tempfile::tempdir().expect("profile dir");
    // headless windows have a minimum width, so phone sizes are emulated device metrics
    let mobile = json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}});
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--hide-scrollbars",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let mut caps = caps;
    if width < 500 {
        caps["goog:chromeOptions"]["mobileEmulation"] = mobile;
    }
    let caps = match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("a literal object"),
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..50 {
        match ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Browser {
                    client,
                    driver,
                    profile,
                };
            }
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    panic!("chromedriver did not start: {last:?}");
}

async fn shot(c: &Client, name: &str, w: u32) {
    if let Ok(dir) = std::env::var("ROSTER_SCREENSHOT_DIR") {
        let png = c.screenshot().await.expect("screenshot");
        let _ = std::fs::create_dir_all(&dir);
        std::fs::write(format!("{dir}/{name}-{w}.png"), png).expect("write screenshot");
    }
}

async fn fill(c: &Client, id: &str, text: &str) {
    let e = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(id))
        .await
        .expect(id);
    e.clear().await.expect("clear");
    e.send_keys(text).await.expect("type");
}

async fn click(c: &Client, css: &str) {
    let e = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .expect(css);
    // bring it into view as a person would scroll to it
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![serde_json::to_value(&e).expect("el")],
    )
    .await
    .expect("scroll");
    e.click().await.expect("click");
}

async fn text(c: &Client) -> String {
    for _ in 0..50 {
        if let Ok(body) = c.find(Locator::Css("body")).await
            && let Ok(t) = body.text().await
        {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    String::new()
}

/// The page text once it contains `needle` (navigation after a click is asynchronous).
async fn text_with(c: &Client, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = text(c).await;
        if last.contains(needle) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

async fn wait_path(c: &Client, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(u) = c.current_url().await {
            last = u.path().to_string();
            if last.contains(needle) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

async fn login(c: &Client, t: &TestApp, email: &str) {
    c.goto(&format!("{}/login", t.addr)).await.expect("goto");
    fill(c, "email", email).await;
    fill(c, "password", GOOD_PASSWORD).await;
    click(c, "form[action='/login'] button[type=submit]").await;
    wait_path(c, "/apps").await;
}

/// Every checklist rule that is ticked.
async fn ticked(c: &Client) -> Vec<String> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll('#rules li.met')).map(li => li.dataset.rule);",
            vec![],
        )
        .await
        .expect("js");
    serde_json::from_value(v).unwrap_or_default()
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn seed_part_2_admin_adds_rohit_who_creates_his_id() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        let (app, _) = t.app_with_admin("Acme", 2).await;
        let b = browser(w, h).await;
        let c = &b.client;
        login(c, &t, "admin@acme.test").await;
        c.goto(&format!("{}/app/{app}/admin/users", t.addr))
            .await
            .expect("users");
        shot(c, "users", w).await;
        click(c, "a[href$='/admin/users/add']").await;
        fill(c, "first_name", "Rohit").await;
        fill(c, "email", "rohitg@clientengagementacademy.com").await;
        click(c, "input[name=admin][value=yes]").await;
        shot(c, "add-users", w).await;
        click(c, "form:not([action]) button[type=submit]").await;
        let page = text_with(c, "Invitation sent").await;
        assert!(
            page.contains("Invitation sent to rohitg@clientengagementacademy.com."),
            "{page}"
        );
        assert!(page.contains("Invited"));

        // Rohit opens the link in his own browser
        let mail = t.deliver_mail().await;
        let token = token_from(
            mail.iter()
                .find(|m| m.to.starts_with("rohitg"))
                .expect("mail"),
        );
        let rb = browser(w, h).await;
        let r = &rb.client;
        r.goto(&format!("{}/invite/{token}", t.addr))
            .await
            .expect("invite");
        assert!(text_with(r, "Acme").await.contains("Acme"));
        let pw = r.find(Locator::Id("password")).await.expect("password");
        pw.send_keys("a").await.expect("type");
        assert_eq!(ticked(r).await, vec!["lower"]);
        pw.send_keys("B").await.expect("type");
        pw.send_keys("3").await.expect("type");
        assert_eq!(ticked(r).await, vec!["upper", "lower", "digit"]);
        pw.send_keys("cdefg").await.expect("type");
        assert_eq!(ticked(r).await, vec!["upper", "lower", "digit", "length"]);
        // Show reveals the password
        assert_eq!(
            pw.attr("type").await.expect("attr").as_deref(),
            Some("password")
        );
        click(r, "#show").await;
        assert_eq!(
            pw.attr("type").await.expect("attr").as_deref(),
            Some("text")
        );
        pw.clear().await.expect("clear");
        pw.send_keys(GOOD_PASSWORD).await.expect("type");
        fill(r, "first_name", "Rohit").await;
        fill(r, "last_name", "G").await;
        r.execute(
            "document.getElementById('security_question').value = 'first_car';",
            vec![],
        )
        .await
        .expect("select");
        fill(r, "security_answer", "Volvo").await;
        click(r, "input[name=accept_terms]").await;
        shot(r, "create-id", w).await;

        // Save & continue is reachable without horizontal scrolling, inside the viewport
        let save = r.find(Locator::Id("save")).await.expect("save");
        r.execute(
            "arguments[0].scrollIntoView({block: 'nearest'});",
            vec![serde_json::to_value(&save).expect("el")],
        )
        .await
        .expect("scroll");
        let (x, y, bw, bh) = save.rectangle().await.expect("rect");
        let inner = r
            .execute("return [window.innerWidth, window.innerHeight, document.documentElement.scrollWidth];", vec![])
            .await
            .expect("viewport");
        let vw = inner[0].as_f64().expect("w");
        let vh = inner[1].as_f64().expect("h");
        let sw = inner[2].as_f64().expect("sw");
        assert!(
            sw <= vw + 1.0,
            "the page scrolls sideways at {w}px: {sw} > {vw}"
        );
        let (sx, sy): (f64, f64) = {
            let v = r
                .execute("return [window.scrollX, window.scrollY];", vec![])
                .await
                .expect("scroll");
            (v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0))
        };
        let (left, top) = (x - sx, y - sy);
        assert!(
            left >= -0.5 && left + bw <= vw + 0.5 && top >= -0.5 && top + bh <= vh + 0.5,
            "Save & continue outside the {vw}x{vh} viewport: ({left}, {top}, {bw}, {bh})"
        );

        click(r, "#save").await;
        let path = wait_path(r, "/setup/1").await;
        assert!(path.contains(app.as_str()), "{path}");

        // initial setup: three steps with a progress indicator
        assert!(
            text_with(r, "Welcome")
                .await
                .contains("Hi Rohit! Welcome to Roster.")
        );
        shot(r, "setup-1", w).await;
        fill(r, "phone", "+91 80 1234 5678").await;
        r.execute(
            "document.getElementById('time_zone').value = 'Asia/Kolkata';",
            vec![],
        )
        .await
        .expect("zone");
        click(r, "button[value=save]").await;
        wait_path(r, "/setup/2").await;
        fill(
            r,
            "signature_html",
            "<b>Rohit</b> · Client Engagement Academy",
        )
        .await;
        fill(r, "signature_text", "Rohit, Client Engagement Academy").await;
        click(r, "button[value=preview]").await;
        // the preview is a new page: wait for it rather than read the old one
        assert!(
            r.wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::Css("iframe[sandbox]"))
                .await
                .is_ok(),
            "preview shown"
        );
        shot(r, "setup-2", w).await;
        click(r, "button[value=save]").await;
        wait_path(r, "/setup/3").await;
        let png = tempfile::Builder::new()
            .suffix(".png")
            .tempfile()
            .expect("png");
        std::fs::write(png.path(), PNG_1X1).expect("write png");
        r.find(Locator::Id("logo"))
            .await
            .expect("file input")
            .send_keys(&png.path().display().to_string())
            .await
            .expect("choose file");
        click(r, "button[value=save]").await;
        let page = text_with(r, "Welcome to Acme").await;
        assert!(page.contains("Hi Rohit! Welcome to Acme."), "{page}");
        let path = r.current_url().await.expect("url").path().to_string();
        assert_eq!(path, format!("/app/{app}"));
        assert!(
            t.deliver_mail()
                .await
                .iter()
                .any(|m| m.subject.contains("account information"))
        );
        shot(r, "welcome", w).await;
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn seed_part_1_partner_with_an_existing_id_joins_and_sees_both_apps() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        let (acme, admin) = t.app_with_admin("Acme", 2).await;
        let (_agency, _) = t.app_with_admin("Agency", 2).await;
        let seats_before = t.seats(&acme, &admin).await["used"].clone();
        let b = browser(w, h).await;
        let c = &b.client;
        login(c, &t, "admin@acme.test").await;
        c.goto(&format!("{}/app/{acme}/admin/partners/add", t.addr))
            .await
            .expect("add partner");
        fill(c, "email", "admin@agency.test").await;
        click(c, "form:not([action]) button[type=submit]").await;
        assert!(
            text_with(c, "Invitation sent")
                .await
                .contains("Invitation sent to admin@agency.test.")
        );
        assert_eq!(
            t.seats(&acme, &admin).await["used"],
            seats_before,
            "a partner takes no seat"
        );

        let token = token_from(t.deliver_mail().await.last().expect("mail"));
        let pb = browser(w, h).await;
        let p = &pb.client;
        p.goto(&format!("{}/invite/{token}", t.addr))
            .await
            .expect("invite");
        fill(p, "login_password", GOOD_PASSWORD).await;
        shot(p, "join", w).await;
        click(p, "form[action$='/join'] button[type=submit]").await;
        assert!(wait_path(p, acme.as_str()).await.contains(acme.as_str()));
        p.goto(&format!("{}/apps", t.addr)).await.expect("apps");
        let page = text_with(p, "Agency").await;
        assert!(page.contains("Acme") && page.contains("Agency"), "{page}");
        shot(p, "apps", w).await;
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn no_seat_warning_then_buy_a_seat_sends_without_retyping() {
    for (w, h) in SIZES {
        let t = spawn_app(Backend::Sqlite).await;
        let (app, _) = t.app_with_admin("Acme", 1).await;
        let b = browser(w, h).await;
        let c = &b.client;
        login(c, &t, "admin@acme.test").await;
        c.goto(&format!("{}/app/{app}/admin/users/add", t.addr))
            .await
            .expect("add");
        fill(c, "first_name", "Third").await;
        fill(c, "email", "third@example.com").await;
        click(c, "form:not([action]) button[type=submit]").await;
        let page = text_with(c, "No seat available").await;
        assert!(page.contains("No seat available"), "{page}");
        shot(c, "no-seat", w).await;
        let kept = c
            .find(Locator::Id("email"))
            .await
            .expect("email")
            .prop("value")
            .await
            .expect("v");
        assert_eq!(
            kept.as_deref(),
            Some("third@example.com"),
            "the form is not lost"
        );
        click(c, "form[action$='/seats/buy'] button[type=submit]").await;
        let page = text_with(c, "Invitation sent").await;
        assert!(
            page.contains("Invitation sent to third@example.com."),
            "{page}"
        );
        assert!(page.contains("Seats: 2 used of 2"), "{page}");
    }
}

#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn a_form_posted_without_its_csrf_token_is_refused() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, _) = t.app_with_admin("Acme", 3).await;
    let b = browser(1280, 800).await;
    let c = &b.client;
    login(c, &t, "admin@acme.test").await;
    c.goto(&format!("{}/app/{app}/admin/users/add", t.addr))
        .await
        .expect("add");
    fill(c, "first_name", "Eve").await;
    fill(c, "email", "eve@example.com").await;
    c.execute(
        "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove());",
        vec![],
    )
    .await
    .expect("strip");
    click(c, "form:not([action]) button[type=submit]").await;
    assert!(
        text_with(c, "expired")
            .await
            .contains("This form has expired")
    );
    // nothing was sent to Eve (the browser's login itself is a "new sign-in" notice to Ada)
    let mails = t.deliver_mail().await;
    assert!(
        !mails.iter().any(|m| m.to == "eve@example.com"),
        "{mails:?}"
    );
}

/// Every form's primary button is reachable without sideways scrolling: at phone size, at laptop
/// size and at 200 % zoom of a 1280×800 window (a 640×400 CSS viewport).
#[tokio::test]
#[cfg_attr(
    not(roster_browser),
    ignore = "needs Chromium: install Debian chromium + chromium-driver and set ROSTER_TEST_BROWSER=1"
)]
async fn primary_buttons_fit_at_phone_laptop_and_200_percent_zoom() {
    let t = spawn_app(Backend::Sqlite).await;
    let (app, _) = t.app_with_admin("Acme", 3).await;
    let admin = t.login_token("admin@acme.test", GOOD_PASSWORD).await;
    let r = t
        .invite(&app, &admin, "new@example.com", "user", false)
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED);
    let token = token_from(t.deliver_mail().await.last().expect("mail"));
    for (w, h) in [(375, 667), (640, 400), (1280, 800)] {
        let b = browser(w, h).await;
        let c = &b.client;
        // anonymous pages
        for (path, button) in [
            (format!("/invite/{token}"), "#save"),
            (
                "/login".to_string(),
                "form[action='/login'] button[type=submit]",
            ),
        ] {
            c.goto(&format!("{}{path}", t.addr)).await.expect("goto");
            fits(c, button, &format!("{path} at {w}x{h}")).await;
        }
        login(c, &t, "admin@acme.test").await;
        for (path, button) in [
            (
                format!("/app/{app}/admin/users/add"),
                "form:not([action]) button[type=submit]",
            ),
            (
                format!("/app/{app}/admin/partners/add"),
                "form:not([action]) button[type=submit]",
            ),
            (format!("/app/{app}/setup/1"), "button[value=save]"),
            (format!("/app/{app}/setup/2"), "button[value=save]"),
            (format!("/app/{app}/setup/3"), "button[value=save]"),
            (
                format!("/app/{app}/admin/users"),
                "a[href$='/admin/users/add']",
            ),
        ] {
            c.goto(&format!("{}{path}", t.addr)).await.expect("goto");
            fits(c, button, &format!("{path} at {w}x{h}")).await;
        }
    }
}

async fn fits(c: &Client, css: &str, what: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on {what}"));
    c.execute(
        "arguments[0].scrollIntoView({block: 'nearest', inline: 'nearest'});",
        vec![serde_json::to_value(&e).expect("el")],
    )
    .await
    .expect("scroll");
    let v = c
        .execute(
            "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom, window.innerWidth, window.innerHeight, document.documentElement.scrollWidth];",
            vec![serde_json::to_value(&e).expect("el")],
        )
        .await
        .expect("rect");
    let n: Vec<f64> = serde_json::from_value(v).expect("numbers");
    let (l, r, top, bottom, vw, vh, sw) = (n[0], n[1], n[2], n[3], n[4], n[5], n[6]);
    assert!(
        sw <= vw + 1.0,
        "{what}: the page scrolls sideways ({sw} > {vw})"
    );
    assert!(
        l >= -0.5 && r <= vw + 0.5,
        "{what}: button outside horizontally ({l}..{r} of {vw})"
    );
    assert!(
        top >= -0.5 && bottom <= vh + 0.5,
        "{what}: button not visible after scrolling ({top}..{bottom} of {vh})"
    );
}

/// The frame every page shares, in the browser.
#[path = "browser/frame.rs"]
mod frame;

/// "Sign in with your Roster ID": the app picker and consent.
#[path = "browser/oidc.rs"]
mod oidc;

/// The operator console (J8).
#[path = "browser/operator.rs"]
mod operator;

/// Passkeys with Chromium's virtual authenticator.
#[path = "browser/passkeys.rs"]
mod passkeys;

/// Password reset, two-step verification and sessions, in the browser.
#[path = "browser/security.rs"]
mod security;
