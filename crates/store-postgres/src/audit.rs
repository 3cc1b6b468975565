//! The audit log. SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{AuditQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use uuid::Uuid;

#[async_trait]
impl<C> AuditQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_audit(&mut self, e: &AuditEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, app_id, actor_id, actor_label, action, target, \
             client_addr, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.id)
        .bind(e.at)
        .bind(e.app_id.as_ref().map(|a| a.as_str()))
        .bind(e.actor_id.map(|a| a.0))
        .bind(&e.actor_label)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.client_addr)
        .bind(e.details.to_string())
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_audit(&mut self, app_id: &AppId, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, app_id, actor_id, actor_label, action, target, client_addr, details \
             FROM audit_log WHERE app_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(app_id.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(audit_row).collect()
    }
}

pub(crate) fn audit_row(r: &PgRow) -> Result<AuditEvent, StoreError> {
    let details: String = get(r, "details")?;
    Ok(AuditEvent {
        id: get(r, "id")?,
        at: time(r, "at")?,
        app_id: opt_app_id(r, "app_id")?,
        actor_id: get::<Option<Uuid>>(r, "actor_id")?.map(IdentityId),
        actor_label: get(r, "actor_label")?,
        action: get(r, "action")?,
        target: get(r, "target")?,
        client_addr: get(r, "client_addr")?,
        details: serde_json::from_str(&details).map_err(|_| bad("details", &details))?,
    })
}
