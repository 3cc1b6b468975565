//! The member list: one static statement per filter / cursor / search shape, PostgreSQL.
//!
//! No catch-all `($n IS NULL OR …)` terms: they keep the planner from using the cursor as a range
//! of the index. Searches of 3+ characters go through the pg_trgm GIN indexes `members_email_trgm`
//! and `members_name_trgm` (`LIKE '%q%'` on exactly the expressions indexed); shorter ones have no
//! trigram and use `strpos` along the filter's ordered index (as on SQLite).

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
    /// Fewer than 3 characters: `strpos` row by row.
    Short,
    /// The trigram indexes.
    Indexed,
}

const SEARCHES: [Search; 3] = [Search::None, Search::Short, Search::Indexed];

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
        Search::Short => 1,
        Search::Indexed => 2,
    };
    (f * 2 + usize::from(cursor)) * 3 + s
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
    match search {
        Search::None => {}
        Search::Short => sql.push_str(&format!(
            " AND (strpos(email_norm, ${n}) > 0 OR strpos(lower(coalesce(first_name, '') || ' ' || \
             coalesce(last_name, '')), ${n}) > 0)"
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

/// The statement for a query and its search argument (bind: app, limit, cursor?, search?).
pub(crate) fn statement(q: &MemberQuery) -> Result<(&'static str, Option<String>), StoreError> {
    let (search, arg) = match q.search_shape() {
        None => (Search::None, None),
        Some((s, false)) => (Search::Short, Some(s.to_string())),
        Some((s, true)) => (Search::Indexed, Some(format!("%{}%", like_escape(s)))),
    };
    let sql = STATEMENTS
        .get(shape_index(q.filter, q.after.is_some(), search))
        .map(String::as_str)
        .ok_or_else(|| StoreError::Other("no statement for this member list shape".into()))?;
    Ok((sql, arg))
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
        assert_eq!(all.len(), 18);
        assert!(STATEMENTS.iter().all(|s| !s.contains("IS NULL")));
    }
}
