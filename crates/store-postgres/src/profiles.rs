//! Profiles: the ID's own profile (one row per identity) and each member's part in an app
//! (logo, setup finished). SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{ProfileQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;

#[async_trait]
impl<C> ProfileQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn get_identity_profile(
        &mut self,
        identity: IdentityId,
    ) -> StoreResult<Option<IdentityProfile>> {
        sqlx::query(
            "SELECT i.id AS identity_id, i.first_name, i.last_name, p.phone, p.time_zone, \
             p.signature_html, p.signature_text, p.updated_at FROM identities i \
             LEFT JOIN identity_profiles p ON p.identity_id = i.id WHERE i.id = $1",
        )
        .bind(identity.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| identity_profile_row(&r))
        .transpose()
    }

    async fn save_identity_profile(&mut self, p: &IdentityProfile) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO identity_profiles (identity_id, phone, time_zone, signature_html, \
             signature_text, updated_at) VALUES ($1, $2, $3, $4, $5, \
             coalesce($6, 'epoch'::timestamptz)) \
             ON CONFLICT (identity_id) DO UPDATE SET phone = $2, time_zone = $3, \
             signature_html = $4, signature_text = $5, \
             updated_at = coalesce($6, identity_profiles.updated_at)",
        )
        .bind(p.identity_id.0)
        .bind(&p.phone)
        .bind(&p.time_zone)
        .bind(&p.signature_html)
        .bind(&p.signature_text)
        .bind(p.updated_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        sqlx::query("UPDATE identities SET first_name = $2, last_name = $3 WHERE id = $1")
            .bind(p.identity_id.0)
            .bind(&p.first_name)
            .bind(&p.last_name)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        sqlx::query("UPDATE members SET first_name = $2, last_name = $3 WHERE identity_id = $1")
            .bind(p.identity_id.0)
            .bind(&p.first_name)
            .bind(&p.last_name)
            .execute(self.c())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn setup_done_elsewhere(
        &mut self,
        identity: IdentityId,
        except: MemberId,
    ) -> StoreResult<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM members m JOIN profiles p ON p.member_id = m.id \
             WHERE m.identity_id = $1 AND m.id <> $2 AND p.setup_done)",
        )
        .bind(identity.0)
        .bind(except.0)
        .fetch_one(self.c())
        .await
        .map_err(map_err)
    }

    async fn get_profile(&mut self, member: MemberId) -> StoreResult<Option<MemberProfile>> {
        sqlx::query(
            "SELECT member_id, logo_mime, logo, setup_done, updated_at FROM profiles \
             WHERE member_id = $1",
        )
        .bind(member.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| profile_row(&r))
        .transpose()
    }

    async fn save_profile(&mut self, p: &MemberProfile) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO profiles (member_id, logo_mime, logo, setup_done, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (member_id) DO UPDATE SET logo_mime = $2, logo = $3, \
             setup_done = $4, updated_at = $5",
        )
        .bind(p.member_id.0)
        .bind(p.logo.as_ref().map(|l| l.mime.as_str()))
        .bind(p.logo.as_ref().map(|l| l.bytes.as_slice()))
        .bind(p.setup_done)
        .bind(p.updated_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

pub(crate) fn identity_profile_row(r: &PgRow) -> Result<IdentityProfile, StoreError> {
    Ok(IdentityProfile {
        identity_id: IdentityId(get(r, "identity_id")?),
        first_name: get(r, "first_name")?,
        last_name: get(r, "last_name")?,
        phone: get(r, "phone")?,
        time_zone: get(r, "time_zone")?,
        signature_html: get(r, "signature_html")?,
        signature_text: get(r, "signature_text")?,
        updated_at: opt_time(r, "updated_at")?,
    })
}

pub(crate) fn profile_row(r: &PgRow) -> Result<MemberProfile, StoreError> {
    let mime: Option<String> = get(r, "logo_mime")?;
    let bytes: Option<Vec<u8>> = get(r, "logo")?;
    Ok(MemberProfile {
        member_id: MemberId(get(r, "member_id")?),
        logo: mime.zip(bytes).map(|(mime, bytes)| Logo { mime, bytes }),
        setup_done: get(r, "setup_done")?,
        updated_at: time(r, "updated_at")?,
    })
}
