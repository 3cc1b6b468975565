//! Migrations on a database made by an older schema, on every backend.
//!
//! - The previous release's data keeps working: a database at the previous release's last
//!   migration ([`PREVIOUS_RELEASE_LAST_MIGRATION`]), holding rows as that release wrote them, is
//!   opened by this release (which applies the newer migrations) and used through the HTTP API:
//!   its session authenticates, its members are listed, its queued invitation email goes out and
//!   the invitation is accepted. Rows an old node writes after the upgrade (a rolling upgrade)
//!   work too. When a release ships, bump the constant to its newest migration.
//! - The other way round: this release starts on a database that the next release has already
//!   migrated (an old node restarting during the next rolling upgrade, or a rollback).
//! - 0006_identity_profiles: each ID takes its most recently updated profile that has details or
//!   a signature (a newer, all-skipped one does not wipe them); that profile's member name
//!   becomes the ID's and every membership's; logos and "setup done" stay with their members.

use reqwest::StatusCode;
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use roster_testkit::{Backend, DbGuard, GOOD_PASSWORD};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The newest migration of the previous release: the schema the nodes still running that release
/// use while a cluster is upgraded. Bump it to the newest migration when a release ships.
const PREVIOUS_RELEASE_LAST_MIGRATION: i64 = 18;

#[path = "migrations/profiles_0006.rs"]
mod profiles_0006;

// ---------------------------------------------------------------------------------------------
// Migration machinery: a database at any version, as each store records it.

fn migrations_dir(backend: Backend) -> PathBuf {
    let crate_dir = match backend {
        Backend::Sqlite => "store-sqlite",
        Backend::Postgres => "store-postgres",
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("migrations")
}

/// `(version, name, file)` of each migration of a backend, in order (`0007_name.sql`).
fn migrations(backend: Backend) -> Vec<(i64, String, PathBuf)> {
    let mut all: Vec<_> = std::fs::read_dir(migrations_dir(backend))
        .expect("migrations folder")
        .map(|f| f.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| {
            let name = p.file_stem().expect("name").to_string_lossy().into_owned();
            let version = name
                .split('_')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("migration {name} does not start with its version"));
            (version, name, p)
        })
        .collect();
    all.sort();
    all
}

/// A new SQLite file with migrations up to `last` applied and recorded in `_roster_migrations`,
/// as `SqliteStore::migrate` does (the store applies the rest when it opens the file).
fn sqlite_schema_up_to(path: &Path, last: i64) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).expect("open");
    c.execute_batch(
        "PRAGMA foreign_keys = ON; \
         CREATE TABLE _roster_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, \
         applied_at INTEGER NOT NULL)",
    )
    .expect("migrations table");
    for (version, name, file) in migrations(Backend::Sqlite) {
        if version > last {
            break;
        }
        let sql = std::fs::read_to_string(&file).expect("read migration");
        c.execute_batch(&sql).expect(&name);
        c.execute(
            "INSERT INTO _roster_migrations VALUES (?1, ?2, 0)",
            rusqlite::params![version, name],
        )
        .expect("record");
    }
    c
}

/// Migrations up to `last`, by sqlx as `PgStore::migrate` runs them (the same files, so the
/// same checksums: the store applies the rest when it opens the database).
async fn postgres_schema_up_to(url: &str, last: i64) -> sqlx::PgPool {
    let pool = sqlx::PgPool::connect(url).await.expect("pool");
    sqlx::migrate::Migrator::new(migrations_dir(Backend::Postgres))
        .await
        .expect("migrations")
        .run_to(last, &pool)
        .await
        .expect("run migrations up to the old version");
    pool
}

/// A new, empty PostgreSQL database on `ROSTER_TEST_POSTGRES_URL`, dropped with the guard.
async fn empty_postgres() -> (String, DbGuard) {
    use sqlx::Connection;
    let admin = std::env::var(roster_testkit::POSTGRES_ENV).expect("url");
    let name = format!("roster_test_{}", Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&admin).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut c)
        .await
        .expect("create database");
    let guard = DbGuard::Postgres {
        admin_url: admin.clone(),
        name: name.clone(),
    };
    let mut url = url::Url::parse(&admin).expect("url");
    url.set_path(&format!("/{name}"));
    (url.to_string(), guard)
}

