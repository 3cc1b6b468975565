//! The member list: one static statement per filter / cursor / search shape, SQLite.
//!
//! No catch-all `(? IS NULL OR …)` terms, no `LIKE ?` and no plain `LIMIT ?`: a catch-all keeps
//! the planner from using the cursor as a range of the index, and SQLite re-prepares a statement
//! on every re-bind of a `LIKE` pattern (the LIKE optimisation) or of a bare `LIMIT ?` parameter,
//! which cost 31 % of CPU on the list (tested below: `rebinding_…_does_not_reprepare`).
//! Searches of 3+ characters are substrings (same results as the old `LIKE '%q%'`: both sides
//! are lower case, and `LIKE` only folded ASCII): their matches are found first through the FTS5
//! trigram index `member_search_fts` (the rarer trigrams of a long term: `members.rs`), then
//! checked with `instr` and sorted. Shorter ones match the start of the email, first name or last name, through prefix
//! ranges of `sqlite_autoindex_members_2` (app_id, email_norm), `members_app_first_name` and
//! `members_app_last_name`. A term with many matches (`MemberQuery::BROAD_MATCHES`) is checked
//! row by row along the filter's index instead (`instr`, or the same ranges).

use roster_core::StoreError;
use roster_core::model::{MemberFilter, MemberQuery};
use std::sync::LazyLock;

macro_rules! member_cols {
    ($t:ident) => {
        concat!(
            stringify!($t),
            ".id, ",
            stringify!($t),
            ".app_id, ",
            stringify!($t),
            ".identity_id, ",
            stringify!($t),
            ".email, ",
            stringify!($t),
            ".first_name, ",
            stringify!($t),
            ".last_name, ",
            stringify!($t),
            ".kind, ",
            stringify!($t),
            ".admin, ",
            stringify!($t),
            ".status, ",
            stringify!($t),
            ".holds_seat, ",
            stringify!($t),
            ".created_at, ",
            stringify!($t),
            ".last_login_at"
        )
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    None,
    /// A broad substring (3+ characters): `instr` row by row along the filter's index.
    Substring,
    /// A substring: the FTS5 matches found first (their `seq`s, a JSON array), checked with
    /// `instr` (the FTS query may be a superset: the rarer trigrams only).
    Indexed,
    /// A broad short term: the start of the email or a name, checked row by row.
    Prefix,
    /// A short term through the prefix ranges of three indexes.
    PrefixIndexed,
}

const FILTERS: [MemberFilter; 3] = [
    MemberFilter::ActiveInvited,
    MemberFilter::Inactive,
    MemberFilter::Partners,
];
const SEARCHES: [Search; 5] = [
    Search::None,
    Search::Substring,
    Search::Indexed,
    Search::Prefix,
    Search::PrefixIndexed,
];

fn shape_index(filter: MemberFilter, cursor: bool, search: Search) -> usize {
    let f = match filter {
        MemberFilter::ActiveInvited => 0,
        MemberFilter::Inactive => 1,
        MemberFilter::Partners => 2,
    };
    let s = match search {
        Search::None => 0,
        Search::Substring => 1,
        Search::Indexed => 2,
        Search::Prefix => 3,
        Search::PrefixIndexed => 4,
    };
    (f * 2 + usize::from(cursor)) * SEARCHES.len() + s
}

/// The filter's condition, written exactly as the partial index it uses.
fn filter_sql(filter: MemberFilter) -> &'static str {
    match filter {
        // members_app_current
        MemberFilter::ActiveInvited => "m.status IN ('invited', 'active')",
        // members_app_status (app_id, status, email_norm)
        MemberFilter::Inactive => "m.status = 'inactive'",
        // members_app_partners
        MemberFilter::Partners => "m.kind = 'partner' AND m.status <> 'removed'",
    }
}

