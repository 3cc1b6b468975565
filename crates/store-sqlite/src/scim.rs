//! SCIM members and externalIds. SQL, SQLite.

use crate::members::member_at;
use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{ScimQueries, StoreResult};
use roster_core::types::*;
use time::OffsetDateTime;

#[async_trait]
impl<C: HasConn> ScimQueries for Handle<C> {
    async fn scim_members(&mut self, app: &AppId) -> StoreResult<Vec<(Member, Option<String>)>> {
        self.all(
            "SELECT m.id, m.app_id, m.identity_id, m.email, m.first_name, m.last_name, m.kind, \
             m.admin, m.status, m.holds_seat, m.created_at, m.last_login_at, x.external_id \
             FROM members m LEFT JOIN scim_external_ids x ON x.member_id = m.id \
             WHERE m.app_id = ?1 AND m.status <> 'removed' ORDER BY m.created_at, m.id",
            rusqlite::params![app.as_str()],
            |r| Ok((member_at(r, 0)?, get(r, 12)?)),
        )
    }

    async fn external_id(&mut self, app: &AppId, member: MemberId) -> StoreResult<Option<String>> {
        self.one(
            "SELECT external_id FROM scim_external_ids WHERE app_id = ?1 AND member_id = ?2",
            rusqlite::params![app.as_str(), member.0],
            |r| get(r, 0),
        )
    }

    async fn set_external_id(
        &mut self,
        app: &AppId,
        member: MemberId,
        external_id: Option<&str>,
    ) -> StoreResult<()> {
        match external_id {
            None => {
                self.exec(
                    "DELETE FROM scim_external_ids WHERE member_id = ?1",
                    rusqlite::params![member.0],
                )?;
            }
            Some(x) => {
                self.exec(
                    "INSERT INTO scim_external_ids (member_id, app_id, external_id) \
                     VALUES (?1, ?2, ?3) \
                     ON CONFLICT (member_id) DO UPDATE SET external_id = excluded.external_id",
                    rusqlite::params![member.0, app.as_str(), x],
                )?;
            }
        }
        Ok(())
    }

    async fn member_by_external_id(
        &mut self,
        app: &AppId,
        external_id: &str,
    ) -> StoreResult<Option<MemberId>> {
        self.one(
            "SELECT member_id FROM scim_external_ids WHERE app_id = ?1 AND external_id = ?2",
            rusqlite::params![app.as_str(), external_id],
            |r| Ok(MemberId(uuid(r, 0)?)),
        )
    }

    async fn scim_provisioning(&mut self, app: &AppId) -> StoreResult<ScimProvisioning> {
        let mode: Option<String> = self.one(
            "SELECT provisioning FROM app_scim_settings WHERE app_id = ?1",
            rusqlite::params![app.as_str()],
            |r| get(r, 0),
        )?;
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
        self.exec(
            "INSERT INTO app_scim_settings (app_id, provisioning) VALUES (?1, ?2) \
             ON CONFLICT (app_id) DO UPDATE SET provisioning = excluded.provisioning",
            rusqlite::params![app.as_str(), mode.as_str()],
        )?;
        Ok(())
    }

    async fn insert_unclaimed_identity(
        &mut self,
        identity: IdentityId,
        app: &AppId,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO unclaimed_identities (identity_id, app_id, created_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![identity.0, app.as_str(), ms(at)],
        )?;
        Ok(())
    }

    async fn claim_identity(&mut self, identity: IdentityId) -> StoreResult<bool> {
        Ok(self.exec(
            "DELETE FROM unclaimed_identities WHERE identity_id = ?1",
            rusqlite::params![identity.0],
        )? > 0)
    }
}
