//! Conformance: the member list at scale is served by indexes (checked through the plan), and
//! gives the same pages as a plain in-memory model of its rules.

use super::{app, member};
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use std::sync::Arc;

/// Members seeded into the big app.
pub const BIG_APP_MEMBERS: usize = 20_000;

const FIRST: [&str; 10] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus",
];

/// The n-th seeded member: mostly Active, every 10th Inactive, every 10th+1 Invited, every 20th+3
/// a partner, every 97th Removed; one "Zebulon Quixote".
pub fn seeded_member(a: &App, n: usize) -> Member {
    let domain = ["example.com", "acme.test", "corp.example"][n % 3];
    let status = if n % 97 == 5 {
        MemberStatus::Removed
    } else {
        match n % 10 {
            0 => MemberStatus::Inactive,
            1 => MemberStatus::Invited,
            _ => MemberStatus::Active,
        }
    };
    let kind = if n % 20 == 3 {
        MemberKind::Partner
    } else {
        MemberKind::User
    };
    let mut m = member(a, &format!("m{n:05}@{domain}"), kind, status);
    if n == 4242 {
        m.first_name = Some("Zebulon".into());
        m.last_name = Some("Quixote".into());
    } else {
        m.first_name = Some(FIRST[n % FIRST.len()].into());
        m.last_name = (!n.is_multiple_of(4)).then(|| format!("Surname{}", n % 1000));
    }
    m
}

/// Insert `n` seeded members into a new app `app_id`, in one transaction.
pub async fn seed_members(store: &Arc<dyn Store>, app_id: &str, n: usize) -> (App, Vec<Member>) {
    let a = app(app_id, n as i64);
    let members: Vec<Member> = (0..n).map(|i| seeded_member(&a, i)).collect();
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&a).await.expect("app");
    for m in &members {
        tx.insert_member(m).await.expect("member");
    }
    tx.commit().await.expect("commit");
    (a, members)
}

/// The normalised emails of one page of the list.
async fn page_emails(
    r: &mut dyn roster_core::store::Queries,
    app: &AppId,
    q: &MemberQuery,
) -> Vec<String> {
    r.list_members(app, q)
        .await
        .expect("list")
        .iter()
        .map(|m| m.email.normalized().to_string())
        .collect()
}

/// The list's rules, in memory: what every shape must return.
fn model(all: &[Member], q: &MemberQuery) -> Vec<String> {
    let mut v: Vec<&Member> = all
        .iter()
        .filter(|m| match q.filter {
            MemberFilter::ActiveInvited => {
                matches!(m.status, MemberStatus::Active | MemberStatus::Invited)
            }
            MemberFilter::Inactive => m.status == MemberStatus::Inactive,
            MemberFilter::Partners => {
                m.kind == MemberKind::Partner && m.status != MemberStatus::Removed
            }
        })
        .filter(|m| q.after.as_deref().is_none_or(|a| m.email.normalized() > a))
        .filter(|m| match q.search_shape() {
            None => true,
            // 3+ characters: anywhere in the email or "first last"
            Some((s, true)) => {
                let name = format!(
                    "{} {}",
                    m.first_name.as_deref().unwrap_or(""),
                    m.last_name.as_deref().unwrap_or("")
                )
                .to_ascii_lowercase();
                m.email.normalized().contains(s) || name.contains(s)
            }
            // 1–2 characters: the start of the email, the first name or the last name
            Some((s, false)) => {
                let starts = |n: &Option<String>| {
                    n.as_deref()
                        .is_some_and(|n| n.to_ascii_lowercase().starts_with(s))
                };
                m.email.normalized().starts_with(s) || starts(&m.first_name) || starts(&m.last_name)
            }
        })
        .collect();
    v.sort_by(|a, b| a.email.normalized().cmp(b.email.normalized()));
    v.into_iter()
        .take(q.limit as usize)
        .map(|m| m.email.normalized().to_string())
        .collect()
}

fn index_for(filter: MemberFilter) -> &'static str {
    match filter {
        MemberFilter::ActiveInvited => "members_app_current",
        MemberFilter::Inactive => "members_app_status",
        MemberFilter::Partners => "members_app_partners",
    }
}

