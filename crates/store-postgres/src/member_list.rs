//! The member list: one static statement per filter / cursor / search shape, PostgreSQL.
//!
//! No catch-all `($n IS NULL OR …)` terms: they keep the planner from using the cursor as a range
//! of the index. Searches of 3+ characters are substrings, through the pg_trgm GIN indexes
//! `members_email_trgm` and `members_name_trgm` (`LIKE '%q%'` on exactly the expressions indexed;
//! the planner chooses between them and the filter's index). Shorter ones have no trigram: they
//! match the start of the email, first name or last name, through prefix ranges ("C" collation)
//! of `members_app_email_prefix`, `members_app_first_name` and `members_app_last_name`; a short
//! term with many matches (`MemberQuery::BROAD_MATCHES`, counted first) gets a statement that
//! checks rows along the filter's index instead (the planner reads it in page order, or after a
//! cursor near the end may take a bitmap of it and sort the few rows left).

use roster_core::StoreError;
use roster_core::model::{MemberFilter, MemberQuery};
use std::sync::LazyLock;

macro_rules! member_cols {
    () => {
        "id, app_id, identity_id, email, first_name, last_name, kind, admin, status, holds_seat, \
         created_at, last_login_at"
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    None,
    /// A substring (3+ characters): the trigram indexes.
    Indexed,
    /// A broad short term: the start of the email or a name, checked row by row.
    Prefix,
    /// A short term through the prefix ranges of three indexes.
    PrefixIndexed,
}

const SEARCHES: [Search; 4] = [
    Search::None,
    Search::Indexed,
    Search::Prefix,
    Search::PrefixIndexed,
];

const FILTERS: [MemberFilter; 3] = [
    MemberFilter::ActiveInvited,
    MemberFilter::Inactive,
    MemberFilter::Partners,
];

fn shape_index(filter: MemberFilter, cursor: bool, search: Search) -> usize {
    let f = match filter {
        MemberFilter::ActiveInvited => 0,
        MemberFilter::Inactive => 1,
        MemberFilter::Partners => 2,
    };
    let s = match search {
        Search::None => 0,
        Search::Indexed => 1,
        Search::Prefix => 2,
        Search::PrefixIndexed => 3,
    };
    (f * 2 + usize::from(cursor)) * SEARCHES.len() + s
}

/// The filter's condition, written exactly as the partial index it uses.
fn filter_sql(filter: MemberFilter) -> &'static str {
    match filter {
        // members_app_current
        MemberFilter::ActiveInvited => "status IN ('invited', 'active')",
        // members_app_status (app_id, status, email_norm)
        MemberFilter::Inactive => "status = 'inactive'",
        // members_app_partners
        MemberFilter::Partners => "kind = 'partner' AND status <> 'removed'",
    }
}

/// Parameters: $1 app, $2 limit, then the cursor (if any), then the search (if any).
fn build(filter: MemberFilter, cursor: bool, search: Search) -> String {
    let mut sql = format!(
        concat!(
            "SELECT ",
            member_cols!(),
            " FROM members WHERE app_id = $1 AND {}"
        ),
        filter_sql(filter)
    );
    let mut n = 3;
    if cursor {
        sql.push_str(&format!(" AND email_norm > ${n}"));
        n += 1;
    }
    let to = n + 1;
    match search {
        Search::None => {}
        Search::Prefix => sql.push_str(&format!(
            " AND ((email_norm COLLATE \"C\") >= ${n} AND (email_norm COLLATE \"C\") < ${to} \
             OR (lower(first_name) COLLATE \"C\") >= ${n} AND (lower(first_name) COLLATE \"C\") < ${to} \
             OR (lower(last_name) COLLATE \"C\") >= ${n} AND (lower(last_name) COLLATE \"C\") < ${to})"
        )),
        // The matches' ids from three index ranges (an InitPlan), then each row by its key.
        Search::PrefixIndexed => sql.push_str(&format!(
            " AND id = ANY(ARRAY(\
             SELECT id FROM members WHERE app_id = $1 AND (email_norm COLLATE \"C\") >= ${n} \
             AND (email_norm COLLATE \"C\") < ${to} \
             UNION ALL SELECT id FROM members WHERE app_id = $1 \
             AND (lower(first_name) COLLATE \"C\") >= ${n} AND (lower(first_name) COLLATE \"C\") < ${to} \
             UNION ALL SELECT id FROM members WHERE app_id = $1 \
             AND (lower(last_name) COLLATE \"C\") >= ${n} AND (lower(last_name) COLLATE \"C\") < ${to}))"
        )),
        Search::Indexed => sql.push_str(&format!(
            " AND (email_norm LIKE ${n} ESCAPE '\\' OR lower(coalesce(first_name, '') || ' ' || \
             coalesce(last_name, '')) LIKE ${n} ESCAPE '\\')"
        )),
    }
    sql.push_str(" ORDER BY email_norm LIMIT $2");
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

/// Counts a short term's matches in the app (bind: app, from, to), each range up to the
/// threshold (`MemberQuery::BROAD_MATCHES`).
pub(crate) const COUNT_PREFIX: &str = "SELECT \
     (SELECT count(*) FROM (SELECT 1 FROM members WHERE app_id = $1 \
      AND (email_norm COLLATE \"C\") >= $2 AND (email_norm COLLATE \"C\") < $3 LIMIT 1000) e) \
     + (SELECT count(*) FROM (SELECT 1 FROM members WHERE app_id = $1 \
      AND (lower(first_name) COLLATE \"C\") >= $2 AND (lower(first_name) COLLATE \"C\") < $3 LIMIT 1000) f) \
     + (SELECT count(*) FROM (SELECT 1 FROM members WHERE app_id = $1 \
      AND (lower(last_name) COLLATE \"C\") >= $2 AND (lower(last_name) COLLATE \"C\") < $3 LIMIT 1000) l)";

/// The statement for a query and its search arguments (bind: app, limit, cursor?, search…);
/// `broad`: a short term with many matches (counted with `COUNT_PREFIX`).
pub(crate) fn statement(
    q: &MemberQuery,
    broad: bool,
) -> Result<(&'static str, Vec<String>), StoreError> {
    let (search, args) = match q.search_shape() {
        None => (Search::None, vec![]),
        Some((s, true)) => (Search::Indexed, vec![format!("%{}%", like_escape(s))]),
        Some((_, false)) => match q.prefix_range() {
            Some((from, to)) if broad => (Search::Prefix, vec![from, to]),
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
    Ok((sql, args))
}

pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
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
        assert_eq!(all.len(), 24);
        let limit = format!("LIMIT {}", MemberQuery::BROAD_MATCHES);
        assert_eq!(COUNT_PREFIX.matches(&limit).count(), 3);
        assert!(STATEMENTS.iter().all(|s| !s.contains("IS NULL")));
    }
}
