//! Conformance stories for the OpenID Connect provider's records: clients and signing keys,
//! grants with their single-use codes and rotated refresh tokens, revocation by member / ID /
//! client, consents ("connected applications"), back-channel logout claims, and the `amr` of
//! login sessions.

use super::{app, identity, member, t0};
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

fn client(client_id: &str, name: &str, confidential: bool, at: OffsetDateTime) -> OidcClient {
    OidcClient {
        client_id: client_id.into(),
        name: name.into(),
        secret_hash: confidential.then(|| vec![9; 32]),
        redirect_uris: vec![
            "https://rp.example/cb".into(),
            "https://rp.example/cb?x=1&y=\"2\"".into(),
        ],
        post_logout_redirect_uris: if confidential {
            vec!["https://rp.example/bye".into()]
        } else {
            vec![]
        },
        first_party: confidential,
        back_channel_logout_uri: confidential.then(|| "https://rp.example/bcl".into()),
        id_token_alg: if confidential {
            SigningAlg::EdDSA
        } else {
            SigningAlg::RS256
        },
        created_at: at,
    }
}

fn key(kid: &str, alg: SigningAlg, created: OffsetDateTime, active: OffsetDateTime) -> SigningKey {
    SigningKey {
        kid: kid.into(),
        alg,
        private_sealed: kid.as_bytes().to_vec(),
        public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
        created_at: created,
        activates_at: active,
    }
}

fn grant(client_id: &str, i: &Identity, m: &Member, at: OffsetDateTime) -> OauthGrant {
    OauthGrant {
        id: uuid::Uuid::now_v7(),
        client_id: client_id.into(),
        identity_id: i.id,
        app_id: m.app_id.clone(),
        member_id: m.id,
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: at - Duration::minutes(1),
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        created_at: at,
        revoked_at: None,
        last_used_at: None,
    }
}

fn linked(a: &App, i: &Identity, email: &str) -> Member {
    let mut m = member(a, email, MemberKind::User, MemberStatus::Active);
    m.identity_id = Some(i.id);
    m
}

const CLIENT: &str = "rc_aaaaaaaaaaaaaaaaaaaaaa";
const OTHER_CLIENT: &str = "rc_bbbbbbbbbbbbbbbbbbbbbb";

pub async fn oidc_clients_and_signing_keys(store: Arc<dyn Store>) {
    let confidential = client(CLIENT, "Billing", true, t0());
    let public = client(OTHER_CLIENT, "Mobile", false, t0() + Duration::seconds(5));
    let mut tx = store.begin().await.expect("begin");
    // inserted newest first: listed oldest first
    tx.insert_oidc_client(&public).await.expect("public");
    tx.insert_oidc_client(&confidential)
        .await
        .expect("confidential");
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    assert!(matches!(
        tx.insert_oidc_client(&confidential).await,
        Err(StoreError::Unique)
    ));
    drop(tx);

    let k_old = key("k-old", SigningAlg::RS256, t0(), t0());
    let k_next = key(
        "k-next",
        SigningAlg::RS256,
        t0() + Duration::days(1),
        t0() + Duration::days(3),
    );
    // same activation as k_next, made later: comes first
    let k_tie = key(
        "k-tie",
        SigningAlg::EdDSA,
        t0() + Duration::days(2),
        t0() + Duration::days(3),
    );
    let k_mid = key("k-mid", SigningAlg::EdDSA, t0(), t0() + Duration::days(1));
    let mut tx = store.begin().await.expect("begin");
    for k in [&k_mid, &k_old, &k_next, &k_tie] {
        tx.insert_signing_key(k).await.expect("key");
    }
    tx.commit().await.expect("commit");

    let mut r = store.read().await.expect("read");
    let got = r.get_oidc_client(CLIENT).await.expect("get").expect("some");
    assert_eq!(got, confidential);
    assert!(!got.is_public());
    let got = r
        .get_oidc_client(OTHER_CLIENT)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(got, public);
    assert!(got.is_public());
    assert!(r.get_oidc_client("rc_nope").await.expect("get").is_none());
    let listed: Vec<_> = r
        .list_oidc_clients()
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(listed, vec![CLIENT.to_string(), OTHER_CLIENT.to_string()]);
    let keys = r.list_signing_keys().await.expect("keys");
    let kids: Vec<_> = keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids, vec!["k-tie", "k-next", "k-mid", "k-old"]);
    assert_eq!(keys[0], k_tie);
    assert_eq!(keys[3], k_old);
    drop(r);

    let mut tx = store.begin().await.expect("begin");
    tx.delete_signing_key("k-old").await.expect("delete");
    tx.delete_signing_key("k-unknown").await.expect("no-op");
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    assert_eq!(r.list_signing_keys().await.expect("keys").len(), 3);
}

