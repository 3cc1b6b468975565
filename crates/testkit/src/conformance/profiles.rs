//! Conformance stories for profiles (the ID's own and each member's), seat requests and
//! first-run setup links.

use super::{app, identity, member, t0};
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use std::sync::Arc;
use time::Duration;

fn request(a: &App, by: IdentityId, quantity: i64, minutes: i64) -> SeatRequest {
    SeatRequest {
        id: SeatRequestId::new(),
        app_id: a.app_id.clone(),
        requested_by: by,
        quantity,
        status: SeatRequestStatus::Pending,
        created_at: t0() + Duration::minutes(minutes),
        decided_at: None,
        granted_quantity: None,
    }
}

pub async fn profiles_seat_requests_and_setup_links(store: Arc<dyn Store>) {
    let a = app("pr123", 2);
    let i = identity("p@example.com");
    let mut m = member(&a, "p@example.com", MemberKind::User, MemberStatus::Active);
    m.identity_id = Some(i.id);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("app");
    tx.insert_identity(&i).await.expect("id");
    tx.insert_member(&m).await.expect("member");
    assert!(tx.get_profile(m.id).await.expect("get").is_none());
    let mut p = MemberProfile::empty(m.id, t0());
    p.logo = Some(Logo {
        mime: "image/png".into(),
        bytes: vec![1, 2, 3],
    });
    tx.save_profile(&p).await.expect("insert");
    p.setup_done = true;
    p.updated_at = t0() + Duration::seconds(1);
    tx.save_profile(&p).await.expect("update");
    let r = request(&a, i.id, 2, 0);
    tx.insert_seat_request(&r).await.expect("request");
    tx.insert_setup_token(b"setup-hash", t0())
        .await
        .expect("token");
    tx.commit().await.expect("commit");

    let mut rd = store.read().await.expect("read");
    assert_eq!(rd.get_profile(m.id).await.expect("get"), Some(p));
    assert_eq!(
        rd.list_seat_requests(&a.app_id).await.expect("list"),
        vec![r]
    );
    assert!(rd.setup_token_unused(b"setup-hash").await.expect("unused"));
    drop(rd);
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.use_setup_token(b"setup-hash", t0()).await.expect("use"));
    assert!(
        !tx.use_setup_token(b"setup-hash", t0())
            .await
            .expect("again")
    );
    assert!(!tx.use_setup_token(b"unknown", t0()).await.expect("unknown"));
    tx.commit().await.expect("commit");
}