/// Parameters: ?1 app, ?2 limit, then the cursor (if any), then the search (if any).
fn build(filter: MemberFilter, cursor: bool, search: Search) -> String {
    let mut sql = if search == Search::Indexed {
        // From the FTS matches (found first, at most `BROAD_MATCHES`) to their members (CROSS
        // JOIN fixes that order): the work is proportional to the matches, not to the app.
        format!(
            concat!(
                "SELECT ",
                member_cols!(m),
                " FROM json_each(?{}) j CROSS JOIN member_search s ON s.seq = j.value \
                 CROSS JOIN members m ON m.id = s.member_id WHERE m.app_id = ?1 AND {}"
            ),
            if cursor { 4 } else { 3 },
            filter_sql(filter)
        )
    } else {
        format!(
            concat!(
                "SELECT ",
                member_cols!(m),
                " FROM members m WHERE {}m.app_id = ?1 AND {}"
            ),
            if search == Search::PrefixIndexed {
                "+"
            } else {
                ""
            },
            filter_sql(filter)
        )
    };
    let mut n = 3;
    if cursor {
        sql.push_str(&format!(" AND m.email_norm > ?{n}"));
        n += 1;
    }
    let to = n + 1;
    match search {
        Search::None => {}
        Search::Substring => sql.push_str(&format!(
            " AND (instr(m.email_norm, ?{n}) > 0 OR instr(lower(coalesce(m.first_name, '') || ' ' || \
             coalesce(m.last_name, '')), ?{n}) > 0)"
        )),
        Search::Indexed => sql.push_str(&format!(
            " AND (instr(s.email_norm, ?{to}) > 0 OR instr(s.name, ?{to}) > 0)"
        )),
        Search::Prefix => sql.push_str(&format!(
            " AND (m.email_norm >= ?{n} AND m.email_norm < ?{to} \
             OR lower(m.first_name) >= ?{n} AND lower(m.first_name) < ?{to} \
             OR lower(m.last_name) >= ?{n} AND lower(m.last_name) < ?{to})"
        )),
        // The matches' rowids from three index ranges, then each row by its rowid: `+m.app_id`
        // keeps the planner from reading the filter's index instead (that would read the app).
        Search::PrefixIndexed => sql.push_str(&format!(
            " AND m.rowid IN (\
             SELECT rowid FROM members WHERE app_id = ?1 AND email_norm >= ?{n} AND email_norm < ?{to} \
             UNION ALL SELECT rowid FROM members WHERE app_id = ?1 AND lower(first_name) >= ?{n} \
             AND lower(first_name) < ?{to} \
             UNION ALL SELECT rowid FROM members WHERE app_id = ?1 AND lower(last_name) >= ?{n} \
             AND lower(last_name) < ?{to})"
        )),
    }
    // `+?2`, not `?2`: SQLite re-prepares a statement whose plain `LIMIT ?` is re-bound.
    sql.push_str(" ORDER BY m.email_norm LIMIT +?2");
    sql
}

static STATEMENTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut v = vec![String::new(); FILTERS.len() * 2 * SEARCHES.len()];
    for f in FILTERS {
        for c in [false, true] {
            for s in SEARCHES {
                v[shape_index(f, c, s)] = build(f, c, s);
            }
        }
    }
    v
});

/// An FTS5 phrase: a quoted string (no operators), which the trigram tokenizer matches as a
/// substring.
pub(crate) fn fts_phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A search term with at least `MemberQuery::BROAD_MATCHES` matches is "broad": sorting all
/// its matches costs more than reading the filter's index in order and checking each row (a page
/// fills quickly). This is the choice PostgreSQL's planner makes from its statistics; SQLite has
/// none for FTS, so it is made here. FTS matches are counted in all apps (the FTS table has no
/// app), prefix matches in the app. Every count stops at the threshold (the `LIMIT 1000`s).
pub(crate) const COUNT_MATCHES: &str = "SELECT count(*) FROM (SELECT 1 FROM member_search_fts \
     WHERE member_search_fts MATCH ?1 LIMIT 1000)";

/// The FTS matches of a query (`seq`s of `member_search`), up to the threshold.
pub(crate) const MATCHES: &str =
    "SELECT rowid FROM member_search_fts WHERE member_search_fts MATCH ?1 LIMIT 1000";

/// Counts prefix matches (?1 app, ?2 from, ?3 to) in the three ranges, each up to the threshold.
pub(crate) const COUNT_PREFIX: &str = "SELECT \
     (SELECT count(*) FROM (SELECT 1 FROM members WHERE app_id = ?1 AND email_norm >= ?2 \
      AND email_norm < ?3 LIMIT 1000)) \
     + (SELECT count(*) FROM (SELECT 1 FROM members WHERE app_id = ?1 AND lower(first_name) >= ?2 \
      AND lower(first_name) < ?3 LIMIT 1000)) \
     + (SELECT count(*) FROM (SELECT 1 FROM members WHERE app_id = ?1 AND lower(last_name) >= ?2 \
      AND lower(last_name) < ?3 LIMIT 1000))";

