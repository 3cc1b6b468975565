//! 0006_identity_profiles: each ID takes its most recently updated profile that has details or
//! a signature (a newer, all-skipped one does not wipe them); that profile's member name becomes
//! the ID's and every membership's; logos and "setup done" stay with their members.

use super::*;

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

#[tokio::test]
async fn sqlite_0006_moves_each_ids_newest_profile_to_the_id() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    {
        // the schema as it was before 0006
        let c = sqlite_schema_up_to(&path, 5);
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
    let (url, _guard) = empty_postgres().await;
    // the schema as it was before 0006: the first five migrations, by sqlx as the store runs them
    let pool = postgres_schema_up_to(&url, 5).await;
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
