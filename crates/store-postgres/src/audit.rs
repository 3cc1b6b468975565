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

/// The audit listing with its scope (an SQL condition on $1) and the filter's parameters.
macro_rules! audit_query {
    ($scope:literal) => {
        concat!(
            "SELECT id, at, app_id, actor_id, actor_label, action, target, client_addr, details, \
             user_agent FROM audit_log WHERE ",
            $scope,
            " AND ($2::uuid IS NULL OR actor_id = $2) \
             AND ($3::text IS NULL OR strpos(lower(actor_label), lower($3)) > 0) \
             AND ($4::text IS NULL OR left(action, length($4)) = $4) \
             AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6) \
             AND ($7::timestamptz IS NULL OR at < $7 OR (at = $7 AND id < $8)) \
             ORDER BY at DESC, id DESC LIMIT $9"
        )
    };
}

#[async_trait]
impl<C> AuditQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_audit(&mut self, e: &AuditEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, app_id, actor_id, actor_label, action, target, \
             client_addr, details, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        .bind(&e.user_agent)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_audit(
        &mut self,
        app_id: &AppId,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        // the app's own events, and the failed logins and locks of its Active members' IDs
        const SQL: &str = audit_query!(
            "(app_id = $1 OR (app_id IS NULL AND action IN ('login.failed', 'id.locked') \
             AND actor_id IN (SELECT identity_id FROM members WHERE app_id = $1 \
             AND status = 'active' AND identity_id IS NOT NULL)))"
        );
        self.filtered(SQL, Some(app_id.as_str()), filter, limit)
            .await
    }

    async fn login_history(
        &mut self,
        identity: IdentityId,
        user_agent: &str,
        since: time::OffsetDateTime,
    ) -> StoreResult<(bool, bool)> {
        let (any, same): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM audit_log WHERE actor_id = $1 AND at >= $2 \
                            AND action = 'login.succeeded'), \
                    EXISTS (SELECT 1 FROM audit_log WHERE actor_id = $1 AND at >= $2 \
                            AND action = 'login.succeeded' AND user_agent = $3)",
        )
        .bind(identity.0)
        .bind(since)
        .bind(user_agent)
        .fetch_one(self.c())
        .await
        .map_err(map_err)?;
        Ok((any, same))
    }

    async fn list_identity_audit(
        &mut self,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        const SQL: &str = audit_query!("($1::text IS NULL)");
        self.filtered(SQL, None, filter, limit).await
    }
}

impl<C> Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    /// Events of an [`audit_query!`] (its scope a condition on $1) narrowed by the filter,
    /// newest first.
    async fn filtered(
        &mut self,
        sql: &'static str,
        scope_param: Option<&str>,
        f: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query(sql)
            .bind(scope_param)
            .bind(f.actor.map(|a| a.0))
            .bind(&f.actor_text)
            .bind(&f.action)
            .bind(f.from)
            .bind(f.to)
            .bind(f.before.map(|(t, _)| t))
            .bind(f.before.map(|(_, id)| id))
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
        user_agent: get(r, "user_agent")?,
    })
}
