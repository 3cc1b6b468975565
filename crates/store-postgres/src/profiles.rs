//! Member profiles (initial setup). SQL and row mapping, PostgreSQL.

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
    async fn get_profile(&mut self, member: MemberId) -> StoreResult<Option<Profile>> {
        sqlx::query(
            "SELECT member_id, phone, time_zone, signature_html, signature_text, logo_mime, logo, \
             setup_done, updated_at FROM profiles WHERE member_id = $1",
        )
        .bind(member.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| profile_row(&r))
        .transpose()
    }

    async fn save_profile(&mut self, p: &Profile) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO profiles (member_id, phone, time_zone, signature_html, signature_text, \
             logo_mime, logo, setup_done, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (member_id) DO UPDATE SET phone = $2, time_zone = $3, \
             signature_html = $4, signature_text = $5, logo_mime = $6, logo = $7, \
             setup_done = $8, updated_at = $9",
        )
        .bind(p.member_id.0)
        .bind(&p.phone)
        .bind(&p.time_zone)
        .bind(&p.signature_html)
        .bind(&p.signature_text)
        .bind(p.logo.as_ref().map(|l| l.mime.clone()))
        .bind(p.logo.as_ref().map(|l| l.bytes.clone()))
        .bind(p.setup_done)
        .bind(p.updated_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

pub(crate) fn profile_row(r: &PgRow) -> Result<Profile, StoreError> {
    let mime: Option<String> = get(r, "logo_mime")?;
    let bytes: Option<Vec<u8>> = get(r, "logo")?;
    Ok(Profile {
        member_id: MemberId(get(r, "member_id")?),
        phone: get(r, "phone")?,
        time_zone: get(r, "time_zone")?,
        signature_html: get(r, "signature_html")?,
        signature_text: get(r, "signature_text")?,
        logo: mime.zip(bytes).map(|(mime, bytes)| Logo { mime, bytes }),
        setup_done: get(r, "setup_done")?,
        updated_at: time(r, "updated_at")?,
    })
}