/// Asserts, from the plan text, that the shape is served by indexes.
/// `broad`: the search matches a tenth of the members or more; the filter's index is then read in
/// order (SQLite by its own count, PostgreSQL's planner may for 3+ characters and does by the
/// store's count for shorter ones). Any other search of 3+ characters uses the trigram index, and
/// of 1–2 characters the prefix ranges of the email's and the names' indexes.
fn assert_plan_uses_indexes(backend: &str, q: &MemberQuery, plan: &str, broad: bool) {
    let why = format!("{backend} plan for {q:?}:\n{plan}");
    let indexed_search = q.search_shape().is_some_and(|(_, long)| long);
    let prefix_search = q.search_shape().is_some_and(|(_, long)| !long);
    match backend {
        "sqlite" => {
            assert!(
                !plan.lines().any(|l| l.trim_start().starts_with("SCAN m ")),
                "full scan of members; {why}"
            );
            if prefix_search && !broad {
                for range in [
                    "INDEX sqlite_autoindex_members_2 (app_id=? AND email_norm>? AND email_norm<?)",
                    "INDEX members_app_first_name (app_id=? AND <expr>>? AND <expr><?)",
                    "INDEX members_app_last_name (app_id=? AND <expr>>? AND <expr><?)",
                ] {
                    assert!(plan.contains(range), "no prefix range {range}; {why}");
                }
            } else if indexed_search && !broad {
                // the matches from the FTS5 trigram index first, then members by primary key
                let mut lines = plan.lines();
                assert_eq!(lines.next(), Some("matches:"), "{why}");
                assert!(
                    lines
                        .next()
                        .unwrap_or("")
                        .starts_with("SCAN member_search_fts VIRTUAL TABLE INDEX 0:M"),
                    "search does not start from the FTS5 index; {why}"
                );
                assert!(plan.contains("page:\nSCAN j VIRTUAL TABLE"), "{why}");
                assert!(plan.contains("SEARCH s USING INTEGER PRIMARY KEY"), "{why}");
                assert!(
                    plan.contains("SEARCH m USING INDEX sqlite_autoindex_members_1 (id=?)"),
                    "{why}"
                );
            } else {
                let idx = index_for(q.filter);
                assert!(
                    plan.contains(&format!("SEARCH m USING INDEX {idx} (app_id=?")),
                    "filter does not use {idx}; {why}"
                );
                assert!(
                    !plan.contains("TEMP B-TREE"),
                    "sorts instead of reading the index in order; {why}"
                );
                if q.after.is_some() {
                    assert!(
                        plan.contains("email_norm>?"),
                        "cursor is not an index range; {why}"
                    );
                }
            }
        }
        "postgres" => {
            assert!(
                !plan.contains("Seq Scan on members"),
                "full scan of members; {why}"
            );
            if prefix_search && !broad {
                for idx in [
                    "members_app_email_prefix",
                    "members_app_first_name",
                    "members_app_last_name",
                ] {
                    assert!(plan.contains(&format!("using {idx}")), "no {idx}; {why}");
                }
            } else if indexed_search && !broad {
                assert!(
                    plan.contains("members_email_trgm") && plan.contains("members_name_trgm"),
                    "search does not use the trigram indexes; {why}"
                );
            } else if !broad || prefix_search {
                // an index scan in page order, or (a broad term after a cursor, few rows left)
                // a bitmap scan of the same index and a sort
                let idx = index_for(q.filter);
                assert!(
                    plan.contains(&format!("using {idx}")) || plan.contains(&format!("on {idx}")),
                    "filter does not use {idx}; {why}"
                );
                if q.after.is_some() {
                    assert!(
                        plan.lines()
                            .any(|l| l.contains("Index Cond:") && l.contains("email_norm >")),
                        "cursor is not an index range; {why}"
                    );
                }
            }
        }
        other => panic!("no plan rules for backend {other}"),
    }
}

