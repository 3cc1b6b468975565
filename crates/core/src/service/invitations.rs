//! Journey: invitations — an admin invites, resends, copies a new link or revokes; the public
//! look at what an invitation link is about.

use super::{Actor, Ctx, Principal, Services, collect, invalid};
use crate::error::{Error, Result, StoreError};
use crate::model::*;
use crate::store::Queries;
use crate::token::{hash_token, new_token};
use crate::types::*;
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct InviteRequest {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub admin: bool,
    pub kind: MemberKind,
}

/// An invitation together with its one-time token (only ever known right after creation).
#[derive(Debug, Clone)]
pub struct IssuedInvitation {
    pub member: Member,
    pub invitation: Invitation,
    pub token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InvitationInfo {
    pub app_name: String,
    pub app_id: AppId,
    pub inviter_name: String,
    pub email: String,
    pub kind: MemberKind,
    pub admin: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub id_exists: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Services {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn issue_invitation(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app: &mut App,
        inviter: Option<&Principal>,
        inviter_name: &str,
        email: Email,
        first_name: Option<String>,
        last_name: Option<String>,
        admin: bool,
        kind: MemberKind,
        send_email: bool,
        bulk: bool,
    ) -> Result<IssuedInvitation> {
        // a bulk caller expires due invitations, saves the seat count and notifies the admins
        // once per batch instead
        if !bulk {
            self.expire_due(tx, ctx, app).await?;
        }

        let existing = tx
            .find_member_by_email(&app.app_id, email.normalized())
            .await?;
        let is_new = existing.is_none();
        let mut member = match existing {
            Some(m) => match m.status {
                MemberStatus::Active | MemberStatus::Inactive => return Err(Error::AlreadyMember),
                MemberStatus::Invited if tx.find_pending_invitation(m.id).await?.is_some() => {
                    return Err(Error::AlreadyInvited);
                }
                // an expired invitation or a revoked one / a member that left: invite afresh
                MemberStatus::Invited | MemberStatus::Removed => Member {
                    email: email.clone(),
                    first_name: first_name.clone().or(m.first_name.clone()),
                    last_name: last_name.clone().or(m.last_name.clone()),
                    kind,
                    admin,
                    status: MemberStatus::Invited,
                    ..m
                },
            },
            None => Member {
                id: MemberId::new(),
                app_id: app.app_id.clone(),
                identity_id: None,
                email: email.clone(),
                first_name: first_name.clone(),
                last_name: last_name.clone(),
                kind,
                admin,
                status: MemberStatus::Invited,
                holds_seat: false,
                created_at: ctx.now,
                last_login_at: None,
            },
        };
        self.hold_seat_if_needed(app, &mut member)?;
        if !bulk {
            tx.update_app_seats(app).await?;
        }
        if is_new {
            tx.insert_member(&member).await.map_err(|e| match e {
                StoreError::Unique => Error::AlreadyInvited,
                e => e.into(),
            })?;
        } else {
            tx.update_member(&member).await?;
        }

        let token = new_token();
        let invitation = Invitation {
            id: InvitationId::new(),
            app_id: app.app_id.clone(),
            member_id: member.id,
            email: email.clone(),
            kind,
            admin,
            token_hash: hash_token(&token),
            status: InvitationStatus::Pending,
            inviter_id: inviter.and_then(|p| p.person()),
            inviter_name: inviter_name.to_string(),
            created_at: ctx.now,
            expires_at: ctx.now + self.settings.invitation_ttl,
            ended_at: None,
        };
        tx.insert_invitation(&invitation).await?;
        if send_email {
            tx.enqueue(
                &OutboxMessage::new(
                    ctx.now,
                    &email,
                    Mail::Invitation {
                        kind,
                        app_name: app.name.clone(),
                        app_id: app.app_id.clone(),
                        inviter_name: inviter_name.to_string(),
                        invitee_first_name: first_name,
                        admin,
                        expires_at: invitation.expires_at,
                    },
                    Some(token.clone()),
                )
                .for_invitation(invitation.id),
            )
            .await?;
        }
        if inviter.is_some() && !bulk {
            let event = super::notifications::event_of(
                &member,
                Some(inviter_name.to_string()),
                None,
                ctx.now,
            );
            self.notify_admins(
                tx,
                ctx,
                app,
                NotificationKind::Invited,
                event,
                inviter.and_then(|p| p.person()),
            )
            .await?;
        }
        let actor = inviter.map(Actor::Id).unwrap_or(Actor::Operator);
        self.audit(
            tx,
            ctx,
            Some(&app.app_id),
            actor,
            "invitation.sent",
            Some(email.to_string()),
            serde_json::json!({"kind": kind.as_str(), "admin": admin, "invitation": invitation.id}),
        )
        .await?;
        let data = serde_json::json!({
            "member": super::webhooks::member_json(&member),
            "invitation": {"id": invitation.id, "expires_at": invitation.expires_at.unix_timestamp()},
            "by": inviter_name,
        });
        self.emit(tx, ctx, &app.app_id, WebhookEvent::MemberInvited, data)
            .await?;
        Ok(IssuedInvitation {
            member,
            invitation,
            token,
        })
    }

    /// Admin: invite a user (holds a seat) or a partner (no seat).
    pub async fn invite(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        req: InviteRequest,
    ) -> Result<IssuedInvitation> {
        if req.admin {
            p.require_admin_scope()?;
        }
        self.require_admin(p, app_id).await?;
        let mut errors = Vec::new();
        let email = collect(&mut errors, Email::parse(&req.email));
        let first = match req.kind {
            MemberKind::User => collect(
                &mut errors,
                Name::parse("first_name", req.first_name.as_deref().unwrap_or("")).map(Some),
            ),
            MemberKind::Partner => collect(
                &mut errors,
                Name::parse_optional("first_name", req.first_name.as_deref()),
            ),
        };
        let last = collect(
            &mut errors,
            Name::parse_optional("last_name", req.last_name.as_deref()),
        );
        invalid(errors)?;
        let (Some(email), Some(first), Some(last)) = (email, first, last) else {
            return Err(Error::Internal("validation".into()));
        };

        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let issued = self
            .issue_invitation(
                &mut *tx,
                ctx,
                &mut app,
                Some(p),
                &p.display_name(),
                email,
                first.map(String::from),
                last.map(String::from),
                req.admin,
                req.kind,
                true,
                false,
            )
            .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(issued)
    }

    /// Admin: send a pending or expired invitation again with a new token; the old link dies.
    pub async fn resend(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
    ) -> Result<IssuedInvitation> {
        self.reissue(ctx, p, app_id, id, true, None).await
    }

    /// Admin: correct the address of a pending, expired or undeliverable invitation and send
    /// it there (a new link; the old one dies). The same address is a plain resend.
    pub async fn resend_to(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
        email: &str,
    ) -> Result<IssuedInvitation> {
        let email = Email::parse(email)?;
        self.reissue(ctx, p, app_id, id, true, Some(email)).await
    }

    /// Admin: a fresh link to copy and hand over (no email); the previous link dies, because
    /// only a hash of each link is stored.
    pub async fn new_link(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
    ) -> Result<IssuedInvitation> {
        self.reissue(ctx, p, app_id, id, false, None).await
    }

    async fn reissue(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
        send_email: bool,
        correct_email: Option<Email>,
    ) -> Result<IssuedInvitation> {
        self.require_admin(p, app_id).await?;
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        self.expire_due(&mut *tx, ctx, &mut app).await?;
        let old = tx
            .get_invitation(app_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        let member = tx
            .get_member(app_id, old.member_id)
            .await?
            .ok_or(Error::NotFound)?;
        if member.status != MemberStatus::Invited {
            return Err(match old.status {
                InvitationStatus::Accepted => Error::InvitationUsed,
                _ => Error::InvitationRevoked,
            });
        }
        match old.status {
            InvitationStatus::Pending => {
                tx.set_invitation_status(
                    old.id,
                    InvitationStatus::Pending,
                    InvitationStatus::Replaced,
                    ctx.now,
                )
                .await?;
            }
            InvitationStatus::Expired => {
                // only the member's latest invitation can be renewed
                if tx.find_pending_invitation(member.id).await?.is_some() {
                    return Err(Error::AlreadyInvited);
                }
            }
            other => {
                other.transition(InvitationStatus::Pending)?;
            }
        }
        // mark the member as not invited so issue_invitation renews it (seat re-checked)
        let mut m = member.clone();
        m.status = MemberStatus::Removed;
        let email = match correct_email {
            Some(e) if e.normalized() != member.email.normalized() => {
                // a corrected address: the old member row is left behind, its seat freed
                // (the new one takes it again below)
                self.hold_seat_if_needed(&mut app, &mut m)?;
                e
            }
            _ => member.email.clone(),
        };
        tx.update_member(&m).await?;
        // a seat the member still holds is kept; an expired one is checked and taken again
        let issued = self
            .issue_invitation(
                &mut *tx,
                ctx,
                &mut app,
                Some(p),
                &p.display_name(),
                email,
                member.first_name.clone(),
                member.last_name.clone(),
                old.admin,
                old.kind,
                send_email,
                false,
            )
            .await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            if send_email {
                "invitation.resent"
            } else {
                "invitation.link_copied"
            },
            Some(member.email.to_string()),
            serde_json::json!({"old": old.id, "new": issued.invitation.id}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(issued)
    }

    /// Admin: revoke a pending invitation; its seat is freed and its link dies.
    pub async fn revoke(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
    ) -> Result<()> {
        self.require_admin(p, app_id).await?;
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let inv = tx
            .get_invitation(app_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        inv.effective_status(ctx.now)
            .transition(InvitationStatus::Revoked)
            .or_else(|e| match e {
                // an expired invitation can still be withdrawn from the list
                Error::InvitationExpired => Ok(InvitationStatus::Revoked),
                e => Err(e),
            })?;
        tx.set_invitation_status(inv.id, inv.status, InvitationStatus::Revoked, ctx.now)
            .await?;
        let mut member = tx
            .get_member(app_id, inv.member_id)
            .await?
            .ok_or(Error::NotFound)?;
        if member.status == MemberStatus::Invited {
            member.status = MemberStatus::Removed;
            self.hold_seat_if_needed(&mut app, &mut member)?;
            tx.update_member(&member).await?;
            tx.update_app_seats(&app).await?;
        }
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "invitation.revoked",
            Some(inv.email.to_string()),
            serde_json::json!({"invitation": inv.id}),
        )
        .await?;
        let data = serde_json::json!({"invitation": {
            "id": inv.id, "email": inv.email.as_str(), "member_id": inv.member_id,
        }});
        self.emit(&mut *tx, ctx, app_id, WebhookEvent::InvitationRevoked, data)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Admin: one invitation of the app.
    pub async fn get_invitation(
        &self,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
    ) -> Result<Invitation> {
        self.require_admin(p, app_id).await?;
        self.read()
            .await?
            .get_invitation(app_id, id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// The newest invitation of each invited member in `members` (for row actions).
    pub async fn current_invitations(
        &self,
        p: &Principal,
        app_id: &AppId,
        members: &[Member],
    ) -> Result<Vec<Invitation>> {
        let mut r = self.read().await?;
        if !Self::member_in(&mut *r, p, app_id).await?.admin {
            return Err(Error::NotFound);
        }
        let mut out = Vec::new();
        for m in members.iter().filter(|m| m.status == MemberStatus::Invited) {
            if let Some(i) = r.latest_invitation(m.id).await? {
                out.push(i);
            }
        }
        Ok(out)
    }

    pub async fn list_invitations(
        &self,
        p: &Principal,
        app_id: &AppId,
        q: &InvitationQuery,
    ) -> Result<Vec<Invitation>> {
        self.require_admin(p, app_id).await?;
        Ok(self.read().await?.list_invitations(app_id, q).await?)
    }

    /// Admin: what became of the email of each of these invitations (the newest message about
    /// it: queued, delivered, retrying or undeliverable with the server's reply).
    pub async fn invitation_deliveries(
        &self,
        p: &Principal,
        app_id: &AppId,
        ids: &[InvitationId],
    ) -> Result<Vec<(InvitationId, Delivery)>> {
        self.require_admin(p, app_id).await?;
        let mail = self.read().await?.invitation_mail(ids).await?;
        Ok(mail
            .into_iter()
            .map(|(id, m)| (id, Delivery::of(&m)))
            .collect())
    }

    /// Public: what an invitation link is about. Unusable links say why.
    pub async fn invitation_info(&self, ctx: &Ctx, token: &str) -> Result<InvitationInfo> {
        let mut r = self.read().await?;
        let inv = r
            .find_invitation_by_token(&hash_token(token))
            .await?
            .ok_or(Error::NotFound)?;
        inv.check_usable(ctx.now)?;
        let app = r.get_app(&inv.app_id).await?.ok_or(Error::NotFound)?;
        let member = r.get_member(&inv.app_id, inv.member_id).await?;
        let id_exists = r
            .find_identity_by_email(inv.email.normalized())
            .await?
            .is_some();
        Ok(InvitationInfo {
            app_name: app.name,
            app_id: app.app_id,
            inviter_name: inv.inviter_name,
            email: inv.email.to_string(),
            kind: inv.kind,
            admin: inv.admin,
            first_name: member.as_ref().and_then(|m| m.first_name.clone()),
            last_name: member.and_then(|m| m.last_name),
            id_exists,
            expires_at: inv.expires_at,
        })
    }
}
