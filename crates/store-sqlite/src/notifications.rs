//! Notification preferences, app mail settings, invitation reminders. SQL, SQLite.

use crate::invitations::invitation_row;
use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{NotificationQueries, StoreResult};
use roster_core::types::*;
use time::OffsetDateTime;

#[async_trait]
impl<C: HasConn> NotificationQueries for Handle<C> {
    async fn notification_prefs(
        &mut self,
        app_id: &AppId,
        member: MemberId,
    ) -> StoreResult<Vec<NotificationPref>> {
        let rows: Vec<(String, bool)> = self.all(
            "SELECT kind, enabled FROM notification_prefs WHERE app_id = ?1 AND member_id = ?2",
            rusqlite::params![app_id.as_str(), member.0],
            |r| Ok((get(r, 0)?, get(r, 1)?)),
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, enabled)| {
                NotificationKind::parse(&k).map(|kind| NotificationPref { kind, enabled })
            })
            .collect())
    }

    async fn set_notification_pref(
        &mut self,
        app_id: &AppId,
        member: MemberId,
        kind: NotificationKind,
        enabled: bool,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO notification_prefs (member_id, kind, app_id, enabled) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (member_id, kind) DO UPDATE SET enabled = excluded.enabled",
            rusqlite::params![member.0, kind.as_str(), app_id.as_str(), enabled],
        )?;
        Ok(())
    }

    async fn notifications_off(
        &mut self,
        app_id: &AppId,
        kind: NotificationKind,
    ) -> StoreResult<Vec<MemberId>> {
        self.all(
            "SELECT member_id FROM notification_prefs \
             WHERE app_id = ?1 AND kind = ?2 AND enabled = 0",
            rusqlite::params![app_id.as_str(), kind.as_str()],
            |r| Ok(MemberId(uuid(r, 0)?)),
        )
    }

    async fn invitation_reminders_on(&mut self, app_id: &AppId) -> StoreResult<bool> {
        let v: Option<bool> = self.one(
            "SELECT invitation_reminders FROM app_mail_settings WHERE app_id = ?1",
            rusqlite::params![app_id.as_str()],
            |r| get(r, 0),
        )?;
        Ok(v.unwrap_or(true))
    }

    async fn set_invitation_reminders(&mut self, app_id: &AppId, on: bool) -> StoreResult<()> {
        self.exec(
            "INSERT INTO app_mail_settings (app_id, invitation_reminders) VALUES (?1, ?2) \
             ON CONFLICT (app_id) DO UPDATE SET invitation_reminders = excluded.invitation_reminders",
            rusqlite::params![app_id.as_str(), on],
        )?;
        Ok(())
    }

    async fn due_reminders(
        &mut self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        made_before: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<Invitation>> {
        self.all(
            "SELECT i.id, i.app_id, i.member_id, i.email, i.kind, i.admin, i.token_hash, i.status, \
             i.inviter_id, i.inviter_name, i.created_at, i.expires_at, i.ended_at \
             FROM invitations i \
             WHERE i.status = 'pending' AND i.expires_at > ?1 AND i.expires_at <= ?2 \
             AND i.created_at <= ?3 \
             AND NOT EXISTS (SELECT 1 FROM invitation_reminders r WHERE r.invitation_id = i.id) \
             AND COALESCE((SELECT s.invitation_reminders FROM app_mail_settings s \
                           WHERE s.app_id = i.app_id), 1) = 1 \
             ORDER BY i.expires_at LIMIT ?4",
            rusqlite::params![ms(now), ms(until), ms(made_before), i64::from(limit)],
            invitation_row,
        )
    }

    async fn insert_reminder(
        &mut self,
        invitation: InvitationId,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "INSERT INTO invitation_reminders (invitation_id, token_hash, sent_at) \
             VALUES (?1, ?2, ?3) ON CONFLICT (invitation_id) DO NOTHING",
            rusqlite::params![invitation.0, token_hash, ms(at)],
        )?;
        Ok(n == 1)
    }
}