/// ≥ 20,000 members: every filter / cursor / search shape of the member list uses an index
/// (asserted through `EXPLAIN`), and returns what the list's rules say.
pub async fn member_list_uses_indexes_at_scale(store: Arc<dyn Store>, url: &str) {
    let (big, all) = seed_members(&store, "ix123", BIG_APP_MEMBERS).await;
    // another tenant with the same names: never in the big app's pages
    seed_members(&store, "ix456", 300).await;
    if store.backend() == "postgres" {
        // what autovacuum does after a bulk load; the planner needs row counts
        crate::raw_sql(url, "ANALYZE members").await;
    }
    let cursor = all[10_000].email.normalized().to_string();
    let mut r = store.read().await.expect("read");
    for filter in [
        MemberFilter::ActiveInvited,
        MemberFilter::Inactive,
        MemberFilter::Partners,
    ] {
        for after in [None, Some(cursor.clone())] {
            for search in [
                None,
                Some(""),
                Some("zq"),
                Some("e."),
                Some("ze"),
                Some("gr"),
                Some("m1"),
                Some("s"),
                Some("quixote"),
                Some("m1234"),
                Some("grace surname12"),
                // every trigram is somewhere, the rare ones all in "zebulon quixote": found by
                // the FTS index (SQLite), dropped by the check of the whole term
                Some("zebulon surname"),
                Some("grace"),
            ] {
                let q = MemberQuery {
                    filter,
                    search: search.map(String::from),
                    after: after.clone(),
                    limit: 50,
                };
                let plan = r
                    .explain_list_members(&big.app_id, &q)
                    .await
                    .expect("explain");
                // the plans, for docs: `cargo test … -- --nocapture`
                println!(
                    "--- {} {filter:?} after={} q={search:?}\n{plan}",
                    store.backend(),
                    after.is_some()
                );
                let broad = matches!(search, Some("grace" | "gr" | "m1" | "s"));
                assert_plan_uses_indexes(store.backend(), &q, &plan, broad);
                let got = page_emails(&mut *r, &big.app_id, &q).await;
                assert_eq!(got, model(&all, &q), "{q:?}");
            }
        }
    }
    let q = MemberQuery {
        filter: MemberFilter::ActiveInvited,
        search: Some("quixote".into()),
        after: None,
        limit: 50,
    };
    let found = r.list_members(&big.app_id, &q).await.expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].first_name.as_deref(), Some("Zebulon"));
    // two letters: the start of a name, not the middle of one
    for (term, hits) in [("zE", 1), ("eb", 0), ("qu", 1), ("ix", 0)] {
        let q = MemberQuery {
            search: Some(term.to_lowercase()),
            ..q.clone()
        };
        let found = r.list_members(&big.app_id, &q).await.expect("search");
        assert_eq!(found.len(), hits, "{term}");
    }
    drop(r);
    // beyond ASCII: prefix ranges are in code point order (names written in lower case: only
    // PostgreSQL's lower() folds non-ASCII capitals, docs/decisions.md)
    let small = app("ix789", 10);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&small).await.expect("app");
    for (email, first, last) in [
        ("östen@example.com", "östen", "zoë"),
        ("o@example.com", "olaf", "ström"),
        ("p@example.com", "pär", "\u{10FFFF}x"),
        ("q@example.com", "q\u{10FFFF}r", "q"),
    ] {
        let mut m = member(&small, email, MemberKind::User, MemberStatus::Active);
        m.first_name = Some(first.into());
        m.last_name = Some(last.into());
        tx.insert_member(&m).await.expect("member");
    }
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    for (term, want) in [
        ("ö", vec!["östen@example.com"]),
        ("zo", vec!["östen@example.com"]),
        ("oë", vec![]),
        ("st", vec!["o@example.com"]),
        ("zoë", vec!["östen@example.com"]),
        ("tröm", vec!["o@example.com"]),
        ("pä", vec!["p@example.com"]),
        // the top of the code space: the range's end is "\u{10FFFF}y", then "r"
        ("\u{10FFFF}x", vec!["p@example.com"]),
        ("q\u{10FFFF}", vec!["q@example.com"]),
        // only U+10FFFF (a noncharacter): no range has an end, so nothing (docs/decisions.md)
        ("\u{10FFFF}", vec![]),
    ] {
        let q = MemberQuery {
            search: Some(term.into()),
            limit: 50,
            ..MemberQuery::default()
        };
        let got = page_emails(&mut *r, &small.app_id, &q).await;
        assert_eq!(got, want, "{term:?}");
    }
}
