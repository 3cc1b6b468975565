//! The data migration `email_norm_v2`: stored `email_norm` values were made by the old rule (just
//! lower case); [`Email::parse`] now gives the canonical form (NFC, IDNA/punycode lower-case
//! domain). Each backend loads `(id, scope, email, email_norm)` rows, asks [`plan`] what to do, and
//! applies it. Rows are never merged: a row whose canonical form would collide with another row
//! of the same uniqueness scope, or whose stored address no longer parses, is left as it is and
//! reported.

use crate::types::Email;
use std::collections::{HashMap, HashSet};

/// The key in `roster_meta` recording that the migration ran.
pub const META_KEY: &str = "email_norm_v2";

/// One stored row with an `email_norm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormRow {
    /// `identities` or `members`.
    pub table: &'static str,
    pub id: String,
    /// The uniqueness scope: `None` for identities (global), the App ID for members.
    pub scope: Option<String>,
    /// The stored display address.
    pub email: String,
    pub email_norm: String,
}

/// A row the migration leaves as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormConflict {
    pub row: NormRow,
    /// The canonical form, when the address parses.
    pub canonical: Option<String>,
    pub reason: String,
}

impl NormConflict {
    /// One line for `roster migrate` and the logs.
    pub fn line(&self) -> String {
        let scope = self
            .row
            .scope
            .as_deref()
            .map(|s| format!(" (app {s})"))
            .unwrap_or_default();
        format!(
            "{} {}{scope}: email {:?}, email_norm kept as {:?}: {}",
            self.row.table, self.row.id, self.row.email, self.row.email_norm, self.reason
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormPlan {
    /// `(table, id, new email_norm)`.
    pub updates: Vec<(&'static str, String, String)>,
    pub conflicts: Vec<NormConflict>,
}

/// What a run of the migration did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenormReport {
    pub updated: usize,
    /// One line per row left as it is ([`NormConflict::line`]).
    pub conflicts: Vec<String>,
}

/// Decide, for rows of one or more tables, which `email_norm` values change. Rows of a table
/// must be unique per `(scope, email_norm)` afterwards, as they were before.
pub fn plan(rows: &[NormRow]) -> NormPlan {
    let canonical: Vec<Option<String>> = rows
        .iter()
        .map(|r| {
            Email::parse(&r.email)
                .ok()
                .map(|e| e.normalized().to_string())
        })
        .collect();
    let mut out = NormPlan::default();
    // rows that keep their stored value: unparsable ones first
    let mut pinned: HashSet<usize> = HashSet::new();
    for (i, c) in canonical.iter().enumerate() {
        if c.is_none() {
            pinned.insert(i);
            out.conflicts.push(NormConflict {
                row: rows[i].clone(),
                canonical: None,
                reason: "the stored address no longer parses".into(),
            });
        }
    }
    let target = |i: usize, pinned: &HashSet<usize>| -> String {
        match &canonical[i] {
            Some(c) if !pinned.contains(&i) => c.clone(),
            _ => rows[i].email_norm.clone(),
        }
    };
    // pin colliding rows until every (table, scope, target) is unique; pinning only ever
    // returns a row to its stored (unique) value, so this ends
    let mut collided: HashMap<usize, Vec<usize>> = HashMap::new();
    loop {
        let mut groups: HashMap<(&str, Option<&str>, String), Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            groups
                .entry((r.table, r.scope.as_deref(), target(i, &pinned)))
                .or_default()
                .push(i);
        }
        let mut changed = false;
        for members in groups.values().filter(|g| g.len() > 1) {
            for &i in members {
                collided
                    .entry(i)
                    .or_default()
                    .extend(members.iter().copied().filter(|&j| j != i));
                if pinned.insert(i) {
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut collided: Vec<(usize, Vec<usize>)> = collided.into_iter().collect();
    collided.sort();
    for (i, mut others) in collided {
        if canonical[i].is_none() {
            continue;
        }
        others.sort();
        others.dedup();
        let ids: Vec<&str> = others.iter().map(|&j| rows[j].id.as_str()).collect();
        out.conflicts.push(NormConflict {
            row: rows[i].clone(),
            canonical: canonical[i].clone(),
            reason: format!(
                "canonical form {:?} collides with {} {}; not merged, resolve by hand",
                canonical[i].as_deref().unwrap_or(""),
                rows[i].table,
                ids.join(", ")
            ),
        });
    }
    for (i, r) in rows.iter().enumerate() {
        let t = target(i, &pinned);
        if t != r.email_norm {
            out.updates.push((r.table, r.id.clone(), t));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(table: &'static str, id: &str, scope: Option<&str>, email: &str, norm: &str) -> NormRow {
        NormRow {
            table,
            id: id.into(),
            scope: scope.map(String::from),
            email: email.into(),
            email_norm: norm.into(),
        }
    }

    #[test]
    fn changes_old_norms_and_reports_collisions_and_bad_rows() {
        let rows = vec![
            row(
                "identities",
                "a",
                None,
                "idn@xn--bcher-kva.example",
                "idn@xn--bcher-kva.example",
            ),
            row(
                "identities",
                "b",
                None,
                "idn@bücher.example",
                "idn@bücher.example",
            ),
            row(
                "identities",
                "c",
                None,
                "Ünal@Bücher.example",
                "ünal@bücher.example",
            ),
            row("identities", "d", None, "not an email", "not an email"),
            // same address in another table or app: no collision
            row(
                "members",
                "m1",
                Some("ab123"),
                "idn@bücher.example",
                "idn@bücher.example",
            ),
            row(
                "members",
                "m2",
                Some("cd456"),
                "u\u{0308}ber@example.com",
                "u\u{0308}ber@example.com",
            ),
            row(
                "members",
                "m3",
                Some("cd456"),
                "ok@example.com",
                "ok@example.com",
            ),
        ];
        let p = plan(&rows);
        let mut updates = p.updates.clone();
        updates.sort();
        assert_eq!(
            updates,
            vec![
                (
                    "identities",
                    "c".into(),
                    "ünal@xn--bcher-kva.example".into()
                ),
                ("members", "m1".into(), "idn@xn--bcher-kva.example".into()),
                ("members", "m2".into(), "über@example.com".into()),
            ]
        );
        let mut ids: Vec<&str> = p.conflicts.iter().map(|c| c.row.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["a", "b", "d"]);
        assert!(
            p.conflicts
                .iter()
                .any(|c| c.line().contains("collides with identities a"))
        );
    }

    #[test]
    fn a_pinned_row_can_cause_a_second_collision() {
        // b collides with a and stays "x@bücher.example"; c's canonical form is that stored value
        // only if it were itself unnormalised — here c simply keeps its own
        let rows = vec![
            row(
                "identities",
                "a",
                None,
                "x@xn--bcher-kva.example",
                "x@xn--bcher-kva.example",
            ),
            row(
                "identities",
                "b",
                None,
                "x@bücher.example",
                "x@bücher.example",
            ),
            row(
                "identities",
                "c",
                None,
                "X@BÜCHER.example",
                "x@BÜCHER.example",
            ),
        ];
        let p = plan(&rows);
        assert!(p.updates.is_empty(), "{:?}", p.updates);
        assert_eq!(p.conflicts.len(), 3);
    }
}
