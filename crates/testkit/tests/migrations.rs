//! Data migrations on a database made by the previous schema, on every backend.
//!
//! 0006_identity_profiles: each ID takes its most recently updated profile that has details or
//! a signature (a newer, all-skipped one does not wipe them); that profile's member name becomes
//! the ID's and every membership's; logos and "setup done" stay with their members.

use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use std::sync::Arc;
use uuid::Uuid;

const LEE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
const SAM: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);
const LEE_A: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1);
const LEE_B: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00b1);
const SAM_A: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a2);
const SAM_B: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00b2);

/// `(member, identity, app, email, first name, last name)`
type OldMember = (
    Uuid,
    Uuid,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);
const MEMBERS: [OldMember; 4] = [
    (
        LEE_A,
        LEE,
        "aa111",
        "lee@example.com",
        "Lee",
        Some("Sherron"),
    ),
    (LEE_B, LEE, "bb222", "lee@example.com", "Leeroy", None),
    (SAM_A, SAM, "aa111", "sam@example.com", "Sam", None),
    (
        SAM_B,
        SAM,
        "bb222",
        "sam@example.com",
        "Samuel",
        Some("Old"),
    ),
];

/// `(member, phone, time zone, html, text, logo, setup done, updated at (seconds))`
type OldProfile = (
    Uuid,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static [u8]>,
    bool,
    i64,
);
const PROFILES: [OldProfile; 4] = [
    // Lee set everything up in A, then skipped every step in B later (but uploaded a logo)
    (
        LEE_A,
        Some("+1 555 0100"),
        Some("Europe/Berlin"),
        Some("<b>Lee</b>"),
        Some("Lee"),
        Some(&[1, 2]),
        true,
        100,
    ),
    (LEE_B, None, None, None, None, Some(&[3, 4]), true, 200),
    // Sam changed the details in A after B: A's (newer) wins
    (
        SAM_A,
        None,
        Some("Asia/Tokyo"),
        None,
        Some("Sam"),
        None,
        false,
        300,
    ),
    (
        SAM_B,
        Some("+44 20 0000"),
        Some("Europe/London"),
        None,
        None,
        None,
        true,
        250,
    ),
];

const T0: i64 = 1_790_000_000;

async fn check(store: Arc<dyn Store>) {
    let mut r = store.read().await.expect("read");
    let lee = r
        .get_identity_profile(IdentityId(LEE))
        .await
        .expect("lee")
        .expect("exists");
    assert_eq!(
        (lee.first_name.as_str(), lee.last_name.as_deref()),
        ("Lee", Some("Sherron"))
    );
    assert_eq!(lee.phone.as_deref(), Some("+1 555 0100"));
    assert_eq!(lee.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(lee.signature_html.as_deref(), Some("<b>Lee</b>"));
    assert_eq!(lee.signature_text.as_deref(), Some("Lee"));
    let sam = r
        .get_identity_profile(IdentityId(SAM))
        .await
        .expect("sam")
        .expect("exists");
    assert_eq!((sam.first_name.as_str(), sam.last_name), ("Sam", None));
    assert_eq!(sam.time_zone.as_deref(), Some("Asia/Tokyo"));
    assert_eq!(sam.phone, None, "the newest profile's fields, not a mix");
    assert_eq!(sam.signature_text.as_deref(), Some("Sam"));

    // logos and setup stay per member
    let a = r.get_profile(MemberId(LEE_A)).await.expect("a").expect("a");
    let b = r.get_profile(MemberId(LEE_B)).await.expect("b").expect("b");
    assert_eq!(a.logo.map(|l| l.bytes), Some(vec![1, 2]));
    assert_eq!(b.logo.map(|l| l.bytes), Some(vec![3, 4]));
    assert!(a.setup_done && b.setup_done);
    let s = r.get_profile(MemberId(SAM_A)).await.expect("s").expect("s");
    assert!(!s.setup_done && s.logo.is_none());
    assert!(
        r.setup_done_elsewhere(IdentityId(SAM), MemberId(SAM_A))
            .await
            .expect("elsewhere")
    );

    // every membership shows the ID's name
    for (m, _, app, ..) in MEMBERS {
        let got = r
            .get_member(&AppId::parse(app).expect("app"), MemberId(m))
            .await
            .expect("member")
            .expect("exists");
        let want = if got.email.as_str().starts_with("lee") {
            ("Lee", Some("Sherron"))
        } else {
            ("Sam", None)
        };
        assert_eq!(
            (got.first_name.as_deref(), got.last_name.as_deref()),
            (Some(want.0), want.1)
        );
    }
    // the new seat request column reads back empty for old rows
    let reqs = r
        .list_seat_requests(&AppId::parse("aa111").expect("app"))
        .await
        .expect("requests");
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].status, reqs[0].granted_quantity),
        (SeatRequestStatus::Pending, None)
    );
}

const SQLITE_OLD: [(i64, &str, &str); 5] = [
    (
        1,
        "0001_init",
        include_str!("../../store-sqlite/migrations/0001_init.sql"),
    ),
    (
        2,
        "0002_profiles",
        include_str!("../../store-sqlite/migrations/0002_profiles.sql"),
    ),
    (
        3,
        "0003_setup_tokens",
        include_str!("../../store-sqlite/migrations/0003_setup_tokens.sql"),
    ),
    (
        4,
        "0004_seat_requests",
        include_str!("../../store-sqlite/migrations/0004_seat_requests.sql"),
    ),
    (
        5,
        "0005_invitations_member_index",
        include_str!("../../store-sqlite/migrations/0005_invitations_member_index.sql"),
    ),
];