/// At most this many of a long term's trigrams are counted (spread over the term).
const PROBED_TRIGRAMS: usize = 8;

/// A term with at most this many distinct trigrams is matched as one FTS phrase, uncounted.
pub(crate) const PHRASE_TRIGRAMS: usize = 3;

/// The distinct trigrams of a term to count, as FTS phrases: all of them, or for a long term
/// `PROBED_TRIGRAMS` spread from its first to its last.
///
/// Why: an FTS5 phrase of the whole term reads the posting list of every trigram in it, and
/// the common ones ("sur", "ame" in "surname42") are most of the members — 4–5 ms at 100,000
/// members for a term with 800 matches. The trigrams that are rare (counted, each up to the
/// threshold: cheap) find the same members, or a few more, which `instr` then drops.
pub(crate) fn probe_trigrams(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    let all: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    let picked: Vec<&String> = if all.len() <= PROBED_TRIGRAMS {
        all.iter().collect()
    } else {
        (0..PROBED_TRIGRAMS)
            .filter_map(|i| all.get(i * (all.len() - 1) / (PROBED_TRIGRAMS - 1)))
            .collect()
    };
    let mut out: Vec<String> = Vec::new();
    for t in picked {
        let phrase = fts_phrase(t);
        if !out.contains(&phrase) {
            out.push(phrase);
        }
    }
    out
}

/// An FTS5 query that all the phrases must match (a superset of the term's matches).
pub(crate) fn all_of(phrases: &[String]) -> String {
    phrases.join(" AND ")
}

/// How a query's search runs, decided from the indexes first (`members.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SearchPlan {
    None,
    /// 1–2 characters; `broad`: at least the threshold of matches in the app.
    Prefix {
        broad: bool,
    },
    /// 3+ characters with at least the threshold of FTS matches.
    BroadSubstring,
    /// 3+ characters: the FTS matches (`seq`s, fewer than the threshold) of the FTS query `fts`
    /// (the whole term, or its rarer trigrams); `instr` checks them.
    Substring {
        fts: String,
        seqs: Vec<i64>,
    },
}