#[test]
fn both_backends_have_the_same_migrations_and_the_previous_release_is_one_of_them() {
    let names = |b| {
        migrations(b)
            .into_iter()
            .map(|(v, n, _)| (v, n))
            .collect::<Vec<_>>()
    };
    let sqlite = names(Backend::Sqlite);
    assert_eq!(sqlite, names(Backend::Postgres));
    let versions: Vec<i64> = sqlite.iter().map(|(v, _)| *v).collect();
    assert_eq!(
        versions,
        (1..=versions.len() as i64).collect::<Vec<_>>(),
        "numbered 1, 2, 3, … without gaps"
    );
    assert!(
        versions.contains(&PREVIOUS_RELEASE_LAST_MIGRATION),
        "PREVIOUS_RELEASE_LAST_MIGRATION names no migration"
    );
}

// ---------------------------------------------------------------------------------------------
// The previous release's data, used by this release.

/// A value bound into SQL written once for both backends (SQLite stores UUIDs as 16-byte blobs,
/// times as milliseconds and booleans as 0/1; PostgreSQL has types for them).
#[derive(Clone)]
enum V {
    Id(Uuid),
    Text(String),
    Bool(bool),
    At(OffsetDateTime),
    Bytes(Vec<u8>),
}

fn text(s: &str) -> V {
    V::Text(s.to_string())
}

/// A connection to the database as the previous release's nodes would use it: no store.
enum OldDb {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgPool),
}