pub async fn oidc_grants_codes_and_refresh_tokens(store: Arc<dyn Store>) {
    let a = app("oc123", 5);
    let i = identity("grant@example.com");
    let m = linked(&a, &i, "grant@example.com");
    let g = grant(CLIENT, &i, &m, t0());
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("app");
    tx.insert_identity(&i).await.expect("identity");
    tx.insert_member(&m).await.expect("member");
    tx.insert_oidc_client(&client(CLIENT, "Billing", true, t0()))
        .await
        .expect("client");
    tx.insert_grant(&g).await.expect("grant");
    let code = AuthCode {
        code_hash: vec![1; 32],
        grant_id: g.id,
        client_id: CLIENT.into(),
        redirect_uri: "https://rp.example/cb".into(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        expires_at: t0() + Duration::seconds(60),
        used_at: None,
    };
    tx.insert_auth_code(&code).await.expect("code");
    let first = RefreshToken {
        token_hash: vec![2; 32],
        grant_id: g.id,
        created_at: t0(),
        expires_at: t0() + Duration::days(30),
        used_at: None,
    };
    tx.insert_refresh_token(&first).await.expect("refresh");
    tx.commit().await.expect("commit");

    let mut r = store.read().await.expect("read");
    assert_eq!(r.get_grant(g.id).await.expect("get"), Some(g.clone()));
    assert!(
        r.get_grant(uuid::Uuid::now_v7())
            .await
            .expect("get")
            .is_none()
    );
    drop(r);

    // a code: the first use gets it unused; the second sees the first use's time
    let used = t0() + Duration::seconds(10);
    let mut tx = store.begin().await.expect("begin");
    let once = tx.use_auth_code(&[1; 32], used).await.expect("use");
    assert_eq!(once, Some(code.clone()));
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    let twice = tx
        .use_auth_code(&[1; 32], used + Duration::seconds(5))
        .await
        .expect("use again")
        .expect("some");
    assert_eq!(twice.used_at, Some(used), "the first use's time is kept");
    assert_eq!(
        AuthCode {
            used_at: None,
            ..twice
        },
        code
    );
    assert!(
        tx.use_auth_code(&[7; 32], used)
            .await
            .expect("unknown")
            .is_none()
    );
    tx.touch_grant(g.id, used).await.expect("touch");

    // refresh: rotation uses the old one and adds the next; using the old one again shows it
    let rotated = t0() + Duration::minutes(10);
    let before = tx
        .use_refresh_token(&[2; 32], rotated)
        .await
        .expect("use")
        .expect("some");
    assert_eq!(before, first);
    let next = RefreshToken {
        token_hash: vec![3; 32],
        created_at: rotated,
        used_at: None,
        ..first.clone()
    };
    tx.insert_refresh_token(&next).await.expect("next");
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    let replayed = tx
        .use_refresh_token(&[2; 32], rotated + Duration::minutes(1))
        .await
        .expect("replay")
        .expect("some");
    assert_eq!(replayed.used_at, Some(rotated));
    assert!(
        tx.use_refresh_token(&[8; 32], rotated)
            .await
            .expect("unknown")
            .is_none()
    );
    // a replay revokes the grant, once
    assert!(tx.revoke_grant(g.id, rotated).await.expect("revoke"));
    assert!(!tx.revoke_grant(g.id, rotated).await.expect("again"));
    assert!(
        !tx.revoke_grant(uuid::Uuid::now_v7(), rotated)
            .await
            .expect("unknown")
    );
    tx.commit().await.expect("commit");

    let mut r = store.read().await.expect("read");
    let found = r
        .find_refresh_token(&[2; 32])
        .await
        .expect("find")
        .expect("some");
    assert_eq!(found.used_at, Some(rotated));
    assert_eq!(
        r.find_refresh_token(&[3; 32]).await.expect("find"),
        Some(next)
    );
    assert!(
        r.find_refresh_token(&[9; 32])
            .await
            .expect("find")
            .is_none()
    );
    let g2 = r.get_grant(g.id).await.expect("get").expect("some");
    assert_eq!(g2.revoked_at, Some(rotated));
    assert_eq!(g2.last_used_at, Some(used));
    assert_eq!(g2.amr, vec!["pwd", "otp", "mfa"]);
}

pub async fn oidc_revoking_grants_takes_only_live_ones(store: Arc<dyn Store>) {
    let a = app("oc234", 5);
    let b = app("oc345", 5);
    let ada = identity("ada@example.com");
    let bob = identity("bob@example.com");
    let ada_a = linked(&a, &ada, "ada@example.com");
    let ada_b = linked(&b, &ada, "ada@example.com");
    let bob_a = linked(&a, &bob, "bob@example.com");
    let live1 = grant(CLIENT, &ada, &ada_a, t0());
    let live2 = grant(OTHER_CLIENT, &ada, &ada_a, t0() + Duration::seconds(1));
    let mut dead = grant(CLIENT, &ada, &ada_a, t0() + Duration::seconds(2));
    dead.revoked_at = Some(t0() + Duration::seconds(3));
    let bobs = grant(CLIENT, &bob, &bob_a, t0());
    let in_b = grant(CLIENT, &ada, &ada_b, t0());
    let in_b_other = grant(OTHER_CLIENT, &ada, &ada_b, t0());
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("a");
    tx.insert_app(&b).await.expect("b");
    tx.insert_identity(&ada).await.expect("ada");
    tx.insert_identity(&bob).await.expect("bob");
    for m in [&ada_a, &ada_b, &bob_a] {
        tx.insert_member(m).await.expect("member");
    }
    tx.insert_oidc_client(&client(CLIENT, "Billing", true, t0()))
        .await
        .expect("client");
    tx.insert_oidc_client(&client(OTHER_CLIENT, "Mobile", false, t0()))
        .await
        .expect("client");
    for g in [&live1, &live2, &dead, &bobs, &in_b, &in_b_other] {
        tx.insert_grant(g).await.expect("grant");
    }
    tx.commit().await.expect("commit");

    // the member's live grants in that app, and only those, are revoked and returned
    let at = t0() + Duration::minutes(5);
    let mut tx = store.begin().await.expect("begin");
    let revoked = tx
        .revoke_member_grants(&a.app_id, ada_a.id, at)
        .await
        .expect("revoke member");
    let expect: Vec<_> = [&live1, &live2]
        .into_iter()
        .map(|g| OauthGrant {
            revoked_at: Some(at),
            ..g.clone()
        })
        .collect();
    let mut got = revoked.clone();
    got.sort_by_key(|g| g.id);
    let mut want = expect.clone();
    want.sort_by_key(|g| g.id);
    assert_eq!(got, want);
    assert!(
        tx.revoke_member_grants(&a.app_id, ada_a.id, at)
            .await
            .expect("again")
            .is_empty()
    );
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let still_dead = r.get_grant(dead.id).await.expect("get").expect("some");
    assert_eq!(still_dead.revoked_at, dead.revoked_at, "kept its own time");
    for g in [&bobs, &in_b, &in_b_other] {
        let now = r.get_grant(g.id).await.expect("get").expect("some");
        assert_eq!(now.revoked_at, None, "another member's grant stays live");
    }
    drop(r);

    // one client in one app
    let later = at + Duration::minutes(1);
    let mut tx = store.begin().await.expect("begin");
    let revoked = tx
        .revoke_client_grants(ada.id, OTHER_CLIENT, &b.app_id, later)
        .await
        .expect("revoke client");
    assert_eq!(
        revoked.iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![in_b_other.id]
    );
    assert_eq!(revoked[0].revoked_at, Some(later));
    // everything left of the ID, in any app
    let revoked = tx
        .revoke_identity_grants(ada.id, later)
        .await
        .expect("revoke identity");
    assert_eq!(
        revoked.iter().map(|g| g.id).collect::<Vec<_>>(),
        vec![in_b.id]
    );
    assert!(
        tx.revoke_identity_grants(ada.id, later)
            .await
            .expect("again")
            .is_empty()
    );
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let bobs_now = r.get_grant(bobs.id).await.expect("get").expect("some");
    assert_eq!(bobs_now.revoked_at, None);
}

pub async fn oidc_consents_and_connected_apps(store: Arc<dyn Store>) {
    let a = app("oc456", 5);
    let b = app("oc567", 5);
    let i = identity("consent@example.com");
    let other = identity("other@example.com");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("a");
    tx.insert_app(&b).await.expect("b");
    tx.insert_identity(&i).await.expect("identity");
    tx.insert_identity(&other).await.expect("other");
    tx.insert_oidc_client(&client(CLIENT, "Billing", true, t0()))
        .await
        .expect("client");
    tx.insert_oidc_client(&client(OTHER_CLIENT, "Mobile", false, t0()))
        .await
        .expect("client");
    let first = OidcConsent {
        identity_id: i.id,
        client_id: CLIENT.into(),
        app_id: a.app_id.clone(),
        scopes: vec!["openid".into()],
        created_at: t0(),
        last_used_at: t0(),
    };
    tx.upsert_consent(&first).await.expect("consent");
    let second = OidcConsent {
        client_id: OTHER_CLIENT.into(),
        app_id: b.app_id.clone(),
        last_used_at: t0() + Duration::hours(1),
        ..first.clone()
    };
    tx.upsert_consent(&second).await.expect("consent");
    tx.upsert_consent(&OidcConsent {
        identity_id: other.id,
        ..first.clone()
    })
    .await
    .expect("other's");
    tx.commit().await.expect("commit");

    // asked again later with more scopes: scopes and last use change, created_at stays
    let again = OidcConsent {
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        created_at: t0() + Duration::days(1),
        last_used_at: t0() + Duration::days(1),
        ..first.clone()
    };
    let mut tx = store.begin().await.expect("begin");
    tx.upsert_consent(&again).await.expect("upsert");
    tx.commit().await.expect("commit");

    let mut r = store.read().await.expect("read");
    let got = r
        .find_consent(i.id, CLIENT, &a.app_id)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(
        got,
        OidcConsent {
            created_at: t0(),
            ..again.clone()
        }
    );
    assert!(
        r.find_consent(i.id, CLIENT, &b.app_id)
            .await
            .expect("find")
            .is_none()
    );
    let apps = r.list_connected_apps(i.id).await.expect("connected");
    assert_eq!(apps.len(), 2);
    assert_eq!(apps[0].consent, got, "most recently used first");
    assert_eq!(
        (apps[0].client_name.as_str(), apps[0].app_name.as_str()),
        ("Billing", "App oc456")
    );
    assert_eq!(apps[1].consent, second);
    assert_eq!(
        (apps[1].client_name.as_str(), apps[1].app_name.as_str()),
        ("Mobile", "App oc567")
    );
    drop(r);

    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.delete_consent(i.id, CLIENT, &a.app_id)
            .await
            .expect("delete")
    );
    assert!(
        !tx.delete_consent(i.id, CLIENT, &a.app_id)
            .await
            .expect("again")
    );
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    assert_eq!(r.list_connected_apps(i.id).await.expect("list").len(), 1);
    assert_eq!(
        r.list_connected_apps(other.id).await.expect("list").len(),
        1
    );
}

