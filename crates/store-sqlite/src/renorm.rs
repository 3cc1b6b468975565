//! The data migration `email_norm_v2` on SQLite (see `roster_core::renorm`).

use crate::rows::*;
use roster_core::StoreError;
use roster_core::renorm::{self, NormConflict, NormRow, RenormReport};
use rusqlite::{Connection, OptionalExtension};
use time::OffsetDateTime;
use uuid::Uuid;

/// Whether the migration already ran on this database.
pub(crate) fn done(c: &Connection) -> Result<bool, StoreError> {
    c.query_row(
        "SELECT 1 FROM roster_meta WHERE key = ?1",
        [renorm::META_KEY],
        |_| Ok(()),
    )
    .optional()
    .map(|v| v.is_some())
    .map_err(map_err)
}

fn load(c: &Connection, sql: &str, table: &'static str) -> Result<Vec<NormRow>, StoreError> {
    let mut st = c.prepare(sql).map_err(map_err)?;
    let mut rows = st.query([]).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(map_err)? {
        out.push(NormRow {
            table,
            id: uuid(r, 0)?.to_string(),
            scope: get(r, 1)?,
            email: get(r, 2)?,
            email_norm: get(r, 3)?,
        });
    }
    Ok(out)
}

/// Run the migration inside the caller's write transaction and record that it ran.
pub(crate) fn run(c: &Connection) -> Result<RenormReport, StoreError> {
    let mut rows = load(
        c,
        "SELECT id, NULL, email, email_norm FROM identities",
        "identities",
    )?;
    rows.extend(load(
        c,
        "SELECT id, app_id, email, email_norm FROM members",
        "members",
    )?);
    let plan = renorm::plan(&rows);
    let id_of =
        |id: &str| Uuid::parse_str(id).map_err(|_| StoreError::Other(format!("bad row id {id}")));
    // two steps, so that no intermediate state breaks a UNIQUE constraint
    for (pass, (table, id, norm)) in plan
        .updates
        .iter()
        .map(|u| (0, u))
        .chain(plan.updates.iter().map(|u| (1, u)))
    {
        let value = if pass == 0 {
            format!("\u{1}renorm:{id}")
        } else {
            norm.clone()
        };
        let sql = match *table {
            "identities" => "UPDATE identities SET email_norm = ?2 WHERE id = ?1",
            _ => "UPDATE members SET email_norm = ?2 WHERE id = ?1",
        };
        c.execute(sql, rusqlite::params![id_of(id)?, value])
            .map_err(map_err)?;
    }
    let now = ms(OffsetDateTime::now_utc());
    c.execute("DELETE FROM email_norm_conflicts", [])
        .map_err(map_err)?;
    for k in &plan.conflicts {
        tracing::warn!(table = k.row.table, id = %k.row.id, scope = ?k.row.scope, "email_norm left as is: {}", k.reason);
        c.execute(
            "INSERT INTO email_norm_conflicts (detected_at, table_name, row_id, scope, email, \
             email_norm, canonical, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                now,
                k.row.table,
                k.row.id,
                k.row.scope,
                k.row.email,
                k.row.email_norm,
                k.canonical,
                k.reason
            ],
        )
        .map_err(map_err)?;
    }
    let report = RenormReport {
        updated: plan.updates.len(),
        conflicts: plan.conflicts.iter().map(NormConflict::line).collect(),
    };
    c.execute(
        "INSERT INTO roster_meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![
            renorm::META_KEY,
            format!(
                "ran at {now}: {} updated, {} left as is",
                report.updated,
                report.conflicts.len()
            )
        ],
    )
    .map_err(map_err)?;
    Ok(report)
}

/// The recorded conflicts of the last run.
pub(crate) fn conflicts(c: &Connection) -> Result<Vec<String>, StoreError> {
    let mut st = c
        .prepare(
            "SELECT table_name, row_id, scope, email, email_norm, canonical, reason \
             FROM email_norm_conflicts ORDER BY id",
        )
        .map_err(map_err)?;
    let mut rows = st.query([]).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(map_err)? {
        let table: String = get(r, 0)?;
        let k = NormConflict {
            row: NormRow {
                table: if table == "identities" {
                    "identities"
                } else {
                    "members"
                },
                id: get(r, 1)?,
                scope: get(r, 2)?,
                email: get(r, 3)?,
                email_norm: get(r, 4)?,
            },
            canonical: get(r, 5)?,
            reason: get(r, 6)?,
        };
        out.push(k.line());
    }
    Ok(out)
}
