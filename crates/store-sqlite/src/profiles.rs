//! Profiles: the ID's own profile (one row per identity) and each member's part in an app
//! (logo, setup finished). SQL and row mapping, SQLite.

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
    async fn get_identity_profile(
        &mut self,
        identity: IdentityId,
    ) -> StoreResult<Option<IdentityProfile>> {
        self.one(
            "SELECT i.id, i.first_name, i.last_name, p.phone, p.time_zone, p.signature_html, \
             p.signature_text, p.updated_at FROM identities i \
             LEFT JOIN identity_profiles p ON p.identity_id = i.id WHERE i.id = ?1",
            rusqlite::params![identity.0],
            identity_profile_row,
        )
    }

    async fn save_identity_profile(&mut self, p: &IdentityProfile) -> StoreResult<()> {
        let at = p.updated_at.map(ms);
        self.exec(
            "INSERT INTO identity_profiles (identity_id, phone, time_zone, signature_html, \
             signature_text, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, 0)) \
             ON CONFLICT (identity_id) DO UPDATE SET phone = ?2, time_zone = ?3, \
             signature_html = ?4, signature_text = ?5, updated_at = coalesce(?6, updated_at)",
            rusqlite::params![
                p.identity_id.0,
                p.phone,
                p.time_zone,
                p.signature_html,
                p.signature_text,
                at
            ],
        )?;
        self.exec(
            "UPDATE identities SET first_name = ?2, last_name = ?3 WHERE id = ?1",
            rusqlite::params![p.identity_id.0, p.first_name, p.last_name],
        )?;
        self.exec(
            "UPDATE members SET first_name = ?2, last_name = ?3 WHERE identity_id = ?1",
            rusqlite::params![p.identity_id.0, p.first_name, p.last_name],
        )?;
        Ok(())
    }

    async fn setup_done_elsewhere(
        &mut self,
        identity: IdentityId,
        except: MemberId,
    ) -> StoreResult<bool> {
        let n = self.scalar(
            "SELECT EXISTS (SELECT 1 FROM members m JOIN profiles p ON p.member_id = m.id \
             WHERE m.identity_id = ?1 AND m.id <> ?2 AND p.setup_done = 1)",
            rusqlite::params![identity.0, except.0],
        )?;
        Ok(n != 0)
    }

    async fn get_profile(&mut self, member: MemberId) -> StoreResult<Option<MemberProfile>> {
        self.one(
            "SELECT member_id, logo_mime, logo, setup_done, updated_at FROM profiles \
             WHERE member_id = ?1",
            rusqlite::params![member.0],
            profile_row,
        )
    }

    async fn save_profile(&mut self, p: &MemberProfile) -> StoreResult<()> {
        self.exec(
            "INSERT INTO profiles (member_id, logo_mime, logo, setup_done, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (member_id) DO UPDATE SET logo_mime = ?2, logo = ?3, \
             setup_done = ?4, updated_at = ?5",
            rusqlite::params![
                p.member_id.0,
                p.logo.as_ref().map(|l| l.mime.as_str()),
                p.logo.as_ref().map(|l| l.bytes.as_slice()),
                p.setup_done,
                ms(p.updated_at)
            ],
        )?;
        Ok(())
    }
}

pub(crate) fn identity_profile_row(r: &Row<'_>) -> Result<IdentityProfile, StoreError> {
    Ok(IdentityProfile {
        identity_id: IdentityId(uuid(r, 0)?),
        first_name: get(r, 1)?,
        last_name: get(r, 2)?,
        phone: get(r, 3)?,
        time_zone: get(r, 4)?,
        signature_html: get(r, 5)?,
        signature_text: get(r, 6)?,
        updated_at: opt_time(r, 7)?,
    })
}

pub(crate) fn profile_row(r: &Row<'_>) -> Result<MemberProfile, StoreError> {
    let mime: Option<String> = get(r, 1)?;
    let bytes: Option<Vec<u8>> = get(r, 2)?;
    Ok(MemberProfile {
        member_id: MemberId(uuid(r, 0)?),
        logo: mime.zip(bytes).map(|(mime, bytes)| Logo { mime, bytes }),
        setup_done: get(r, 3)?,
        updated_at: time(r, 4)?,
    })
}
