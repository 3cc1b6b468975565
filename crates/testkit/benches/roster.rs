//! Criterion benchmarks: Argon2id at the production cost, invitation creation against a SQLite
//! file (seat check + invitation + audit + outbox in one transaction), and a login end to end
//! through the services (lockout bookkeeping + verify + session).
//!
//! Run: `cargo bench -p roster-testkit --bench roster`

use criterion::{Criterion, criterion_group, criterion_main};
use roster_core::password::{HashCost, Hasher};
use roster_core::service::{CreateApp, InviteRequest, NewIdentityForm};
use roster_core::types::MemberKind;
use roster_core::{Ctx, Principal, Services, Settings};
use roster_testkit::{Backend, GOOD_PASSWORD, fresh_store};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use time::OffsetDateTime;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn argon2(c: &mut Criterion) {
    let rt = rt();
    let hasher = Hasher::new(HashCost::default()).expect("hasher");
    let hash = rt
        .block_on(hasher.hash(GOOD_PASSWORD.into()))
        .expect("hash");
    let mut g = c.benchmark_group("argon2id_19MiB_t2_p1");
    g.sample_size(30);
    g.bench_function("hash", |b| {
        b.to_async(&rt)
            .iter(|| async { hasher.hash(GOOD_PASSWORD.into()).await.expect("hash") })
    });
    g.bench_function("verify", |b| {
        b.to_async(&rt).iter(|| async {
            hasher
                .verify(GOOD_PASSWORD.into(), Some(hash.clone()))
                .await
                .expect("verify")
        })
    });
    // two verifications at once: what 2 cores can do, the ceiling for logins/s
    g.bench_function("verify_2_parallel", |b| {
        b.to_async(&rt).iter(|| async {
            let (a, b) = tokio::join!(
                hasher.verify(GOOD_PASSWORD.into(), Some(hash.clone())),
                hasher.verify(GOOD_PASSWORD.into(), Some(hash.clone()))
            );
            (a.expect("a"), b.expect("b"))
        })
    });
    g.finish();
}

struct World {
    services: Arc<Services>,
    admin: Principal,
    app: roster_core::types::AppId,
    _dir: roster_testkit::DbGuard,
}

async fn world() -> World {
    let (store, _url, dir) = fresh_store(Backend::Sqlite).await;
    let services = Arc::new(Services::new(store, Settings::default()).expect("services"));
    let ctx = Ctx::at(OffsetDateTime::now_utc());
    let (app, issued) = services
        .create_app(
            &ctx,
            CreateApp {
                name: "Bench".into(),
                seats: 100_000,
                admin_email: "admin@bench.test".into(),
                admin_first_name: "Ada".into(),
                admin_last_name: None,
            },
        )
        .await
        .expect("app");
    let li = services
        .accept_new(
            &ctx,
            &issued.token,
            NewIdentityForm {
                first_name: "Ada".into(),
                last_name: None,
                password: GOOD_PASSWORD.into(),
                security_question: Some("first_car".into()),
                security_answer: Some("Volvo".into()),
                accept_terms: true,
            },
        )
        .await
        .expect("accept");
    let admin = services.authenticate(&ctx, &li.token).await.expect("auth");
    World {
        services,
        admin,
        app: app.app_id,
        _dir: dir,
    }
}

fn invitations(c: &mut Criterion) {
    let rt = rt();
    let w = rt.block_on(world());
    let n = AtomicU64::new(0);
    let mut g = c.benchmark_group("sqlite");
    g.bench_function("invite_user", |b| {
        b.to_async(&rt).iter(|| async {
            let i = n.fetch_add(1, Ordering::Relaxed);
            w.services
                .invite(
                    &Ctx::at(OffsetDateTime::now_utc()),
                    &w.admin,
                    &w.app,
                    InviteRequest {
                        email: format!("user{i}@bench.test"),
                        first_name: Some("U".into()),
                        last_name: None,
                        admin: false,
                        kind: MemberKind::User,
                    },
                )
                .await
                .expect("invite")
        })
    });
    g.sample_size(30);
    g.bench_function("login", |b| {
        b.to_async(&rt).iter(|| async {
            w.services
                .login(
                    &Ctx::at(OffsetDateTime::now_utc()),
                    "admin@bench.test",
                    GOOD_PASSWORD,
                    None,
                )
                .await
                .expect("login")
        })
    });
    g.finish();
}

criterion_group!(benches, argon2, invitations);
criterion_main!(benches);
