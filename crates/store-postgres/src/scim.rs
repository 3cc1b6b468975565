//! SCIM members and externalIds. SQL, PostgreSQL.

use crate::Handle;
use crate::members::member_row;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{ScimQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;
use time::OffsetDateTime;
use uuid::Uuid;

#[async_trait]
impl<C> ScimQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn scim_members(&mut self, app: &AppId) -> StoreResult<Vec<(Member, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT m.id, m.app_id, m.identity_id, m.email, m.first_name, m.last_name, m.kind, \
             m.admin, m.status, m.holds_seat, m.created_at, m.last_login_at, x.external_id \
             FROM members m LEFT JOIN scim_external_ids x ON x.member_id = m.id \
             WHERE m.app_id = $1 AND m.status <> 'removed' ORDER BY m.created_at, m.id",
        )
        .bind(app.as_str())
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| Ok((member_row(r)?, get(r, "external_id")?)))
            .collect()
    }

    async fn external_id(&mut self, app: &AppId, member: MemberId) -> StoreResult<Option<String>> {
        sqlx::query_scalar(
            "SELECT external_id FROM scim_external_ids WHERE app_id = $1 AND member_id = $2",
        )
        .bind(app.as_str())
        .bind(member.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)
    }

    async fn set_external_id(
        &mut self,
        app: &AppId,
        member: MemberId,
        external_id: Option<&str>,
    ) -> StoreResult<()> {
        match external_id {
            None => {
                sqlx::query("DELETE FROM scim_external_ids WHERE member_id = $1")
                    .bind(member.0)
                    .execute(self.c())
                    .await
                    .map_err(map_err)?;
            }
            Some(x) => {
                sqlx::query(
                    "INSERT INTO scim_external_ids (member_id, app_id, external_id) \
                     VALUES ($1, $2, $3) \
                     ON CONFLICT (member_id) DO UPDATE SET external_id = EXCLUDED.external_id",
                )
                .bind(member.0)
                .bind(app.as_str())
                .bind(x)
                .execute(self.c())
                .await
                .map_err(map_err)?;
            }
        }
        Ok(())
    }

    async fn member_by_external_id(
        &mut self,
        app: &AppId,
        external_id: &str,
    ) -> StoreResult<Option<MemberId>> {
        let id: Option<Uuid> = sqlx::query_scalar(
            "SELECT member_id FROM scim_external_ids WHERE app_id = $1 AND external_id = $2",
        )
        .bind(app.as_str())
        .bind(external_id)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?;
        Ok(id.map(MemberId))
    }

    async fn scim_provisioning(&mut self, app: &AppId) -> StoreResult<ScimProvisioning> {
        let mode: Option<String> =
            sqlx::query_scalar("SELECT provisioning FROM app_scim_settings WHERE app_id = $1")
                .bind(app.as_str())
                .fetch_optional(self.c())
                .await
                .map_err(map_err)?;
        Ok(mode
            .as_deref()
            .and_then(ScimProvisioning::parse)
            .unwrap_or_default())
    }

    async fn set_scim_provisioning(
        &mut self,
        app: &AppId,
        mode: ScimProvisioning,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO app_scim_settings (app_id, provisioning) VALUES ($1, $2) \
             ON CONFLICT (app_id) DO UPDATE SET provisioning = EXCLUDED.provisioning",
        )
        .bind(app.as_str())
        .bind(mode.as_str())
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_unclaimed_identity(
        &mut self,
        identity: IdentityId,
        app: &AppId,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO unclaimed_identities (identity_id, app_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(identity.0)
        .bind(app.as_str())
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn claim_identity(&mut self, identity: IdentityId) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM unclaimed_identities WHERE identity_id = $1")
            .bind(identity.0)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(r.rows_affected() > 0)
    }
}