#[tokio::test]
async fn sqlite_0006_moves_each_ids_newest_profile_to_the_id() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(
            "CREATE TABLE _roster_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             applied_at INTEGER NOT NULL)",
        )
        .expect("migrations table");
        for (v, name, sql) in SQLITE_OLD {
            c.execute_batch(sql).expect(name);
            c.execute(
                "INSERT INTO _roster_migrations VALUES (?1, ?2, 0)",
                rusqlite::params![v, name],
            )
            .expect("record");
        }
        for app in ["aa111", "bb222"] {
            c.execute(
                "INSERT INTO apps VALUES (?1, ?1, 5, 0, 0, 0)",
                rusqlite::params![app],
            )
            .expect("app");
        }
        for (id, email) in [(LEE, "lee@example.com"), (SAM, "sam@example.com")] {
            c.execute(
                "INSERT INTO identities (id, email, email_norm, first_name, password_hash, \
                 created_at) VALUES (?1, ?2, ?2, 'Typed', 'x', 0)",
                rusqlite::params![id, email],
            )
            .expect("identity");
        }
        for (m, i, app, email, first, last) in MEMBERS {
            c.execute(
                "INSERT INTO members (id, app_id, identity_id, email, email_norm, first_name, \
                 last_name, kind, admin, status, holds_seat, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, 'partner', 0, 'active', 0, 0)",
                rusqlite::params![m, app, i, email, first, last],
            )
            .expect("member");
        }
        for (m, phone, tz, html, text, logo, done, at) in PROFILES {
            c.execute(
                "INSERT INTO profiles VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    m,
                    phone,
                    tz,
                    html,
                    text,
                    logo.map(|_| "image/png"),
                    logo,
                    done,
                    (T0 + at) * 1000
                ],
            )
            .expect("profile");
        }
        c.execute(
            "INSERT INTO seat_requests VALUES (?1, 'aa111', ?2, 2, 'pending', 0, NULL)",
            rusqlite::params![Uuid::now_v7(), LEE],
        )
        .expect("request");
    }
    let store = roster::open_store(&format!("sqlite:{}", path.display()))
        .await
        .expect("migrate");
    check(store).await;
}

#[tokio::test]
#[cfg_attr(
    not(roster_postgres),
    ignore = "needs PostgreSQL: set ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
)]
async fn postgres_0006_moves_each_ids_newest_profile_to_the_id() {
    use sqlx::Connection;
    let admin = std::env::var("ROSTER_TEST_POSTGRES_URL").expect("url");
    let name = format!("roster_test_{}", Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&admin).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut c)
        .await
        .expect("create database");
    let _guard = roster_testkit::DbGuard::Postgres {
        admin_url: admin.clone(),
        name: name.clone(),
    };
    let mut url = url::Url::parse(&admin).expect("url");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();

    // the schema as it was before 0006: the first five migrations, by sqlx as the store runs them
    let old = tempfile::tempdir().expect("dir");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../store-postgres/migrations");
    for f in std::fs::read_dir(&src).expect("migrations") {
        let f = f.expect("entry");
        let n = f.file_name().to_string_lossy().to_string();
        if n.as_str() < "0006" {
            std::fs::copy(f.path(), old.path().join(&n)).expect("copy");
        }
    }
    let pool = sqlx::PgPool::connect(&url).await.expect("pool");
    sqlx::migrate::Migrator::new(old.path())
        .await
        .expect("old migrations")
        .run(&pool)
        .await
        .expect("run old");
    for app in ["aa111", "bb222"] {
        sqlx::query("INSERT INTO apps VALUES ($1, $1, 5, 0, 0, now())")
            .bind(app)
            .execute(&pool)
            .await
            .expect("app");
    }
    for (id, email) in [(LEE, "lee@example.com"), (SAM, "sam@example.com")] {
        sqlx::query(
            "INSERT INTO identities (id, email, email_norm, first_name, password_hash, \
             created_at) VALUES ($1, $2, $2, 'Typed', 'x', now())",
        )
        .bind(id)
        .bind(email)
        .execute(&pool)
        .await
        .expect("identity");
    }
    for (m, i, app, email, first, last) in MEMBERS {
        sqlx::query(
            "INSERT INTO members (id, app_id, identity_id, email, email_norm, first_name, \
             last_name, kind, admin, status, holds_seat, created_at) \
             VALUES ($1, $2, $3, $4, $4, $5, $6, 'partner', false, 'active', false, now())",
        )
        .bind(m)
        .bind(app)
        .bind(i)
        .bind(email)
        .bind(first)
        .bind(last)
        .execute(&pool)
        .await
        .expect("member");
    }
    for (m, phone, tz, html, text, logo, done, at) in PROFILES {
        let at = time::OffsetDateTime::from_unix_timestamp(T0 + at).expect("time");
        sqlx::query("INSERT INTO profiles VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(m)
            .bind(phone)
            .bind(tz)
            .bind(html)
            .bind(text)
            .bind(logo.map(|_| "image/png"))
            .bind(logo)
            .bind(done)
            .bind(at)
            .execute(&pool)
            .await
            .expect("profile");
    }
    sqlx::query("INSERT INTO seat_requests VALUES ($1, 'aa111', $2, 2, 'pending', now(), NULL)")
        .bind(Uuid::now_v7())
        .bind(LEE)
        .execute(&pool)
        .await
        .expect("request");
    pool.close().await;
    let store = roster::open_store(&url).await.expect("migrate");
    check(store).await;
}