fn logout(n: u128, due: OffsetDateTime, created: OffsetDateTime) -> BackchannelLogout {
    BackchannelLogout {
        id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + n),
        client_id: CLIENT.into(),
        uri: "https://rp.example/bcl".into(),
        sub: format!("sub-{n}"),
        sid: uuid::Uuid::now_v7(),
        created_at: created,
        attempts: 0,
        next_attempt_at: due,
        delivered_at: None,
        last_error: None,
    }
}

pub async fn oidc_backchannel_logout_claims_are_exclusive(store: Arc<dyn Store>) {
    let now = t0() + Duration::minutes(10);
    // due second, due first, not due yet
    let l1 = logout(1, now - Duration::minutes(1), t0());
    let l2 = logout(2, now - Duration::minutes(5), t0() + Duration::seconds(1));
    let l3 = logout(3, now + Duration::minutes(5), t0() + Duration::seconds(2));
    let mut tx = store.begin().await.expect("begin");
    tx.insert_oidc_client(&client(CLIENT, "Billing", true, t0()))
        .await
        .expect("client");
    for l in [&l1, &l2, &l3] {
        tx.insert_backchannel_logout(l).await.expect("logout");
    }
    tx.commit().await.expect("commit");

    let lease = now + Duration::seconds(30);
    let mut tx = store.begin().await.expect("begin");
    let claimed = tx
        .claim_backchannel_logouts("node-a", now, lease, 10)
        .await
        .expect("claim");
    assert_eq!(
        claimed,
        vec![l2.clone(), l1.clone()],
        "due ones, oldest due first"
    );
    tx.commit().await.expect("commit");
    // another worker, before the lease ends: nothing
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.claim_backchannel_logouts("node-b", now + Duration::seconds(10), lease, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    tx.commit().await.expect("commit");
    // the limit holds
    let mut tx = store.begin().await.expect("begin");
    let one = tx
        .claim_backchannel_logouts(
            "node-b",
            lease + Duration::seconds(1),
            lease + Duration::seconds(31),
            1,
        )
        .await
        .expect("claim");
    assert_eq!(one.iter().map(|l| l.id).collect::<Vec<_>>(), vec![l2.id]);
    drop(tx);

    // l2 delivered, l1 failed and retried in a minute; both claims released
    let at = now + Duration::seconds(5);
    let retry = now + Duration::minutes(1);
    let mut tx = store.begin().await.expect("begin");
    tx.record_backchannel_attempt(l2.id, at, None, retry)
        .await
        .expect("delivered");
    tx.record_backchannel_attempt(l1.id, at, Some("HTTP 503"), retry)
        .await
        .expect("failed");
    tx.commit().await.expect("commit");

    let mut r = store.read().await.expect("read");
    let all = r.list_backchannel_logouts(CLIENT).await.expect("list");
    assert_eq!(
        all.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![l3.id, l2.id, l1.id],
        "newest first"
    );
    assert_eq!(all[1].attempts, 1);
    assert_eq!(all[1].delivered_at, Some(at));
    assert_eq!(all[1].last_error, None);
    assert_eq!(all[2].attempts, 1);
    assert_eq!(all[2].delivered_at, None);
    assert_eq!(all[2].last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(all[2].next_attempt_at, retry);
    assert!(
        r.list_backchannel_logouts(OTHER_CLIENT)
            .await
            .expect("list")
            .is_empty()
    );
    drop(r);

    // before the retry time, nothing is due (the released claim does not make it due)
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.claim_backchannel_logouts("node-b", at, at + Duration::seconds(30), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    // much later: the failed one and the one due later, never the delivered one
    let later = now + Duration::hours(1);
    let claimed = tx
        .claim_backchannel_logouts("node-b", later, later + Duration::seconds(30), 10)
        .await
        .expect("claim");
    assert_eq!(
        claimed.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![l1.id, l3.id]
    );
    assert_eq!(claimed[0].attempts, 1);
    // a worker that died: its claim runs out and another takes the row
    let after = later + Duration::minutes(1);
    let taken = tx
        .claim_backchannel_logouts("node-c", after, after + Duration::seconds(30), 10)
        .await
        .expect("claim");
    assert_eq!(taken.len(), 2);
    tx.commit().await.expect("commit");
}

pub async fn session_amr_round_trip(store: Arc<dyn Store>) {
    let i = identity("amr@example.com");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_identity(&i).await.expect("identity");
    let mut ids = Vec::new();
    for (n, amr) in [
        (1u8, vec!["pwd", "otp", "mfa"]),
        (2, vec!["hwk"]),
        (3, vec![]),
    ] {
        let s = Session {
            id: SessionId::new(),
            token_hash: vec![n; 32],
            identity_id: i.id,
            app_id: None,
            created_at: t0(),
            last_seen_at: t0() + Duration::minutes(i64::from(n)),
            expires_at: t0() + Duration::days(1),
            client_addr: None,
            user_agent: None,
            amr: amr.into_iter().map(String::from).collect(),
        };
        ids.push(s.id);
        tx.insert_session(&s).await.expect("session");
    }
    tx.commit().await.expect("commit");

    let mut r = store.read().await.expect("read");
    let s = r.find_session(&[1; 32]).await.expect("find").expect("some");
    assert_eq!(s.amr, vec!["pwd", "otp", "mfa"]);
    let (s, who) = r
        .find_session_identity(&[2; 32])
        .await
        .expect("find")
        .expect("some");
    assert_eq!(s.amr, vec!["hwk"]);
    assert_eq!(who.id, i.id);
    let listed: Vec<_> = r
        .list_sessions(i.id)
        .await
        .expect("list")
        .into_iter()
        .map(|s| (s.id, s.amr))
        .collect();
    assert_eq!(
        listed,
        vec![
            (ids[2], vec![]),
            (ids[1], vec!["hwk".to_string()]),
            (
                ids[0],
                vec!["pwd".to_string(), "otp".to_string(), "mfa".to_string()]
            ),
        ]
    );
}
