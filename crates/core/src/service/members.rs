//! Journey: members — an admin lists and views members, grants or removes the admin flag,
//! deactivates or reactivates, and reads the audit log.

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::types::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Deactivate,
    Reactivate,
}

/// What to change on a member (`None`: leave as it is).
#[derive(Debug, Clone, Default)]
pub struct MemberUpdate {
    pub admin: Option<bool>,
    pub status: Option<StatusChange>,
    /// Deactivation: the active member who receives the records.
    pub records_to: Option<MemberId>,
}

impl Services {
    pub async fn list_members(
        &self,
        p: &Principal,
        app_id: &AppId,
        q: &MemberQuery,
    ) -> Result<Vec<Member>> {
        let mut r = self.read().await?;
        if !Self::member_in(&mut *r, p, app_id).await?.admin {
            return Err(Error::NotFound);
        }
        let mut q = q.clone();
        q.limit = q.limit.clamp(1, 200);
        q.search = q
            .search
            .as_deref()
            .and_then(super::search_text)
            .map(|s| s.to_lowercase().chars().take(100).collect());
        Ok(r.list_members(app_id, &q).await?)
    }

    pub async fn get_member(&self, p: &Principal, app_id: &AppId, id: MemberId) -> Result<Member> {
        self.require_admin(p, app_id).await?;
        self.read()
            .await?
            .get_member(app_id, id)
            .await?
            .filter(|m| m.status != MemberStatus::Removed)
            .ok_or(Error::NotFound)
    }

    /// Admin: grant or remove the admin flag. The last active admin cannot be demoted.
    pub async fn set_admin(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: MemberId,
        admin: bool,
    ) -> Result<Member> {
        let upd = MemberUpdate {
            admin: Some(admin),
            ..MemberUpdate::default()
        };
        self.update_member(ctx, p, app_id, id, upd, None).await
    }

    /// Admin: deactivate (frees the seat, ends the member's sessions in the app and revokes
    /// their personal API keys) or reactivate (needs a free seat for a user).
    pub async fn set_status(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: MemberId,
        change: StatusChange,
        records_to: Option<MemberId>,
    ) -> Result<Member> {
        let upd = MemberUpdate {
            status: Some(change),
            records_to,
            ..MemberUpdate::default()
        };
        self.update_member(ctx, p, app_id, id, upd, None).await
    }

    /// Admin: change a member's status and/or admin flag in one transaction (status first, so
    /// a deactivated admin keeps the last-admin protection). With `if_match`, the change is
    /// made only if the member is still the version the caller read ([`Member::etag`]; `*`
    /// matches any), else [`Error::PreconditionFailed`].
    pub async fn update_member(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: MemberId,
        upd: MemberUpdate,
        if_match: Option<&str>,
    ) -> Result<Member> {
        if upd.admin.is_some() {
            p.require_admin_scope()?;
        }
        self.require_admin(p, app_id).await?;
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let mut m = tx
            .get_member(app_id, id)
            .await?
            .filter(|m| m.status != MemberStatus::Removed)
            .ok_or(Error::NotFound)?;
        if let Some(tag) = if_match
            && tag != "*"
            && tag != m.etag()
        {
            return Err(Error::PreconditionFailed);
        }
        if let Some(change) = upd.status {
            self.apply_status(&mut *tx, ctx, p, &mut app, &mut m, change, upd.records_to)
                .await?;
        }
        if let Some(admin) = upd.admin
            && m.admin != admin
        {
            self.apply_admin(&mut *tx, ctx, p, &app, &mut m, admin)
                .await?;
        }
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(m)
    }

