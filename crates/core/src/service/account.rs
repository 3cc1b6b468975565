//! Journey: account — what a person does with their own ID: see and end its sessions, leave an
//! app.

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::types::*;

impl Services {
    /// The person leaves `app_id`: their membership becomes Inactive (a user's seat is freed),
    /// their sessions bound to that app end, and the app's admins are told by email. The last
    /// admin cannot leave. Anything but an Active membership of the caller is 404.
    pub async fn leave_app(&self, ctx: &Ctx, p: &Principal, app_id: &AppId) -> Result<Member> {
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let mut m = tx
            .find_member_by_identity(app_id, p.identity_id)
            .await?
            .filter(|m| m.status == MemberStatus::Active)
            .ok_or(Error::NotFound)?;
        if m.admin && tx.count_active_admins(app_id).await? <= 1 {
            return Err(Error::LastAdmin);
        }
        m.status = MemberStatus::Inactive;
        self.hold_seat_if_needed(&mut app, &mut m)?;
        tx.update_member(&m).await?;
        tx.update_app_seats(&app).await?;
        tx.delete_sessions_in_app(p.identity_id, app_id).await?;
        tx.revoke_member_api_keys(app_id, m.id, ctx.now).await?;
        self.end_member_grants(&mut *tx, ctx, app_id, m.id).await?;
        let event = super::notifications::event_of(&m, None, None, ctx.now);
        self.notify_admins(&mut *tx, ctx, &app, NotificationKind::Left, event, None)
            .await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "member.left",
            Some(m.email.to_string()),
            serde_json::json!({"member": m.id}),
        )
        .await?;
        let data = serde_json::json!({"member": super::webhooks::member_json(&m)});
        self.emit(&mut *tx, ctx, app_id, WebhookEvent::MemberLeft, data)
            .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(m)
    }
}

/// One of the ID's sessions, as its owner sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub session: Session,
    /// The session this request came with.
    pub current: bool,
}

impl Services {
    /// The ID's live sessions (expired and idle-timed-out ones are not shown), most recently
    /// used first, the caller's own marked.
    pub async fn my_sessions(&self, ctx: &Ctx, p: &Principal) -> Result<Vec<SessionInfo>> {
        let all = self.read().await?.list_sessions(p.identity_id).await?;
        Ok(all
            .into_iter()
            .filter(|s| {
                ctx.now < s.expires_at && ctx.now - s.last_seen_at <= self.settings.session_idle
            })
            .map(|s| SessionInfo {
                current: s.id == p.session_id,
                session: s,
            })
            .collect())
    }

    /// End one of the ID's sessions (its own current one too: that is logging out). Another
    /// ID's session, or an unknown one, is 404.
    pub async fn end_session(&self, ctx: &Ctx, p: &Principal, id: SessionId) -> Result<()> {
        let mut tx = self.begin().await?;
        if !tx.delete_session_of(p.identity_id, id).await? {
            return Err(Error::NotFound);
        }
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "session.ended",
            None,
            serde_json::json!({"session": id}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// End every session of the ID except the caller's. Returns how many ended.
    pub async fn end_other_sessions(&self, ctx: &Ctx, p: &Principal) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = tx
            .delete_sessions_except(p.identity_id, p.session_id)
            .await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "session.ended_others",
            None,
            serde_json::json!({"ended": n}),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}
