//! Member profiles (initial setup). SQL and row mapping, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{ProfileQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;

#[async_trait]
impl<C: HasConn> ProfileQueries for Handle<C> {
    async fn get_profile(&mut self, member: MemberId) -> StoreResult<Option<Profile>> {
        self.one(
            "SELECT member_id, phone, time_zone, signature_html, signature_text, logo_mime, logo, \
             setup_done, updated_at FROM profiles WHERE member_id = ?1",
            rusqlite::params![member.0],
            profile_row,
        )
    }

    async fn save_profile(&mut self, p: &Profile) -> StoreResult<()> {
        self.exec(
            "INSERT INTO profiles (member_id, phone, time_zone, signature_html, signature_text, \
             logo_mime, logo, setup_done, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (member_id) DO UPDATE SET phone = ?2, time_zone = ?3, \
             signature_html = ?4, signature_text = ?5, logo_mime = ?6, logo = ?7, \
             setup_done = ?8, updated_at = ?9",
            rusqlite::params![
                p.member_id.0,
                p.phone,
                p.time_zone,
                p.signature_html,
                p.signature_text,
                p.logo.as_ref().map(|l| l.mime.clone()),
                p.logo.as_ref().map(|l| l.bytes.clone()),
                p.setup_done,
                ms(p.updated_at)
            ],
        )?;
        Ok(())
    }
}

pub(crate) fn profile_row(r: &Row<'_>) -> Result<Profile, StoreError> {
    let mime: Option<String> = get(r, 5)?;
    let bytes: Option<Vec<u8>> = get(r, 6)?;
    Ok(Profile {
        member_id: MemberId(uuid(r, 0)?),
        phone: get(r, 1)?,
        time_zone: get(r, 2)?,
        signature_html: get(r, 3)?,
        signature_text: get(r, 4)?,
        logo: mime.zip(bytes).map(|(mime, bytes)| Logo { mime, bytes }),
        setup_done: get(r, 7)?,
        updated_at: time(r, 8)?,
    })
}
