//! Criterion benchmark: one page (50) of the member list at 1,000 and 100,000 members, per shape
//! (default filter, partners, selective search, broad search, 2-character search), on SQLite
//! and — when ROSTER_TEST_POSTGRES_URL is set — PostgreSQL. Store level (no HTTP).
//!
//! Run: `ROSTER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!       cargo bench -p roster-testkit --bench member_list`

use criterion::{Criterion, criterion_group, criterion_main};
use roster_core::model::{MemberFilter, MemberQuery};
use roster_testkit::conformance::seed_members;
use roster_testkit::{Backend, POSTGRES_ENV, fresh_store, raw_sql};
use std::time::Duration;

fn member_list(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let shapes: [(&str, MemberFilter, Option<&str>); 5] = [
        ("default", MemberFilter::ActiveInvited, None),
        ("partners", MemberFilter::Partners, None),
        (
            "q=quixote (1 hit)",
            MemberFilter::ActiveInvited,
            Some("quixote"),
        ),
        (
            "q=grace (10% hit)",
            MemberFilter::ActiveInvited,
            Some("grace"),
        ),
        ("q=zq (2 chars)", MemberFilter::ActiveInvited, Some("zq")),
    ];
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if backend == Backend::Postgres && std::env::var(POSTGRES_ENV).is_err() {
            eprintln!("member_list: PostgreSQL not measured (set {POSTGRES_ENV})");
            continue;
        }
        for n in [1_000usize, 100_000] {
            let (store, url, _guard) = rt.block_on(fresh_store(backend));
            let (a, _) = rt.block_on(seed_members(&store, "bm123", n));
            if backend == Backend::Postgres {
                rt.block_on(raw_sql(&url, "ANALYZE members"));
            }
            let mut g = c.benchmark_group(format!("member_list/{}/{n}", store.backend()));
            g.sample_size(30)
                .measurement_time(Duration::from_secs(3))
                .warm_up_time(Duration::from_secs(1));
            for (name, filter, search) in shapes {
                let q = MemberQuery {
                    filter,
                    search: search.map(String::from),
                    after: None,
                    limit: 50,
                };
                g.bench_function(name, |b| {
                    b.to_async(&rt).iter(|| async {
                        let mut r = store.read().await.expect("read");
                        r.list_members(&a.app_id, &q).await.expect("list")
                    })
                });
            }
            g.finish();
        }
    }
}

criterion_group!(benches, member_list);
criterion_main!(benches);