impl OldDb {
    /// Run one statement written with `?1, ?2, …` placeholders (`$1, …` on PostgreSQL).
    async fn exec(&self, sql: &str, args: &[V]) {
        match self {
            OldDb::Sqlite(c) => {
                use rusqlite::types::Value;
                let values = args.iter().map(|v| match v.clone() {
                    V::Id(u) => Value::Blob(u.as_bytes().to_vec()),
                    V::Text(s) => Value::Text(s),
                    V::Bool(b) => Value::Integer(i64::from(b)),
                    V::At(t) => Value::Integer((t.unix_timestamp_nanos() / 1_000_000) as i64),
                    V::Bytes(b) => Value::Blob(b),
                });
                c.execute(sql, rusqlite::params_from_iter(values))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            OldDb::Postgres(pool) => {
                let pg = sql.replace('?', "$");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(pg));
                for v in args.iter().cloned() {
                    q = match v {
                        V::Id(u) => q.bind(u),
                        V::Text(s) => q.bind(s),
                        V::Bool(b) => q.bind(b),
                        V::At(t) => q.bind(t),
                        V::Bytes(b) => q.bind(b),
                    };
                }
                q.execute(pool)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    async fn close(self) {
        if let OldDb::Postgres(pool) = self {
            pool.close().await;
        }
    }
}

/// How the previous release stored a token: its SHA-256 only.
fn token_hash(token: &str) -> V {
    V::Bytes(Sha256::digest(token.as_bytes()).to_vec())
}

const APP: &str = "ab123";
const ADA_EMAIL: &str = "ada@acme.example";
const BOB_EMAIL: &str = "bob@acme.example";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// What the previous release left in the database, for the checks.
struct OldData {
    ada: Uuid,
    ada_member: Uuid,
    bob_member: Uuid,
    invitation: Uuid,
    invitation_token: String,
    session: Uuid,
    session_token: String,
}

/// A session as the previous release's login wrote it: no `amr` (0019 added it).
async fn old_session(db: &OldDb, ada: Uuid, token: &str, now: OffsetDateTime) -> Uuid {
    let id = Uuid::now_v7();
    db.exec(
        "INSERT INTO sessions (id, token_hash, identity_id, app_id, created_at, last_seen_at, \
         expires_at, client_addr, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &[
            V::Id(id),
            token_hash(token),
            V::Id(ada),
            text(APP),
            V::At(now - Duration::hours(1)),
            V::At(now - Duration::minutes(5)),
            V::At(now + Duration::days(13)),
            text("192.0.2.7"),
            text(FIREFOX),
        ],
    )
    .await;
    id
}

/// The app Acme (3 seats) with its admin Ada (an ID: password, security answer, terms, profile;
/// signed in) and Bob's pending user invitation, whose email is still in the outbox; rows
/// written as the previous release's statements wrote them.
async fn seed_previous_release(db: &OldDb, now: OffsetDateTime) -> OldData {
    let settings = roster_core::Settings::default();
    let hasher = roster_core::password::Hasher::new(settings.hash_cost).expect("hasher");
    let password_hash = hasher.hash(GOOD_PASSWORD.into()).await.expect("hash");
    let answer = roster_core::types::normalize_security_answer("Rex").expect("answer");
    let answer_hash = hasher.hash(answer).await.expect("hash");
    let long_ago = now - Duration::days(30);
    let d = OldData {
        ada: Uuid::now_v7(),
        ada_member: Uuid::now_v7(),
        bob_member: Uuid::now_v7(),
        invitation: Uuid::now_v7(),
        invitation_token: roster_core::token::new_token(),
        session: Uuid::nil(),
        session_token: roster_core::token::new_token(),
    };

    db.exec(
        "INSERT INTO apps (app_id, name, seats_purchased, seats_complimentary, seats_held, \
         created_at, require_second_factor) VALUES (?1, 'Acme', 3, 0, 2, ?2, ?3)",
        &[text(APP), V::At(long_ago), V::Bool(false)],
    )
    .await;
    db.exec(
        "INSERT INTO seat_ledger (id, app_id, at, kind, quantity, actor) \
         VALUES (?1, ?2, ?3, 'initial', 3, NULL)",
        &[V::Id(Uuid::now_v7()), text(APP), V::At(long_ago)],
    )
    .await;
    db.exec(
        "INSERT INTO identities (id, email, email_norm, first_name, last_name, password_hash, \
         security_question, security_answer_hash, terms_version, terms_accepted_at, created_at, \
         failed_count, lock_level, in_flight, email_second_factor) \
         VALUES (?1, ?2, ?2, 'Ada', 'Admin', ?3, 'first_pet_name', ?4, ?5, ?6, ?6, 0, 0, 0, ?7)",
        &[
            V::Id(d.ada),
            text(ADA_EMAIL),
            V::Text(password_hash),
            V::Text(answer_hash),
            V::Text(settings.terms_version.clone()),
            V::At(long_ago),
            V::Bool(false),
        ],
    )
    .await;
    db.exec(
        "INSERT INTO terms_acceptances (identity_id, version, accepted_at) VALUES (?1, ?2, ?3)",
        &[
            V::Id(d.ada),
            V::Text(settings.terms_version.clone()),
            V::At(long_ago),
        ],
    )
    .await;
    db.exec(
        "INSERT INTO identity_profiles (identity_id, phone, time_zone, signature_html, \
         signature_text, updated_at) VALUES (?1, NULL, 'Europe/Berlin', NULL, 'Ada', ?2)",
        &[V::Id(d.ada), V::At(long_ago)],
    )
    .await;
    db.exec(
        "INSERT INTO members (id, app_id, identity_id, email, email_norm, first_name, \
         last_name, kind, admin, status, holds_seat, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, 'user', ?7, ?8, ?9, ?10)",
        &[
            V::Id(d.ada_member),
            text(APP),
            V::Id(d.ada),
            text(ADA_EMAIL),
            text("Ada"),
            text("Admin"),
            V::Bool(true),
            text("active"),
            V::Bool(true),
            V::At(long_ago),
        ],
    )
    .await;
    db.exec(
        "INSERT INTO profiles (member_id, logo_mime, logo, setup_done, updated_at) \
         VALUES (?1, NULL, NULL, ?2, ?3)",
        &[V::Id(d.ada_member), V::Bool(true), V::At(long_ago)],
    )
    .await;
    // Bob: invited yesterday (no ID yet), holding the second seat
    let yesterday = now - Duration::days(1);
    db.exec(
        "INSERT INTO members (id, app_id, identity_id, email, email_norm, first_name, \
         last_name, kind, admin, status, holds_seat, created_at) \
         VALUES (?1, ?2, NULL, ?3, ?3, 'Bob', NULL, 'user', ?4, 'invited', ?5, ?6)",
        &[
            V::Id(d.bob_member),
            text(APP),
            text(BOB_EMAIL),
            V::Bool(false),
            V::Bool(true),
            V::At(yesterday),
        ],
    )
    .await;
    let expires = now + Duration::days(6);
    db.exec(
        "INSERT INTO invitations (id, app_id, member_id, email, kind, admin, token_hash, status, \
         inviter_id, inviter_name, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, 'user', ?5, ?6, 'pending', ?7, 'Ada Admin', ?8, ?9)",
        &[
            V::Id(d.invitation),
            text(APP),
            V::Id(d.bob_member),
            text(BOB_EMAIL),
            V::Bool(false),
            token_hash(&d.invitation_token),
            V::Id(d.ada),
            V::At(yesterday),
            V::At(expires),
        ],
    )
    .await;
    db.exec(
        "INSERT INTO audit_log (id, at, app_id, actor_id, actor_label, action, target, \
         client_addr, details, user_agent) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'invitation.sent', ?6, '192.0.2.7', ?7, ?8)",
        &[
            V::Id(Uuid::now_v7()),
            V::At(yesterday),
            text(APP),
            V::Id(d.ada),
            text(ADA_EMAIL),
            text(BOB_EMAIL),
            V::Text(
                serde_json::json!({"kind": "user", "admin": false, "invitation": d.invitation})
                    .to_string(),
            ),
            text(FIREFOX),
        ],
    )
    .await;
    // Bob's invitation email, queued and not yet sent (the token waits in `secret`)
    let payload = serde_json::json!({
        "type": "invitation",
        "kind": "user",
        "app_name": "Acme",
        "app_id": APP,
        "inviter_name": "Ada Admin",
        "invitee_first_name": "Bob",
        "admin": false,
        "expires_at": expires
            .format(&time::format_description::well_known::Rfc3339)
            .expect("rfc3339"),
    });
    db.exec(
        "INSERT INTO outbox (id, created_at, to_addr, payload, secret, status, attempts, \
         next_attempt_at, last_error, sent_at, group_key, invitation_id, kind) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?2, NULL, NULL, NULL, ?6, 'invitation')",
        &[
            V::Id(Uuid::now_v7()),
            V::At(now - Duration::minutes(1)),
            text(BOB_EMAIL),
            V::Text(payload.to_string()),
            V::Text(d.invitation_token.clone()),
            V::Id(d.invitation),
        ],
    )
    .await;
    // the data migration the previous release had already run
    db.exec(
        "INSERT INTO roster_meta (key, value) VALUES (?1, 'ran at an earlier release')",
        &[text(roster_core::renorm::META_KEY)],
    )
    .await;
    let session = old_session(db, d.ada, &d.session_token, now).await;
    OldData { session, ..d }
}

/// The previous release's database, upgraded by this release while a node of the previous
/// release still writes to it, then used through the HTTP API.
async fn previous_release_data_works_after_the_upgrade(backend: Backend) {
    let now = OffsetDateTime::now_utc();
    let (url, guard, db) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("dir");
            let path = dir.path().join("roster.db");
            let c = sqlite_schema_up_to(&path, PREVIOUS_RELEASE_LAST_MIGRATION);
            let url = format!("sqlite:{}", path.display());
            (url, DbGuard::Dir(dir), OldDb::Sqlite(c))
        }
        Backend::Postgres => {
            let (url, guard) = empty_postgres().await;
            let pool = postgres_schema_up_to(&url, PREVIOUS_RELEASE_LAST_MIGRATION).await;
            (url, guard, OldDb::Postgres(pool))
        }
    };
    let old = seed_previous_release(&db, now).await;