/// Name, phone, time zone and signature belong to the ID: one profile shared by its apps; the
/// name reaches every membership; the logo and "setup done" stay per member.
pub async fn identity_profile_is_one_per_id(store: Arc<dyn Store>) {
    let (a, b) = (app("ip123", 2), app("ip456", 2));
    let i = identity("lee@example.com");
    let other = identity("sam@example.com");
    let mut ma = member(
        &a,
        "lee@example.com",
        MemberKind::User,
        MemberStatus::Active,
    );
    ma.identity_id = Some(i.id);
    let mut mb = member(
        &b,
        "lee@example.com",
        MemberKind::Partner,
        MemberStatus::Active,
    );
    mb.identity_id = Some(i.id);
    let mut tx = store.begin().await.expect("begin");
    for x in [&a, &b] {
        tx.insert_app(x).await.expect("app");
    }
    tx.insert_identity(&i).await.expect("id");
    tx.insert_identity(&other).await.expect("other id");
    tx.insert_member(&ma).await.expect("member a");
    tx.insert_member(&mb).await.expect("member b");

    // before anything is saved: the name from the ID, nothing else
    let empty = tx
        .get_identity_profile(i.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        empty,
        IdentityProfile {
            identity_id: i.id,
            first_name: "Ada".into(),
            last_name: Some("Lovelace".into()),
            phone: None,
            time_zone: None,
            signature_html: None,
            signature_text: None,
            updated_at: None,
        }
    );
    assert!(empty.details_missing() && empty.signature_missing());
    assert!(
        tx.get_identity_profile(IdentityId::new())
            .await
            .expect("unknown")
            .is_none()
    );

    let mut p = empty.clone();
    p.first_name = "Lee".into();
    p.last_name = Some("Sherron".into());
    p.time_zone = Some("Europe/Berlin".into());
    p.signature_text = Some("Lee".into());
    p.updated_at = Some(t0());
    tx.save_identity_profile(&p).await.expect("insert");
    p.phone = Some("+1 555 0100".into());
    p.signature_html = Some("<b>Lee</b>".into());
    p.updated_at = Some(t0() + Duration::seconds(5));
    tx.save_identity_profile(&p).await.expect("update");

    // "setup done" in one app is seen from the other membership only
    assert!(
        !tx.setup_done_elsewhere(i.id, mb.id)
            .await
            .expect("elsewhere")
    );
    let mut done = MemberProfile::empty(ma.id, t0());
    done.setup_done = true;
    tx.save_profile(&done).await.expect("done in a");
    tx.commit().await.expect("commit");

    let mut rd = store.read().await.expect("read");
    assert_eq!(
        rd.get_identity_profile(i.id).await.expect("get"),
        Some(p.clone())
    );
    assert!(
        rd.setup_done_elsewhere(i.id, mb.id)
            .await
            .expect("elsewhere")
    );
    assert!(
        !rd.setup_done_elsewhere(i.id, ma.id)
            .await
            .expect("not elsewhere")
    );
    assert!(rd.get_profile(mb.id).await.expect("b").is_none());
    // the name reaches the ID and each of its memberships, and no one else
    let id = rd.get_identity(i.id).await.expect("id").expect("exists");
    assert_eq!(
        (id.first_name.as_str(), id.last_name.as_deref()),
        ("Lee", Some("Sherron"))
    );
    for (x, m) in [(&a, &ma), (&b, &mb)] {
        let got = rd
            .get_member(&x.app_id, m.id)
            .await
            .expect("member")
            .expect("exists");
        assert_eq!(got.first_name.as_deref(), Some("Lee"));
        assert_eq!(got.last_name.as_deref(), Some("Sherron"));
    }
    let o = rd
        .get_identity_profile(other.id)
        .await
        .expect("other")
        .expect("exists");
    assert_eq!((o.first_name.as_str(), o.time_zone), ("Ada", None));
}

/// A seat request is answered once: granted with the time and quantity, listed per app and
/// across apps; a second answer changes nothing.
pub async fn seat_requests_are_answered_once(store: Arc<dyn Store>) {
    let (a, b) = (app("sr123", 1), app("sr456", 1));
    let i = identity("admin@example.com");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("a");
    tx.insert_app(&b).await.expect("b");
    tx.insert_identity(&i).await.expect("id");
    let (r1, r2, r3) = (
        request(&a, i.id, 2, 0),
        request(&a, i.id, 1, 1),
        request(&b, i.id, 3, 2),
    );
    for r in [&r1, &r2, &r3] {
        tx.insert_seat_request(r).await.expect("insert");
    }
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.get_seat_request(r1.id).await.expect("get"),
        Some(r1.clone())
    );
    assert!(
        tx.get_seat_request(SeatRequestId::new())
            .await
            .expect("unknown")
            .is_none()
    );
    let mut granted = r1.clone();
    granted.status = SeatRequestStatus::Granted;
    granted.decided_at = Some(t0() + Duration::hours(1));
    granted.granted_quantity = Some(3);
    assert!(tx.close_seat_request(&granted).await.expect("close"));
    let mut again = granted.clone();
    again.status = SeatRequestStatus::Declined;
    again.granted_quantity = None;
    assert!(
        !tx.close_seat_request(&again).await.expect("again"),
        "an answered request is not answered again"
    );
    tx.commit().await.expect("commit");

    let mut rd = store.read().await.expect("read");
    assert_eq!(
        rd.get_seat_request(r1.id).await.expect("get"),
        Some(granted.clone())
    );
    assert_eq!(
        rd.list_seat_requests(&a.app_id).await.expect("list a"),
        vec![r2.clone(), granted.clone()]
    );
    assert_eq!(
        rd.list_all_seat_requests(10).await.expect("all"),
        vec![r3.clone(), r2.clone(), granted]
    );
    assert_eq!(rd.list_all_seat_requests(1).await.expect("limit"), vec![r3]);
}
