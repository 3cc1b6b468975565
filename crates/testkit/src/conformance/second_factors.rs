//! Conformance story for two-step verification: authenticator apps, email codes, backup codes,
//! login challenges, trusted browsers and the per-app requirement.

use super::{app, identity, t0};
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::{MemberKind, MemberStatus};
use std::sync::Arc;
use time::Duration;

pub async fn second_factors_challenges_and_trusted_browsers(store: Arc<dyn Store>) {
    let i = identity("two@example.com");
    let a = app("tw123", 2);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_identity(&i).await.expect("identity");
    tx.insert_app(&a).await.expect("app");
    assert_eq!(
        tx.second_factor_status(i.id).await.expect("status"),
        SecondFactorStatus::default()
    );
    // an unconfirmed app does not count; a confirmed one does
    let mut f = TotpFactor {
        identity_id: i.id,
        secret_enc: vec![7; 64],
        created_at: t0(),
        confirmed_at: None,
        last_step: 0,
    };
    tx.put_totp(&f).await.expect("put");
    assert!(!tx.second_factor_status(i.id).await.expect("s").enabled());
    f.confirmed_at = Some(t0());
    f.last_step = 42;
    tx.put_totp(&f).await.expect("replace");
    assert_eq!(tx.lock_totp(i.id).await.expect("get"), Some(f.clone()));
    tx.set_email_second_factor(i.id, true).await.expect("email");
    tx.replace_backup_codes(i.id, &[vec![1; 32], vec![2; 32]], t0())
        .await
        .expect("codes");
    assert_eq!(
        tx.second_factor_status(i.id).await.expect("s"),
        SecondFactorStatus {
            totp: true,
            email: true,
            backup_codes_left: 2,
            passkeys: 0
        }
    );
    // a backup code works once; a new set replaces the old
    assert!(tx.use_backup_code(i.id, &[1; 32], t0()).await.expect("use"));
    assert!(
        !tx.use_backup_code(i.id, &[1; 32], t0())
            .await
            .expect("again")
    );
    tx.replace_backup_codes(i.id, &[vec![3; 32]], t0())
        .await
        .expect("new set");
    assert!(!tx.use_backup_code(i.id, &[2; 32], t0()).await.expect("old"));
    // challenges
    let mut c = LoginChallenge {
        token_hash: vec![9; 32],
        identity_id: i.id,
        app_id: Some(a.app_id.clone()),
        created_at: t0(),
        expires_at: t0() + Duration::minutes(10),
        email_code_hash: None,
        email_code_until: None,
        email_code_tries: 0,
        used_at: None,
    };
    tx.insert_challenge(&c).await.expect("challenge");
    c.email_code_hash = Some(vec![5; 32]);
    c.email_code_until = Some(t0() + Duration::minutes(10));
    c.email_code_tries = 2;
    c.used_at = Some(t0() + Duration::minutes(1));
    tx.update_challenge(&c).await.expect("update");
    assert_eq!(tx.lock_challenge(&[9; 32]).await.expect("get"), Some(c));
    assert_eq!(tx.lock_challenge(&[8; 32]).await.expect("none"), None);
    // expired challenges are forgotten
    assert_eq!(
        tx.prune_expired_ceremonies(t0() + Duration::minutes(5))
            .await
            .expect("prune early"),
        0
    );
    assert_eq!(
        tx.prune_expired_ceremonies(t0() + Duration::minutes(11))
            .await
            .expect("prune"),
        1
    );
    assert_eq!(tx.lock_challenge(&[9; 32]).await.expect("gone"), None);
    // trusted browsers expire and are revocable
    tx.insert_trusted_device(&[4; 32], i.id, t0(), t0() + Duration::days(30))
        .await
        .expect("device");
    assert!(tx.trusted_device(&[4; 32], i.id, t0()).await.expect("t"));
    assert!(
        !tx.trusted_device(&[4; 32], i.id, t0() + Duration::days(30))
            .await
            .expect("expired")
    );
    assert!(
        !tx.trusted_device(&[5; 32], i.id, t0())
            .await
            .expect("unknown")
    );
    // the app's requirement
    assert!(!tx.app_requires_second_factor(&a.app_id).await.expect("off"));
    tx.set_app_requires_second_factor(&a.app_id, true)
        .await
        .expect("on");
    assert!(tx.app_requires_second_factor(&a.app_id).await.expect("on"));
    // an operator's reset removes everything
    tx.reset_second_factors(i.id).await.expect("reset");
    assert_eq!(
        tx.second_factor_status(i.id).await.expect("s"),
        SecondFactorStatus::default()
    );
    assert!(!tx.trusted_device(&[4; 32], i.id, t0()).await.expect("gone"));
    assert_eq!(tx.delete_trusted_devices(i.id).await.expect("none left"), 0);
    tx.commit().await.expect("commit");
}

/// What every member request checks, read in one statement: the member row, the app's
/// suspension and its second-factor rule; nothing for another app or another ID.
pub async fn member_access_tells_suspension_and_second_factor_rule(store: Arc<dyn Store>) {
    let i = identity("access@example.com");
    let a = app("ac123", 3);
    let other = app("ac456", 3);
    let mut m = super::member(
        &a,
        "access@example.com",
        MemberKind::User,
        MemberStatus::Active,
    );
    m.identity_id = Some(i.id);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_identity(&i).await.expect("identity");
    tx.insert_app(&a).await.expect("app");
    tx.insert_app(&other).await.expect("other app");
    tx.insert_member(&m).await.expect("member");
    let got = tx
        .member_access(&a.app_id, i.id)
        .await
        .expect("access")
        .expect("found");
    assert_eq!(got.member, m);
    assert!(!got.app_suspended && !got.app_requires_second_factor);
    assert_eq!(
        tx.member_access(&other.app_id, i.id).await.expect("o"),
        None
    );
    let stranger = identity("stranger@example.com");
    tx.insert_identity(&stranger).await.expect("stranger");
    assert_eq!(
        tx.member_access(&a.app_id, stranger.id).await.expect("s"),
        None
    );
    tx.set_app_suspended(&a.app_id, Some(t0()))
        .await
        .expect("suspend");
    tx.set_app_requires_second_factor(&a.app_id, true)
        .await
        .expect("require");
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let got = r
        .member_access(&a.app_id, i.id)
        .await
        .expect("access")
        .expect("found");
    assert!(got.app_suspended && got.app_requires_second_factor);
    drop(r);
    let mut tx = store.begin().await.expect("begin");
    tx.set_app_suspended(&a.app_id, None).await.expect("resume");
    tx.commit().await.expect("commit");
    let got = store
        .read()
        .await
        .expect("read")
        .member_access(&a.app_id, i.id)
        .await
        .expect("access")
        .expect("found");
    assert!(!got.app_suspended && got.app_requires_second_factor);
}