    // this release opens the database: the newer migrations run
    let store = roster::open_store(&url).await.expect("open and migrate");
    // a node still running the previous release signs Ada in again, after the upgrade
    let late_token = roster_core::token::new_token();
    old_session(&db, old.ada, &late_token, now).await;
    db.close().await;
    let t = roster_testkit::spawn_on(store, url, guard).await;
    let ada = old.session_token.as_str();

    // both sessions authenticate; the new `amr` reads as a password login
    for token in [ada, late_token.as_str()] {
        let me = t.get("/api/v1/me", Some(token)).await;
        assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
        assert_eq!(me.body["id"], old.ada.to_string());
        assert_eq!(me.body["email"], ADA_EMAIL);
        assert_eq!(me.body["terms_pending"], serde_json::Value::Null);
        assert_eq!(me.body["apps"][0]["app_id"], APP);
        assert_eq!(me.body["apps"][0]["admin"], true);
        let mut r = t.store.read().await.expect("read");
        let (s, _) = r
            .find_session_identity(&Sha256::digest(token.as_bytes()))
            .await
            .expect("find session")
            .expect("session");
        assert_eq!(s.amr, vec!["pwd".to_string()]);
    }
    let sessions = t.get("/api/v1/me/sessions", Some(ada)).await;
    assert_eq!(sessions.status, StatusCode::OK, "{:?}", sessions.body);
    let items = sessions.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{items:?}");
    let current: Vec<_> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "{items:?}");
    assert_eq!(current[0]["id"], old.session.to_string());
    assert_eq!(current[0]["user_agent"], FIREFOX);
    assert_eq!(current[0]["device"], "Firefox on Linux");

    // the members, seats and audit log read as before
    let members = || async {
        let r = t
            .get(&format!("/api/v1/apps/{APP}/members"), Some(ada))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["items"].as_array().expect("items").clone()
    };
    let list = members().await;
    assert_eq!(list.len(), 2, "{list:?}");
    let find = |list: &[serde_json::Value], email: &str| {
        list.iter()
            .find(|m| m["email"] == email)
            .unwrap_or_else(|| panic!("{email} not listed: {list:?}"))
            .clone()
    };
    let a = find(&list, ADA_EMAIL);
    assert_eq!(a["id"], old.ada_member.to_string());
    assert_eq!(
        (
            &a["status"],
            &a["admin"],
            &a["holds_seat"],
            &a["first_name"]
        ),
        (&"active".into(), &true.into(), &true.into(), &"Ada".into())
    );
    let b = find(&list, BOB_EMAIL);
    assert_eq!(b["id"], old.bob_member.to_string());
    assert_eq!(
        (&b["status"], &b["holds_seat"]),
        (&"invited".into(), &true.into())
    );
    let app = AppId::parse(APP).expect("app id");
    let seats = t.seats(&app, ada).await;
    assert_eq!((&seats["used"], &seats["total"]), (&2.into(), &3.into()));
    let invitation = t
        .invitation_in_list(&app, ada, &old.invitation.to_string())
        .await;
    assert_eq!(invitation["status"], "pending", "{invitation}");
    let audit = t.get(&format!("/api/v1/apps/{APP}/audit"), Some(ada)).await;
    assert_eq!(audit.status, StatusCode::OK, "{:?}", audit.body);
    assert!(
        audit.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["action"] == "invitation.sent"),
        "{:?}",
        audit.body
    );

    // the password (an Argon2id hash written by the previous release) still signs in
    t.login_token(ADA_EMAIL, GOOD_PASSWORD).await;

    // the invitation email the previous release queued goes out, and its link works
    let mails = t.deliver_mail().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, BOB_EMAIL);
    assert!(mails[0].subject.contains("Acme"), "{}", mails[0].subject);
    let token = roster_testkit::token_from(&mails[0]);
    assert_eq!(token, old.invitation_token);
    let r = t.accept_new(&token, "Bob", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(r.body["token"].as_str().is_some(), "{:?}", r.body);
    let list = members().await;
    let b = find(&list, BOB_EMAIL);
    assert_eq!(
        (&b["status"], &b["holds_seat"]),
        (&"active".into(), &true.into())
    );
    let invitation = t
        .invitation_in_list(&app, ada, &old.invitation.to_string())
        .await;
    assert_eq!(invitation["status"], "accepted", "{invitation}");
    let seats = t.seats(&app, ada).await;
    assert_eq!((&seats["used"], &seats["total"]), (&2.into(), &3.into()));
    t.assert_seats_consistent(&app).await;
}

