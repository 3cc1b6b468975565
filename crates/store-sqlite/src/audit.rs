//! The audit log. SQL and row mapping, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{AuditQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;

#[async_trait]
impl<C: HasConn> AuditQueries for Handle<C> {
    async fn insert_audit(&mut self, e: &AuditEvent) -> StoreResult<()> {
        self.exec(
            "INSERT INTO audit_log (id, at, app_id, actor_id, actor_label, action, target, \
             client_addr, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![
                e.id,
                ms(e.at),
                e.app_id.as_ref().map(|a| a.as_str()),
                e.actor_id.map(|a| a.0),
                &e.actor_label,
                &e.action,
                &e.target,
                &e.client_addr,
                e.details.to_string()
            ],
        )?;
        Ok(())
    }

    async fn list_audit(&mut self, app_id: &AppId, limit: u32) -> StoreResult<Vec<AuditEvent>> {
        self.all(
            "SELECT id, at, app_id, actor_id, actor_label, action, target, client_addr, details \
             FROM audit_log WHERE app_id = ?1 ORDER BY at DESC, id DESC LIMIT +?2",
            rusqlite::params![app_id.as_str(), i64::from(limit)],
            audit_row,
        )
    }
}

pub(crate) fn audit_row(r: &Row<'_>) -> Result<AuditEvent, StoreError> {
    let details: String = get(r, 8)?;
    Ok(AuditEvent {
        id: uuid(r, 0)?,
        at: time(r, 1)?,
        app_id: opt_app_id(r, 2)?,
        actor_id: opt_uuid(r, 3)?.map(IdentityId),
        actor_label: get(r, 4)?,
        action: get(r, 5)?,
        target: get(r, 6)?,
        client_addr: get(r, 7)?,
        details: serde_json::from_str(&details).map_err(|_| bad("details", &details))?,
    })
}
