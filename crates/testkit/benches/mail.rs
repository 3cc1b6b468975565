//! Criterion benchmark: outbox throughput — messages rendered (templates) and sent over SMTP
//! (lettre, pooled connections) to a local SMTP sink (a real TCP server in this process), each
//! outcome recorded in the store. Batches of 1,000 invitations per iteration; SQLite, and
//! PostgreSQL when ROSTER_TEST_POSTGRES_URL is set.
//!
//! Run: `ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!       cargo bench -p roster-testkit --bench mail`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use roster_core::model::{Mail, OutboxMessage};
use roster_core::types::{AppId, Email, MemberKind};
use roster_mail::{OutboxWorker, RetryPolicy, SmtpConfig, SmtpMailer};
use roster_testkit::smtp::SmtpSink;
use roster_testkit::{Backend, POSTGRES_ENV, fresh_store, test_renderer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const BATCH: usize = 1_000;

fn mail(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if backend == Backend::Postgres && std::env::var(POSTGRES_ENV).is_err() {
            eprintln!("mail: PostgreSQL not measured (set {POSTGRES_ENV})");
            continue;
        }
        let (store, _url, _guard) = rt.block_on(fresh_store(backend));
        let sink = rt.block_on(SmtpSink::start());
        let worker = rt.block_on(async {
            let mailer = SmtpMailer::new(&SmtpConfig {
                url: sink.url(),
                dkim: None,
                timeout: Duration::from_secs(10),
                pool_size: 8,
            })
            .expect("mailer");
            OutboxWorker::new(
                store.clone(),
                Arc::new(mailer),
                test_renderer("https://roster.example"),
                RetryPolicy::default(),
            )
        });
        let app = AppId::parse("ml123").expect("id");
        let mut g = c.benchmark_group(format!("mail/{}", store.backend()));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(20))
            .warm_up_time(Duration::from_secs(2))
            .throughput(Throughput::Elements(BATCH as u64));
        g.bench_function("send 1000 invitations over SMTP", |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let store = store.clone();
                let worker = worker.clone();
                let app = app.clone();
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let now = OffsetDateTime::now_utc();
                        let mut tx = store.begin().await.expect("begin");
                        for i in 0..BATCH {
                            let to = Email::parse(&format!("u{i}@example.com")).expect("email");
                            let m = Mail::Invitation {
                                kind: MemberKind::User,
                                app_name: "Bench".into(),
                                app_id: app.clone(),
                                inviter_name: "Ada".into(),
                                invitee_first_name: Some("U".into()),
                                admin: false,
                                expires_at: now,
                            };
                            tx.enqueue(&OutboxMessage::new(now, &to, m, Some("t".into())))
                                .await
                                .expect("enqueue");
                        }
                        tx.commit().await.expect("commit");
                        let start = Instant::now();
                        let r = worker.drain(now).await.expect("drain");
                        total += start.elapsed();
                        assert_eq!(r.sent, BATCH, "{r:?}");
                    }
                    total
                }
            })
        });
        g.finish();
        // connection pools belong to the runtime: drop them inside it
        rt.block_on(async move { drop(worker) });
    }
}

criterion_group!(benches, mail);
criterion_main!(benches);