#[tokio::test]
async fn sqlite_previous_release_data_works_after_the_upgrade() {
    previous_release_data_works_after_the_upgrade(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn postgres_previous_release_data_works_after_the_upgrade() {
    previous_release_data_works_after_the_upgrade(Backend::Postgres).await;
}

// ---------------------------------------------------------------------------------------------
// What the next release needs from this one: during its rolling upgrade (and to roll back to
// this release) a node of this release must start on a database that has the next release's
// migrations too.

async fn this_release_starts_on_a_newer_schema(backend: Backend) {
    let (store, url, guard) = roster_testkit::fresh_store(backend).await;
    drop(store);
    let next = migrations(backend).last().expect("migrations").0 + 1;
    let record = match backend {
        Backend::Sqlite => format!(
            "CREATE TABLE next_release (id INTEGER PRIMARY KEY) STRICT; \
             INSERT INTO _roster_migrations VALUES ({next}, '{next:04}_next_release', 0);"
        ),
        Backend::Postgres => format!(
            "CREATE TABLE next_release (id BIGINT PRIMARY KEY); \
             INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES ({next}, 'next release', true, '\\x00', 1);"
        ),
    };
    roster_testkit::raw_sql(&url, &record).await;
    let store = roster::open_store(&url)
        .await
        .expect("a node of this release starts on the next release's schema");
    let t = roster_testkit::spawn_on(store, url, guard).await;
    let (app, admin) = t.app_with_admin("Acme", 2).await;
    assert_eq!(t.seats(&app, &admin).await["total"], 2);
}

#[tokio::test]
async fn sqlite_this_release_starts_on_a_newer_schema() {
    this_release_starts_on_a_newer_schema(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn postgres_this_release_starts_on_a_newer_schema() {
    this_release_starts_on_a_newer_schema(Backend::Postgres).await;
}
