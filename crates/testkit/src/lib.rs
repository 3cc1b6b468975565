//! Test harness: `spawn_app(backend)` runs a real Roster on port 0 against a fresh database,
//! with a capturing mailer and a controllable clock. Also the store conformance suite and an
//! SMTP sink ([`smtp::SmtpSink`]).

mod bulk;
mod images;
pub use bulk::bulk_rows;
pub use images::PNG_1X1;
pub mod conformance;
pub mod pages;
pub mod smtp;
pub mod webhook_sink;

/// Runs each named `async fn(TestApp)` on every backend: a `sqlite::NAME` test and a
/// `postgres::NAME` test, the latter ignored (with the reason) when PostgreSQL is not configured.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::spawn_app($crate::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[cfg_attr(not(roster_postgres), ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres")]
                async fn $name() {
                    super::$name($crate::spawn_app($crate::Backend::Postgres).await).await
                }
            )*
        }
    };
}

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use roster_core::Services;
use roster_core::mailer::{MailError, Mailer, OutgoingEmail};
use roster_core::service::CreateApp;
use roster_core::store::Store;
use roster_core::types::AppId;
use roster_core::{Ctx, Settings};
use roster_mail::{OutboxWorker, Renderer, RetryPolicy};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// A password that meets the default policy.
pub const GOOD_PASSWORD: &str = "Blue-Kettle-42";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests may use (each test creates and drops its own database).
pub const POSTGRES_ENV: &str = "ROSTER_TEST_POSTGRES_URL";

