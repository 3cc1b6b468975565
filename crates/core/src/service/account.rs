//! Journey: account — what a person does with their own ID's memberships: leave an app.

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
        let name = p.display_name();
        for admin in tx.list_active_admins(app_id).await? {
            tx.enqueue(&OutboxMessage::new(
                ctx.now,
                &admin.email,
                Mail::MemberLeft {
                    app_name: app.name.clone(),
                    app_id: app_id.clone(),
                    member_name: name.clone(),
                    member_email: m.email.to_string(),
                    kind: m.kind,
                },
                None,
            ))
            .await?;
        }
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
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(m)
    }
}