    async fn apply_admin(
        &self,
        tx: &mut dyn crate::store::Queries,
        ctx: &Ctx,
        p: &Principal,
        app: &App,
        m: &mut Member,
        admin: bool,
    ) -> Result<()> {
        if !admin
            && m.status == MemberStatus::Active
            && tx.count_active_admins(&app.app_id).await? <= 1
        {
            return Err(Error::LastAdmin);
        }
        m.admin = admin;
        tx.update_member(m).await?;
        let change = if admin {
            MemberChange::MadeAdmin
        } else {
            MemberChange::AdminRemoved
        };
        self.tell_of_change(tx, ctx, p, app, m, NotificationKind::AdminChanged, change)
            .await?;
        self.audit(
            tx,
            ctx,
            Some(&app.app_id),
            Actor::Id(p),
            "member.role_changed",
            Some(m.email.to_string()),
            serde_json::json!({"member": m.id, "admin": admin}),
        )
        .await?;
        let data =
            serde_json::json!({"member": super::webhooks::member_json(m), "by": p.display_name()});
        self.emit(tx, ctx, &app.app_id, WebhookEvent::MemberRoleChanged, data)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_status(
        &self,
        tx: &mut dyn crate::store::Queries,
        ctx: &Ctx,
        p: &Principal,
        app: &mut App,
        m: &mut Member,
        change: StatusChange,
        records_to: Option<MemberId>,
    ) -> Result<()> {
        let app_id = app.app_id.clone();
        let app_id = &app_id;
        let (action, told) = match change {
            StatusChange::Deactivate => {
                if m.status != MemberStatus::Active {
                    return Err(Error::InvalidTransition(
                        "only an Active member can be deactivated",
                    ));
                }
                if m.admin && tx.count_active_admins(app_id).await? <= 1 {
                    return Err(Error::LastAdmin);
                }
                if let Some(r) = records_to {
                    let ok = tx
                        .get_member(app_id, r)
                        .await?
                        .is_some_and(|rm| rm.status == MemberStatus::Active && rm.id != m.id);
                    if !ok {
                        return Err(Error::invalid(
                            "records_to",
                            "Choose an active member to receive the records.",
                        ));
                    }
                }
                m.status = MemberStatus::Inactive;
                if let Some(identity) = m.identity_id {
                    tx.delete_sessions_in_app(identity, app_id).await?;
                }
                tx.revoke_member_api_keys(app_id, m.id, ctx.now).await?;
                self.end_member_grants(tx, ctx, app_id, m.id).await?;
                ("member.deactivated", MemberChange::Deactivated)
            }
            StatusChange::Reactivate => {
                if m.status != MemberStatus::Inactive {
                    return Err(Error::InvalidTransition(
                        "only an Inactive member can be reactivated",
                    ));
                }
                m.status = MemberStatus::Active;
                self.expire_due(tx, ctx, app).await?;
                ("member.reactivated", MemberChange::Reactivated)
            }
        };
        self.hold_seat_if_needed(app, m)?;
        tx.update_member(m).await?;
        tx.update_app_seats(app).await?;
        self.tell_of_change(tx, ctx, p, app, m, NotificationKind::StatusChanged, told)
            .await?;
        self.audit(
            tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            action,
            Some(m.email.to_string()),
            serde_json::json!({"member": m.id, "records_to": records_to}),
        )
        .await?;
        let event = match change {
            StatusChange::Deactivate => WebhookEvent::MemberDeactivated,
            StatusChange::Reactivate => WebhookEvent::MemberReactivated,
        };
        let data =
            serde_json::json!({"member": super::webhooks::member_json(m), "by": p.display_name()});
        self.emit(tx, ctx, app_id, event, data).await
    }

    /// Admin: how many Active admins the app has (the last one cannot be removed, demoted or
    /// deactivated, so pages do not offer it).
    pub async fn count_active_admins(&self, p: &Principal, app_id: &AppId) -> Result<i64> {
        self.require_admin(p, app_id).await?;
        Ok(self.read().await?.count_active_admins(app_id).await?)
    }
}

impl Services {
    /// A role or status change: the admins who want to hear of it, and the member concerned.
    #[allow(clippy::too_many_arguments)]
    async fn tell_of_change(
        &self,
        tx: &mut dyn crate::store::Queries,
        ctx: &Ctx,
        p: &Principal,
        app: &App,
        m: &Member,
        kind: NotificationKind,
        change: MemberChange,
    ) -> Result<()> {
        let by = p.display_name();
        let event = super::notifications::event_of(m, Some(by.clone()), Some(change), ctx.now);
        self.notify_admins(tx, ctx, app, kind, event, p.person())
            .await?;
        self.notify_member(tx, ctx, app, m, change, &by).await
    }
}