/// Keeps a test database alive; removes it when dropped.
pub enum DbGuard {
    /// Another node's database: its first node owns it.
    Shared,
    Dir(tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

async fn fresh_postgres(admin_url: &str) -> (Arc<dyn Store>, String, DbGuard) {
    use sqlx::Connection;
    let name = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to ROSTER_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut c)
        .await
        .expect("create test database");
    let guard = DbGuard::Postgres {
        admin_url: admin_url.to_string(),
        name: name.clone(),
    };
    let mut url = url::Url::parse(admin_url).expect("postgres url");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let store = roster::open_store(&url).await.expect("open postgres");
    (store, url, guard)
}

/// Records every email; can be told to fail the next N sends.
#[derive(Default)]
pub struct CapturingMailer {
    sent: Mutex<Vec<OutgoingEmail>>,
    fail_next: AtomicUsize,
    permanent: std::sync::atomic::AtomicBool,
}

impl CapturingMailer {
    /// The next `n` sends fail as a server saying "try again later" (451).
    pub fn fail_next(&self, n: usize) {
        self.permanent.store(false, Ordering::SeqCst);
        self.fail_next.store(n, Ordering::SeqCst);
    }
    /// The next `n` sends are refused for good (550).
    pub fn refuse_next(&self, n: usize) {
        self.permanent.store(true, Ordering::SeqCst);
        self.fail_next.store(n, Ordering::SeqCst);
    }
    pub fn sent(&self) -> Vec<OutgoingEmail> {
        self.sent.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Mailer for CapturingMailer {
    async fn send(&self, e: &OutgoingEmail) -> Result<(), MailError> {
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            if self.permanent.load(Ordering::SeqCst) {
                return Err(MailError::permanent(
                    "simulated SMTP refusal: 550 no such user",
                ));
            }
            return Err(MailError::temporary(
                "simulated SMTP failure: 451 try again later",
            ));
        }
        self.sent
            .lock()
            .map_err(|_| MailError::temporary("poisoned"))?
            .push(e.clone());
        Ok(())
    }
}

/// A clock that starts at the real time and moves only when told.
#[derive(Clone)]
pub struct TestClock {
    start: OffsetDateTime,
    offset_ms: Arc<AtomicI64>,
}

impl TestClock {
    pub fn new() -> Self {
        TestClock {
            start: OffsetDateTime::now_utc(),
            offset_ms: Arc::new(AtomicI64::new(0)),
        }
    }
    pub fn now(&self) -> OffsetDateTime {
        self.start + Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
    pub fn advance(&self, d: Duration) {
        self.offset_ms
            .fetch_add(d.whole_milliseconds() as i64, Ordering::SeqCst);
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

pub struct TestApp {
    pub addr: String,
    pub services: Arc<Services>,
    pub store: Arc<dyn Store>,
    pub mailer: Arc<CapturingMailer>,
    pub worker: OutboxWorker,
    /// The webhook worker (runs only when asked: [`TestApp::deliver_webhooks`]).
    pub webhooks: roster_webhooks::WebhookWorker,
    pub clock: TestClock,
    pub client: reqwest::Client,
    pub db_url: String,
    delivered: AtomicUsize,
    _dir: DbGuard,
}

/// A response as tests want it.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub set_cookie: Option<String>,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// A fresh, migrated database of the backend. Panics when PostgreSQL is asked for and
/// `ROSTER_TEST_POSTGRES_URL` is unset: such tests carry
/// `#[cfg_attr(not(roster_postgres), ignore = ...)]` (see build.rs), so they only run when it is.
pub async fn fresh_store(backend: Backend) -> (Arc<dyn Store>, String, DbGuard) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite:{}", dir.path().join("roster.db").display());
            let store = roster::open_store(&url).await.expect("open sqlite");
            (store, url, DbGuard::Dir(dir))
        }
        Backend::Postgres => {
            let admin = std::env::var(POSTGRES_ENV)
                .expect("PostgreSQL tests need ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres");
            fresh_postgres(&admin).await
        }
    }
}

pub fn test_renderer(base_url: &str) -> Renderer {
    Renderer::new("Roster", base_url, "Roster <no-reply@roster.test>")
        .expect("built-in mail templates")
}

/// Start a Roster server on 127.0.0.1:0 against a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    let (store, db_url, dir) = fresh_store(backend).await;
    spawn_on(store, db_url, dir).await
}

pub async fn spawn_on(store: Arc<dyn Store>, db_url: String, dir: DbGuard) -> TestApp {
    spawn_with_clock(store, db_url, dir, TestClock::new()).await
}

/// Like [`spawn_app`], but the server believes its public base URL is `base_url` (e.g.
/// `https://roster.example`: secure cookies, HSTS). It still listens on plain http at `addr`, so
/// a cookie jar will not send its `Secure` cookies back: send them by hand.
pub async fn spawn_app_with_base(backend: Backend, base_url: &str) -> TestApp {
    let (store, db_url, dir) = fresh_store(backend).await;
    spawn_with(store, db_url, dir, TestClock::new(), Some(base_url)).await
}

pub async fn spawn_with_clock(
    store: Arc<dyn Store>,
    db_url: String,
    dir: DbGuard,
    clock: TestClock,
) -> TestApp {
    roster_webhooks::install_crypto_provider();
    spawn_with(store, db_url, dir, clock, None).await
}

/// Start a server; its base URL is `base_url`, or its own `http://` address.
async fn spawn_with(
    store: Arc<dyn Store>,
    db_url: String,
    dir: DbGuard,
    clock: TestClock,
    base_url: Option<&str>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let local = listener.local_addr().expect("addr");
    let addr = format!("http://{local}");
    // `{port}` in a base URL is this server's port (e.g. `http://localhost:{port}`, which
    // passkeys need: a WebAuthn relying party is a host name, never an IP address)
    let base = base_url.map(|b| b.replace("{port}", &local.port().to_string()));
    let settings = Settings {
        public_url: base.clone().unwrap_or_else(|| addr.clone()),
        // one key for every node of a test, as `secret_key` is shared in production
        secret_key: roster_core::sealed::SecretKey::from_bytes(
            *b"roster-testkit-shared-secret-key",
        ),
        // notifications are due at once; the tests' worker runs only when asked
        // (`deliver_mail`), so what is queued before that is still grouped
        notify_group_window: time::Duration::ZERO,
        // the tests' webhook receivers listen on 127.0.0.1 over plain http
        webhooks_allow_private: true,
        ..Settings::default()
    };
    let services = Arc::new(Services::new(store.clone(), settings).expect("services"));
    let mut state = roster_web::AppState::new(services.clone(), base.as_deref().unwrap_or(&addr))
        .with_shared_keys()
        .await
        .expect("server keys");
    let c = clock.clone();
    state.clock = Arc::new(move || c.now());
    // as in production: one access-log line per request
    let router =
        roster_web::router(state).layer(axum::middleware::from_fn(roster::access_log::access_log));
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    let mailer = Arc::new(CapturingMailer::default());
    let worker = OutboxWorker::new(
        store.clone(),
        mailer.clone(),
        test_renderer(&addr),
        RetryPolicy::default(),
    );
    let c = clock.clone();
    let webhooks = roster_webhooks::WebhookWorker::new(
        services.clone(),
        &format!("test-{}", uuid::Uuid::now_v7()),
        true,
        Arc::new(move || c.now()),
    )
    .expect("webhook worker");
    TestApp {
        addr,
        services,
        store,
        mailer,
        worker,
        webhooks,
        clock,
        client: reqwest::Client::new(),
        db_url,
        delivered: AtomicUsize::new(0),
        _dir: dir,
    }
}

/// A second, fully separate Roster node (own pool, services, worker, mailer, listener) on the
/// same database as `first`.
pub async fn spawn_second_node(first: &TestApp) -> TestApp {
    let store = roster::open_store(&first.db_url)
        .await
        .expect("open second node");
    // both nodes share one clock
    spawn_with_clock(
        store,
        first.db_url.clone(),
        DbGuard::Shared,
        first.clock.clone(),
    )
    .await
}

/// The accept token inside an invitation email.
pub fn token_from(email: &OutgoingEmail) -> String {
    let i = email.text.find("/invite/").expect("link in email") + "/invite/".len();
    email.text[i..]
        .split_whitespace()
        .next()
        .expect("token")
        .to_string()
}

/// The path segment after `marker` in an email (e.g. the token of `/reset-password/`).
pub fn link_token(email: &OutgoingEmail, marker: &str) -> String {
    let i = email.text.find(marker).expect("link in email") + marker.len();
    email.text[i..]
        .split_whitespace()
        .next()
        .expect("token")
        .to_string()
}

/// The 8-digit code of a password reset email.
pub fn reset_code(email: &OutgoingEmail) -> String {
    link_token(email, "Your code: ")
}

impl TestApp {
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn ctx(&self) -> Ctx {
        Ctx::at(self.now())
    }