/// The statement and its parameters for a query and its search plan.
pub(crate) fn statement(
    app_id: &str,
    q: &MemberQuery,
    plan: &SearchPlan,
) -> Result<(&'static str, Vec<rusqlite::types::Value>), StoreError> {
    use rusqlite::types::Value;
    let term = || q.search.clone().unwrap_or_default();
    let (search, args) = match plan {
        SearchPlan::None => (Search::None, vec![]),
        SearchPlan::BroadSubstring => (Search::Substring, vec![term()]),
        SearchPlan::Substring { seqs, .. } => {
            let list = seqs
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            (Search::Indexed, vec![format!("[{list}]"), term()])
        }
        SearchPlan::Prefix { broad } => match q.prefix_range() {
            Some((from, to)) if *broad => (Search::Prefix, vec![from, to]),
            Some((from, to)) => (Search::PrefixIndexed, vec![from, to]),
            // only U+10FFFF: no upper bound to a range, so nothing matches (decided, see
            // `MemberQuery::prefix_range`)
            None => (Search::PrefixIndexed, vec![String::new(), String::new()]),
        },
    };
    let sql = STATEMENTS
        .get(shape_index(q.filter, q.after.is_some(), search))
        .map(String::as_str)
        .ok_or_else(|| StoreError::Other("no statement for this member list shape".into()))?;
    let mut params = vec![
        Value::Text(app_id.to_string()),
        Value::Integer(i64::from(q.limit)),
    ];
    if let Some(a) = &q.after {
        params.push(Value::Text(a.clone()));
    }
    params.extend(args.into_iter().map(Value::Text));
    Ok((sql, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_has_its_own_statement() {
        let mut all: Vec<&String> = STATEMENTS.iter().collect();
        assert!(all.iter().all(|s| !s.is_empty()));
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 30);
        assert!(
            STATEMENTS
                .iter()
                .all(|s| !s.contains("IS NULL") && !s.contains("LIKE"))
        );
    }

    /// Re-binding the search must not re-prepare the statement (the `LIKE ?` problem).
    #[tokio::test]
    async fn rebinding_the_search_does_not_reprepare() {
        use roster_core::store::Store;
        let path =
            std::env::temp_dir().join(format!("roster-reprepare-{}.db", uuid::Uuid::new_v4()));
        let store = crate::SqliteStore::connect(&format!("sqlite:{}", path.display()))
            .await
            .expect("open");
        store.migrate().await.expect("migrate");
        let conn = crate::open(&path, true).expect("conn");
        for filter in FILTERS {
            for after in [None, Some("m")] {
                for (search, broad) in [None, Some("ab"), Some("quixote")]
                    .into_iter()
                    .flat_map(|s| [(s, false), (s, true)])
                {
                    let plan = |n: usize| match search.map(|s| s.len() >= 3) {
                        None => SearchPlan::None,
                        Some(false) => SearchPlan::Prefix { broad },
                        Some(true) if broad => SearchPlan::BroadSubstring,
                        Some(true) => SearchPlan::Substring {
                            fts: "\"qui\"".into(),
                            seqs: (0..n as i64).collect(),
                        },
                    };
                    let mut sql = "";
                    for n in 0..3 {
                        let q = MemberQuery {
                            filter,
                            search: search.map(|s: &str| s.chars().skip(n % 2).collect()),
                            after: after.map(|a: &str| format!("{a}{n}")),
                            limit: 50 + n as u32,
                        };
                        let (s, params) =
                            statement(&format!("ab{n}"), &q, &plan(n)).expect("statement");
                        assert!(sql.is_empty() || sql == s, "one statement per shape");
                        sql = s;
                        let mut st = conn.prepare_cached(sql).expect("prepare");
                        let mut rows = st.query(rusqlite::params_from_iter(params)).expect("query");
                        while rows.next().expect("row").is_some() {}
                        drop(rows);
                        let reprepared = st.get_status(rusqlite::StatementStatus::RePrepare);
                        assert_eq!(reprepared, 0, "{sql}");
                    }
                }
            }
        }
        for probe in [COUNT_MATCHES, MATCHES] {
            let mut st = conn.prepare_cached(probe).expect("prepare");
            for phrase in ["\"abc\"", "\"qui\" AND \"ote\""] {
                let mut rows = st.query([phrase]).expect("probe");
                while rows.next().expect("row").is_some() {}
            }
            assert_eq!(st.get_status(rusqlite::StatementStatus::RePrepare), 0);
        }
        let mut st = conn.prepare_cached(COUNT_PREFIX).expect("prepare");
        for (from, to) in [("a", "b"), ("zq", "zr")] {
            let _: i64 = st
                .query_row(["ab1", from, to], |r| r.get(0))
                .expect("count");
        }
        assert_eq!(st.get_status(rusqlite::StatementStatus::RePrepare), 0);
        drop(st);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn long_terms_probe_spread_distinct_trigrams_and_counts_stop_at_the_threshold() {
        assert_eq!(probe_trigrams("abc"), ["\"abc\""]);
        assert_eq!(probe_trigrams("aaaa"), ["\"aaa\""]);
        assert_eq!(
            probe_trigrams("surname42"),
            ["sur", "urn", "rna", "nam", "ame", "me4", "e42"].map(|t| format!("\"{t}\""))
        );
        let long = probe_trigrams("abcdefghijklmnopqrstuvwxyz");
        assert_eq!(long.len(), PROBED_TRIGRAMS);
        assert_eq!(long.first().map(String::as_str), Some("\"abc\""));
        assert_eq!(long.last().map(String::as_str), Some("\"xyz\""));
        assert_eq!(probe_trigrams("é\"ü"), ["\"é\"\"ü\""]);
        assert_eq!(all_of(&probe_trigrams("abcd")), "\"abc\" AND \"bcd\"");
        let limit = format!("LIMIT {}", MemberQuery::BROAD_MATCHES);
        for sql in [COUNT_MATCHES, MATCHES, COUNT_PREFIX] {
            assert!(sql.contains(&limit), "{sql}");
        }
    }

    #[test]
    fn phrases_are_quoted() {
        assert_eq!(fts_phrase("a\"b c"), "\"a\"\"b c\"");
    }
}
