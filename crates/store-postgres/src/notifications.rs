//! Notification preferences, app mail settings, invitation reminders. SQL, PostgreSQL.

use crate::Handle;
use crate::invitations::invitation_row;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{NotificationQueries, StoreResult};
use roster_core::types::*;
use sqlx::Row;
use sqlx::postgres::PgConnection;
use std::ops::DerefMut;
use time::OffsetDateTime;

#[async_trait]
impl<C> NotificationQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn notification_prefs(
        &mut self,
        app_id: &AppId,
        member: MemberId,
    ) -> StoreResult<Vec<NotificationPref>> {
        let rows = sqlx::query(
            "SELECT kind, enabled FROM notification_prefs WHERE app_id = $1 AND member_id = $2",
        )
        .bind(app_id.as_str())
        .bind(member.0)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let k: String = r.try_get("kind").map_err(map_err)?;
            let enabled: bool = r.try_get("enabled").map_err(map_err)?;
            if let Some(kind) = NotificationKind::parse(&k) {
                out.push(NotificationPref { kind, enabled });
            }
        }
        Ok(out)
    }

    async fn set_notification_pref(
        &mut self,
        app_id: &AppId,
        member: MemberId,
        kind: NotificationKind,
        enabled: bool,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO notification_prefs (member_id, kind, app_id, enabled) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (member_id, kind) DO UPDATE SET enabled = excluded.enabled",
        )
        .bind(member.0)
        .bind(kind.as_str())
        .bind(app_id.as_str())
        .bind(enabled)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn notifications_off(
        &mut self,
        app_id: &AppId,
        kind: NotificationKind,
    ) -> StoreResult<Vec<MemberId>> {
        let rows = sqlx::query(
            "SELECT member_id FROM notification_prefs \
             WHERE app_id = $1 AND kind = $2 AND NOT enabled",
        )
        .bind(app_id.as_str())
        .bind(kind.as_str())
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| r.try_get("member_id").map(MemberId).map_err(map_err))
            .collect()
    }

    async fn invitation_reminders_on(&mut self, app_id: &AppId) -> StoreResult<bool> {
        let v: Option<bool> = sqlx::query_scalar(
            "SELECT invitation_reminders FROM app_mail_settings WHERE app_id = $1",
        )
        .bind(app_id.as_str())
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?;
        Ok(v.unwrap_or(true))
    }

    async fn set_invitation_reminders(&mut self, app_id: &AppId, on: bool) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO app_mail_settings (app_id, invitation_reminders) VALUES ($1, $2) \
             ON CONFLICT (app_id) DO UPDATE SET invitation_reminders = excluded.invitation_reminders",
        )
        .bind(app_id.as_str())
        .bind(on)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn due_reminders(
        &mut self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        made_before: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<Invitation>> {
        let rows = sqlx::query(
            "SELECT i.id, i.app_id, i.member_id, i.email, i.kind, i.admin, i.token_hash, i.status, \
             i.inviter_id, i.inviter_name, i.created_at, i.expires_at, i.ended_at \
             FROM invitations i \
             WHERE i.status = 'pending' AND i.expires_at > $1 AND i.expires_at <= $2 \
             AND i.created_at <= $3 \
             AND NOT EXISTS (SELECT 1 FROM invitation_reminders r WHERE r.invitation_id = i.id) \
             AND COALESCE((SELECT s.invitation_reminders FROM app_mail_settings s \
                           WHERE s.app_id = i.app_id), true) \
             ORDER BY i.expires_at LIMIT $4 FOR UPDATE OF i SKIP LOCKED",
        )
        .bind(now)
        .bind(until)
        .bind(made_before)
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(invitation_row).collect()
    }

    async fn insert_reminder(
        &mut self,
        invitation: InvitationId,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "INSERT INTO invitation_reminders (invitation_id, token_hash, sent_at) \
             VALUES ($1, $2, $3) ON CONFLICT (invitation_id) DO NOTHING",
        )
        .bind(invitation.0)
        .bind(token_hash)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }
}