    /// Run the outbox worker and return the emails delivered by this call.
    pub async fn deliver_mail(&self) -> Vec<OutgoingEmail> {
        self.worker.drain(self.now()).await.expect("drain outbox");
        let all = self.mailer.sent();
        let seen = self.delivered.swap(all.len(), Ordering::SeqCst);
        all[seen..].to_vec()
    }

    /// Run the webhook worker once over what is due; returns how many attempts it made.
    pub async fn deliver_webhooks(&self) -> usize {
        self.webhooks.drain().await.expect("deliver webhooks")
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut rb = self
            .client
            .request(method, format!("{}{}", self.addr, path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.expect("request");
        Self::resp(res).await
    }

    pub async fn resp(res: reqwest::Response) -> Resp {
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let set_cookie = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            content_type,
            set_cookie,
            retry_after,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::PATCH, path, token, Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, token, None).await
    }

    /// Operator creates an app; returns its App ID and the first admin's accept token.
    pub async fn create_app(
        &self,
        name: &str,
        seats: i64,
        admin_email: &str,
        first: &str,
    ) -> (AppId, String) {
        let (app, issued) = self
            .services
            .create_app(
                &self.ctx(),
                CreateApp {
                    name: name.into(),
                    seats,
                    admin_email: admin_email.into(),
                    admin_first_name: first.into(),
                    admin_last_name: None,
                },
            )
            .await
            .expect("create app");
        (app.app_id, issued.token)
    }

    /// Accept with a new ID through the API; returns the response.
    pub async fn accept_new(&self, token: &str, first: &str, password: &str) -> Resp {
        self.post(
            &format!("/api/v1/invitations/{token}/accept"),
            None,
            json!({
                "first_name": first,
                "last_name": "Tester",
                "password": password,
                "security_question": "first_pet_name",
                "security_answer": "  Rex ",
                "accept_terms": true
            }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/session",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// A session token for `email`, or a panic.
    pub async fn login_token(&self, email: &str, password: &str) -> String {
        let r = self.login(email, password).await;
        assert_eq!(r.status, StatusCode::OK, "login failed: {:?}", r.body);
        r.body["token"].as_str().expect("token").to_string()
    }

    /// An app with `seats` seats whose admin (`admin@<name>.test`) has accepted; returns the
    /// App ID and the admin's session token.
    pub async fn app_with_admin(&self, name: &str, seats: i64) -> (AppId, String) {
        let email = format!("admin@{}.test", name.to_lowercase());
        let (app, token) = self.create_app(name, seats, &email, "Ada").await;
        let r = self.accept_new(&token, "Ada", GOOD_PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED, "accept failed: {:?}", r.body);
        let session = r.body["token"].as_str().expect("token").to_string();
        self.deliver_mail().await;
        (app, session)
    }

    /// Invite through the API.
    pub async fn invite(
        &self,
        app: &AppId,
        admin: &str,
        email: &str,
        kind: &str,
        is_admin: bool,
    ) -> Resp {
        self.post(
            &format!("/api/v1/apps/{app}/invitations"),
            Some(admin),
            json!({"email": email, "first_name": "Someone", "kind": kind, "admin": is_admin}),
        )
        .await
    }

    /// Invite a user and have them accept with a new ID; returns their member id and session.
    pub async fn add_user(&self, app: &AppId, admin: &str, email: &str) -> (String, String) {
        let r = self.invite(app, admin, email, "user", false).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let member = r.body["member_id"].as_str().expect("member").to_string();
        let url = r.body["accept_url"].as_str().expect("url");
        let token = url.rsplit('/').next().expect("token").to_string();
        let a = self.accept_new(&token, "Una", GOOD_PASSWORD).await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        (member, a.body["token"].as_str().expect("token").to_string())
    }

    /// Invite an existing ID (`email`, password [`GOOD_PASSWORD`]) to `app` as `kind` and have
    /// it accept with its password.
    pub async fn join_with_password(&self, app: &AppId, admin: &str, email: &str, kind: &str) {
        let r = self.invite(app, admin, email, kind, false).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let url = r.body["accept_url"].as_str().expect("url");
        let token = url.rsplit('/').next().expect("token");
        let r = self
            .post(
                &format!("/api/v1/invitations/{token}/accept"),
                None,
                json!({"password": GOOD_PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }

    /// The invitation `id` as `GET …/invitations` (first page) lists it, or a panic.
    pub async fn invitation_in_list(&self, app: &AppId, admin: &str, id: &str) -> Value {
        let list = self
            .get(&format!("/api/v1/apps/{app}/invitations"), Some(admin))
            .await;
        list.body["items"]
            .as_array()
            .and_then(|v| v.iter().find(|i| i["id"] == id).cloned())
            .unwrap_or_else(|| panic!("invitation {id} not listed: {}", list.body))
    }

    pub async fn seats(&self, app: &AppId, admin: &str) -> Value {
        self.get(&format!("/api/v1/apps/{app}/seats"), Some(admin))
            .await
            .body
    }

    /// The held-seat counter equals a recount from member rows.
    pub async fn assert_seats_consistent(&self, app: &AppId) {
        let mut r = self.store.read().await.expect("read");
        let a = r.get_app(app).await.expect("get").expect("app");
        let recount = r.recount_seats_held(app).await.expect("recount");
        assert_eq!(a.seats_held, recount, "seat counter drifted");
        assert!(a.seats_held <= a.seats_total(), "seat invariant broken");
    }
}

/// Run SQL (one or more statements, no results) on the test database through the test's own
/// connection, bypassing the store: seeding rows in old formats, refreshing statistics.
pub async fn raw_sql(db_url: &str, sql: &str) {
    if let Some(path) = db_url.strip_prefix("sqlite:") {
        let c = rusqlite::Connection::open(path).expect("open sqlite");
        c.busy_timeout(std::time::Duration::from_secs(10))
            .expect("busy timeout");
        c.execute_batch(sql).expect("raw sql");
    } else {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(db_url)
            .await
            .expect("connect postgres");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut c)
            .await
            .expect("raw sql");
    }
}

/// An authenticator app for tests, written from RFC 6238 / RFC 4226 independently of Roster's
/// code: HMAC-SHA-1 over the 30-second counter, dynamic truncation, 6 digits.
pub fn totp_code(secret_base32: &str, unix_time: i64) -> String {
    use hmac::{Hmac, Mac};
    let secret = base32_decode(secret_base32);
    let counter = (unix_time / 30) as u64;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&secret).expect("hmac key");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = ((u32::from(h[offset]) & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    format!("{:06}", bin % 1_000_000)
}

/// RFC 4648 base32 (upper case, padding optional).
fn base32_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = A
            .iter()
            .position(|x| *x == c.to_ascii_uppercase())
            .expect("base32") as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

#[cfg(test)]
mod totp_tests {
    #[test]
    fn rfc_6238_vectors() {
        // "12345678901234567890" in base32
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(super::totp_code(secret, 59), "287082");
        assert_eq!(super::totp_code(secret, 1111111109), "081804");
        assert_eq!(super::totp_code(secret, 2000000000), "279037");
    }
}
