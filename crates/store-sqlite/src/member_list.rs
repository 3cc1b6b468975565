//! The member list: one static statement per filter / cursor / search shape, SQLite.
//!
//! No catch-all `(? IS NULL OR …)` terms, no `LIKE ?` and no plain `LIMIT ?`: a catch-all keeps
//! the planner from using the cursor as a range of the index, and SQLite re-prepares a statement
//! on every re-bind of a `LIKE` pattern (the LIKE optimisation) or of a bare `LIMIT ?` parameter,
//! which cost 31 % of CPU on the list (tested below: `rebinding_…_does_not_reprepare`).
//! Searches of 3+ characters go through the FTS5 trigram index `member_search_fts`; shorter ones
//! use `instr` along the filter's index (same results as the old `LIKE '%q%'`: both sides are
//! lower case, and `LIKE` only folded ASCII).

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
    /// Fewer than 3 characters: `instr` row by row.
    Short,
    /// The FTS5 trigram index.
    Indexed,
}

const FILTERS: [MemberFilter; 3] = [
    MemberFilter::ActiveInvited,
    MemberFilter::Inactive,
    MemberFilter::Partners,
];
const SEARCHES: [Search; 3] = [Search::None, Search::Short, Search::Indexed];

fn shape_index(filter: MemberFilter, cursor: bool, search: Search) -> usize {
    let f = match filter {
        MemberFilter::ActiveInvited => 0,
        MemberFilter::Inactive => 1,
        MemberFilter::Partners => 2,
    };
    let s = match search {
        Search::None => 0,
        Search::Short => 1,
        Search::Indexed => 2,
    };
    (f * 2 + usize::from(cursor)) * 3 + s
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
        // From the FTS matches to their members (CROSS JOIN fixes that order): the work is
        // proportional to the matches, not to the app's members.
        format!(
            concat!(
                "SELECT ",
                member_cols!(m),
                " FROM member_search_fts CROSS JOIN member_search s ON s.seq = member_search_fts.rowid \
                 CROSS JOIN members m ON m.id = s.member_id WHERE m.app_id = ?1 AND {}"
            ),
            filter_sql(filter)
        )
    } else {
        format!(
            concat!(
                "SELECT ",
                member_cols!(m),
                " FROM members m WHERE m.app_id = ?1 AND {}"
            ),
            filter_sql(filter)
        )
    };
    let mut n = 3;
    if cursor {
        sql.push_str(&format!(" AND m.email_norm > ?{n}"));
        n += 1;
    }
    match search {
        Search::None => {}
        Search::Short => sql.push_str(&format!(
            " AND (instr(m.email_norm, ?{n}) > 0 OR instr(lower(coalesce(m.first_name, '') || ' ' || \
             coalesce(m.last_name, '')), ?{n}) > 0)"
        )),
        Search::Indexed => sql.push_str(&format!(" AND member_search_fts MATCH ?{n}")),
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

/// An FTS5 phrase: the whole search as one quoted string (no operators), which the trigram
/// tokenizer matches as a substring.
fn fts_phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A search term with at least this many FTS matches (in all apps) is "broad": sorting all its
/// matches costs more than reading the filter's index in order and checking each row (about
/// one row in ten or more matches, so a page fills quickly). This is the choice PostgreSQL's
/// planner makes from its statistics; SQLite has none for FTS, so it is made here.
pub(crate) const BROAD_MATCHES: i64 = 1_000;

/// Counts FTS matches up to `BROAD_MATCHES` (cheap: stops there).
pub(crate) const COUNT_MATCHES: &str = "SELECT count(*) FROM (SELECT 1 FROM member_search_fts \
     WHERE member_search_fts MATCH ?1 LIMIT 1000)";

/// The FTS argument of an indexed search, for `COUNT_MATCHES`.
pub(crate) fn indexed_search(q: &MemberQuery) -> Option<String> {
    match q.search_shape() {
        Some((s, true)) => Some(fts_phrase(s)),
        _ => None,
    }
}

/// The statement and its parameters for a query; `broad`: the search term is broad (see
/// `BROAD_MATCHES`), so it is checked row by row along the filter's index.
pub(crate) fn statement(
    app_id: &str,
    q: &MemberQuery,
    broad: bool,
) -> Result<(&'static str, Vec<rusqlite::types::Value>), StoreError> {
    use rusqlite::types::Value;
    let (search, arg) = match q.search_shape() {
        None => (Search::None, None),
        Some((s, false)) => (Search::Short, Some(s.to_string())),
        Some((s, true)) if broad => (Search::Short, Some(s.to_string())),
        Some((s, true)) => (Search::Indexed, Some(fts_phrase(s))),
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
    if let Some(s) = arg {
        params.push(Value::Text(s));
    }
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
        assert_eq!(all.len(), 18);
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
                for search in [None, Some("ab"), Some("quixote")] {
                    let mut sql = "";
                    for n in 0..3 {
                        let q = MemberQuery {
                            filter,
                            search: search.map(|s: &str| s.chars().skip(n % 2).collect()),
                            after: after.map(|a: &str| format!("{a}{n}")),
                            limit: 50 + n as u32,
                        };
                        let (s, params) =
                            statement(&format!("ab{n}"), &q, false).expect("statement");
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
        let mut st = conn.prepare_cached(COUNT_MATCHES).expect("prepare");
        for phrase in ["\"abc\"", "\"quixote\""] {
            let _: i64 = st.query_row([phrase], |r| r.get(0)).expect("count");
        }
        assert_eq!(st.get_status(rusqlite::StatementStatus::RePrepare), 0);
        drop(st);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn phrases_are_quoted() {
        assert_eq!(fts_phrase("a\"b c"), "\"a\"\"b c\"");
    }
}
