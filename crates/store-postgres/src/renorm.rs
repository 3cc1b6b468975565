//! The data migration `email_norm_v2` on PostgreSQL (see `roster_core::renorm`).

use crate::rows::*;
use roster_core::StoreError;
use roster_core::renorm::{self, NormConflict, NormRow, RenormReport};
use sqlx::PgConnection;
use sqlx::Row;
use uuid::Uuid;

/// Serialises the data migration between nodes starting at the same time.
const LOCK_KEY: i64 = 0x726f_7374_0007;

/// Take the migration lock for the caller's transaction; whether the migration already ran.
pub(crate) async fn lock_and_check(c: &mut PgConnection) -> Result<bool, StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *c)
        .await
        .map_err(map_err)?;
    let done: Option<i32> = sqlx::query_scalar("SELECT 1 FROM roster_meta WHERE key = $1")
        .bind(renorm::META_KEY)
        .fetch_optional(&mut *c)
        .await
        .map_err(map_err)?;
    Ok(done.is_some())
}

async fn load(
    c: &mut PgConnection,
    sql: &'static str,
    table: &'static str,
) -> Result<Vec<NormRow>, StoreError> {
    let rows = sqlx::query(sql).fetch_all(&mut *c).await.map_err(map_err)?;
    rows.iter()
        .map(|r| {
            Ok(NormRow {
                table,
                id: r.try_get::<Uuid, _>(0).map_err(map_err)?.to_string(),
                scope: r.try_get(1).map_err(map_err)?,
                email: r.try_get(2).map_err(map_err)?,
                email_norm: r.try_get(3).map_err(map_err)?,
            })
        })
        .collect()
}

/// Run the migration inside the caller's transaction and record that it ran.
pub(crate) async fn run(c: &mut PgConnection) -> Result<RenormReport, StoreError> {
    let mut rows = load(
        c,
        "SELECT id, NULL::text, email, email_norm FROM identities",
        "identities",
    )
    .await?;
    rows.extend(
        load(
            c,
            "SELECT id, app_id, email, email_norm FROM members",
            "members",
        )
        .await?,
    );
    let plan = renorm::plan(&rows);
    // two steps, so that no intermediate state breaks a UNIQUE constraint
    for pass in 0..2 {
        for (table, id, norm) in &plan.updates {
            let id =
                Uuid::parse_str(id).map_err(|_| StoreError::Other(format!("bad row id {id}")))?;
            let value = if pass == 0 {
                format!("\u{1}renorm:{id}")
            } else {
                norm.clone()
            };
            let sql = match *table {
                "identities" => "UPDATE identities SET email_norm = $2 WHERE id = $1",
                _ => "UPDATE members SET email_norm = $2 WHERE id = $1",
            };
            sqlx::query(sql)
                .bind(id)
                .bind(value)
                .execute(&mut *c)
                .await
                .map_err(map_err)?;
        }
    }
    sqlx::query("DELETE FROM email_norm_conflicts")
        .execute(&mut *c)
        .await
        .map_err(map_err)?;
    for k in &plan.conflicts {
        tracing::warn!(table = k.row.table, id = %k.row.id, scope = ?k.row.scope, "email_norm left as is: {}", k.reason);
        sqlx::query(
            "INSERT INTO email_norm_conflicts (detected_at, table_name, row_id, scope, email, \
             email_norm, canonical, reason) VALUES (now(), $1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(k.row.table)
        .bind(&k.row.id)
        .bind(&k.row.scope)
        .bind(&k.row.email)
        .bind(&k.row.email_norm)
        .bind(&k.canonical)
        .bind(&k.reason)
        .execute(&mut *c)
        .await
        .map_err(map_err)?;
    }
    let report = RenormReport {
        updated: plan.updates.len(),
        conflicts: plan.conflicts.iter().map(NormConflict::line).collect(),
    };
    sqlx::query(
        "INSERT INTO roster_meta (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(renorm::META_KEY)
    .bind(format!(
        "ran at {}: {} updated, {} left as is",
        time::OffsetDateTime::now_utc(),
        report.updated,
        report.conflicts.len()
    ))
    .execute(&mut *c)
    .await
    .map_err(map_err)?;
    Ok(report)
}

/// The recorded conflicts of the last run.
pub(crate) async fn conflicts(c: &mut PgConnection) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT table_name, row_id, scope, email, email_norm, canonical, reason \
         FROM email_norm_conflicts ORDER BY id",
    )
    .fetch_all(&mut *c)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let table: String = r.try_get(0).map_err(map_err)?;
            Ok(NormConflict {
                row: NormRow {
                    table: if table == "identities" {
                        "identities"
                    } else {
                        "members"
                    },
                    id: r.try_get(1).map_err(map_err)?,
                    scope: r.try_get(2).map_err(map_err)?,
                    email: r.try_get(3).map_err(map_err)?,
                    email_norm: r.try_get(4).map_err(map_err)?,
                },
                canonical: r.try_get(5).map_err(map_err)?,
                reason: r.try_get(6).map_err(map_err)?,
            }
            .line())
        })
        .collect()
}
