//! Criterion benchmark: a bulk invitation of 100,000 rows through the service (the same code
//! the API and the page run: parse, seats in list order, batches of 500 rows per transaction,
//! one outbox message and one audit row per invitation). SQLite, and PostgreSQL when
//! ROSTER_TEST_POSTGRES_URL is set. Target (issue 10): under 30 s on SQLite.
//!
//! Run: `cargo bench -p roster-testkit --bench bulk`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use roster_testkit::{Backend, POSTGRES_ENV, spawn_app};
use std::time::{Duration, Instant};

const ROWS: usize = 100_000;

fn bulk(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if backend == Backend::Postgres && std::env::var(POSTGRES_ENV).is_err() {
            eprintln!("bulk: PostgreSQL not measured (set {POSTGRES_ENV})");
            continue;
        }
        let t = rt.block_on(spawn_app(backend));
        let mut g = c.benchmark_group(format!("bulk/{}", t.store.backend()));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(60))
            .warm_up_time(Duration::from_millis(1))
            .throughput(Throughput::Elements(ROWS as u64));
        let mut round = 0u32;
        g.bench_function("invite 100,000 rows", |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let t = &t;
                round += 1;
                let round = round;
                async move {
                    let mut total = Duration::ZERO;
                    for i in 0..iters {
                        let name = format!("Bulk{round}x{i}");
                        // at most 100,000 seats at creation; the admin holds one, so one more
                        let (app, session) = t.app_with_admin(&name, ROWS as i64).await;
                        t.post(
                            &format!("/api/v1/apps/{app}/seats"),
                            Some(&session),
                            serde_json::json!({"quantity": 1}),
                        )
                        .await;
                        let p = t
                            .services
                            .authenticate(&t.ctx(), &session)
                            .await
                            .expect("principal");
                        let rows = roster_testkit::bulk_rows(ROWS);
                        let start = Instant::now();
                        let report = t
                            .services
                            .invite_bulk(&t.ctx(), &p, &app, rows)
                            .await
                            .expect("bulk");
                        total += start.elapsed();
                        assert_eq!(report.invited, ROWS);
                    }
                    total
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bulk);
criterion_main!(benches);
