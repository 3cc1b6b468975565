//! Conformance: the data migration `email_norm_v2` recomputes old-style normalised emails, and
//! leaves colliding or unparsable rows as they are, reported.

use super::{app, identity, member};
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use std::sync::Arc;
use uuid::Uuid;

/// Raw SQL inserting rows the way the old rule stored them (`email_norm` = lower case only).
fn old_identity(backend: &str, id: Uuid, email: &str, norm: &str) -> String {
    match backend {
        "sqlite" => format!(
            "INSERT INTO identities (id, email, email_norm, first_name, password_hash, created_at) \
             VALUES (X'{}', '{email}', '{norm}', 'Old', 'fake-hash', 0);",
            id.simple()
        ),
        _ => format!(
            "INSERT INTO identities (id, email, email_norm, first_name, password_hash, created_at) \
             VALUES ('{id}', '{email}', '{norm}', 'Old', 'fake-hash', now());"
        ),
    }
}

fn old_member(backend: &str, id: Uuid, app_id: &str, email: &str, norm: &str) -> String {
    let (idv, f, now) = match backend {
        "sqlite" => (format!("X'{}'", id.simple()), "0", "0"),
        _ => (format!("'{id}'"), "false", "now()"),
    };
    format!(
        "INSERT INTO members (id, app_id, email, email_norm, first_name, kind, admin, status, \
         holds_seat, created_at) VALUES ({idv}, '{app_id}', '{email}', '{norm}', 'Old', 'user', \
         {f}, 'invited', {f}, {now});"
    )
}

pub async fn email_norm_renormalisation_reports_collisions(store: Arc<dyn Store>, url: &str) {
    let b = store.backend();
    let (a1, a2) = (app("rn123", 10), app("rn456", 10));
    // rows in the new, canonical form
    let canonical_id = identity("idn@xn--bcher-kva.example");
    let canonical_member = member(
        &a1,
        "x@xn--bcher-kva.example",
        MemberKind::User,
        MemberStatus::Invited,
    );
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a1).await.expect("app");
    tx.insert_app(&a2).await.expect("app");
    tx.insert_identity(&canonical_id).await.expect("identity");
    tx.insert_member(&canonical_member).await.expect("member");
    tx.commit().await.expect("commit");
    // rows in the old form
    let (colliding_id, changed_id, broken_id) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (colliding_m, other_app_m, decomposed_m) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let sql = [
        old_identity(b, colliding_id, "idn@bücher.example", "idn@bücher.example"),
        old_identity(b, changed_id, "Ünal@Bücher.example", "ünal@bücher.example"),
        old_identity(b, broken_id, "not an address", "not an address"),
        old_member(
            b,
            colliding_m,
            "rn123",
            "X@Bücher.example",
            "x@bücher.example",
        ),
        old_member(
            b,
            other_app_m,
            "rn456",
            "X@Bücher.example",
            "x@bücher.example",
        ),
        old_member(
            b,
            decomposed_m,
            "rn456",
            "u\u{0308}ber@example.com",
            "u\u{0308}ber@example.com",
        ),
    ]
    .concat();
    crate::raw_sql(url, &sql).await;

    let report = store.renormalize_emails().await.expect("renormalise");
    assert_eq!(report.updated, 3, "{report:?}");
    let listed = store.email_norm_conflicts().await.expect("conflicts");
    assert_eq!(listed, report.conflicts);
    for id in [
        colliding_id,
        canonical_id.id.0,
        broken_id,
        colliding_m,
        canonical_member.id.0,
    ] {
        assert!(
            listed.iter().any(|l| l.contains(&id.to_string())),
            "{id} not reported: {listed:#?}"
        );
    }
    assert!(listed.iter().any(|l| l.contains("no longer parses")));
    assert!(listed.iter().any(|l| l.contains("collides with")));
    assert_eq!(listed.len(), 5, "{listed:#?}");

    let mut r = store.read().await.expect("read");
    // updated
    let changed = r
        .find_identity_by_email("ünal@xn--bcher-kva.example")
        .await
        .expect("find")
        .expect("updated identity");
    assert_eq!(changed.id.0, changed_id);
    let m = r
        .find_member_by_email(&a2.app_id, "x@xn--bcher-kva.example")
        .await
        .expect("find")
        .expect("updated member (another app: no collision)");
    assert_eq!(m.id.0, other_app_m);
    let m = r
        .find_member_by_email(&a2.app_id, "über@example.com")
        .await
        .expect("find")
        .expect("NFC member");
    assert_eq!(m.id.0, decomposed_m);
    // left as they were
    let kept = r
        .find_identity_by_email("idn@bücher.example")
        .await
        .expect("find")
        .expect("colliding identity kept");
    assert_eq!(kept.id.0, colliding_id);
    let both = r
        .find_identity_by_email("idn@xn--bcher-kva.example")
        .await
        .expect("find")
        .expect("canonical identity kept");
    assert_eq!(both.id, canonical_id.id);
    let kept = r
        .find_member_by_email(&a1.app_id, "x@bücher.example")
        .await
        .expect("find")
        .expect("colliding member kept");
    assert_eq!(kept.id.0, colliding_m);
    drop(r);

    // the migration runs once: `migrate` leaves later old-style rows alone
    let late = Uuid::now_v7();
    crate::raw_sql(
        url,
        &old_member(
            b,
            late,
            "rn456",
            "Late@Bücher.example",
            "late@bücher.example",
        ),
    )
    .await;
    store.migrate().await.expect("migrate again");
    let mut r = store.read().await.expect("read");
    assert!(
        r.find_member_by_email(&a2.app_id, "late@bücher.example")
            .await
            .expect("find")
            .is_some()
    );
    // search still finds renormalised members (the search index follows email_norm)
    let found = r
        .list_members(
            &a2.app_id,
            &MemberQuery {
                filter: MemberFilter::ActiveInvited,
                search: Some("xn--bcher".into()),
                after: None,
                limit: 10,
            },
        )
        .await
        .expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.0, other_app_m);
}
