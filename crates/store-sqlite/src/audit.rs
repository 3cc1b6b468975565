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
             client_addr, details, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            rusqlite::params![
                e.id,
                ms(e.at),
                e.app_id.as_ref().map(|a| a.as_str()),
                e.actor_id.map(|a| a.0),
                &e.actor_label,
                &e.action,
                &e.target,
                &e.client_addr,
                e.details.to_string(),
                &e.user_agent
            ],
        )?;
        Ok(())
    }

    async fn list_audit(
        &mut self,
        app_id: &AppId,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        // the app's own events, and the failed logins and locks of its Active members' IDs
        let scope = "(app_id = ?1 OR (app_id IS NULL AND action IN ('login.failed', 'id.locked') \
                     AND actor_id IN (SELECT identity_id FROM members WHERE app_id = ?1 \
                     AND status = 'active' AND identity_id IS NOT NULL)))";
        self.filtered(scope, Some(app_id.as_str()), filter, limit)
    }

    async fn login_history(
        &mut self,
        identity: IdentityId,
        user_agent: &str,
        since: time::OffsetDateTime,
    ) -> StoreResult<(bool, bool)> {
        let found = self.one(
            "SELECT EXISTS (SELECT 1 FROM audit_log WHERE actor_id = ?1 AND at >= ?2 \
                            AND action = 'login.succeeded'), \
                    EXISTS (SELECT 1 FROM audit_log WHERE actor_id = ?1 AND at >= ?2 \
                            AND action = 'login.succeeded' AND user_agent = ?3)",
            rusqlite::params![identity.0, ms(since), user_agent],
            |r| Ok((get::<bool>(r, 0)?, get::<bool>(r, 1)?)),
        )?;
        Ok(found.unwrap_or((false, false)))
    }

    async fn list_identity_audit(
        &mut self,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        self.filtered("(?1 IS NULL)", None, filter, limit)
    }
}

impl<C: HasConn> Handle<C> {
    /// Events in `scope` (an SQL condition on ?1) narrowed by the filter, newest first.
    fn filtered(
        &mut self,
        scope: &str,
        scope_param: Option<&str>,
        f: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT id, at, app_id, actor_id, actor_label, action, target, client_addr, details, \
             user_agent FROM audit_log WHERE {scope} \
             AND (?2 IS NULL OR actor_id = ?2) \
             AND (?3 IS NULL OR instr(lower(actor_label), lower(?3)) > 0) \
             AND (?4 IS NULL OR substr(action, 1, length(?4)) = ?4) \
             AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6) \
             AND (?7 IS NULL OR at < ?7 OR (at = ?7 AND id < ?8)) \
             ORDER BY at DESC, id DESC LIMIT ?9"
        );
        self.all(
            &sql,
            rusqlite::params![
                scope_param,
                f.actor.map(|a| a.0),
                &f.actor_text,
                &f.action,
                f.from.map(ms),
                f.to.map(ms),
                f.before.map(|(t, _)| ms(t)),
                f.before.map(|(_, id)| id),
                i64::from(limit)
            ],
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
        user_agent: get(r, 9)?,
    })
}
