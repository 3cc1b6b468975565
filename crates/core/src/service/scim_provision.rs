//! Journey: SCIM direct provisioning — an app whose setting says `active` has its identity
//! provider's new users made Active members at once, under the same seat rules and lock as
//! every other way in. The member is linked to the Roster ID with that email; when there is
//! none, an ID is made (with a random password nobody knows) and its owner chooses a password
//! through an emailed single-use link, so nobody signs in to it without proving the address.

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result, StoreError};
use crate::model::*;
use crate::store::Queries;
use crate::token::{hash_token, new_token};
use crate::types::*;

/// An ID made by provisioning, before its transaction: the hash of a random password nobody
/// knows (made before the write lock is taken: hashing takes a while).
pub(super) struct UnclaimedId {
    password_hash: String,
}

/// Two creates for one new address at once (one makes the ID, the other is told to retry), or
/// the setting changed while a create was on its way.
pub(super) fn made_meanwhile() -> Error {
    Error::Store(StoreError::Unavailable(
        "another change crossed this one (a Roster ID being made for this address, or the \
         app's SCIM setting); try again"
            .into(),
    ))
}

impl Services {
    /// The app's SCIM setting (admins; any scope may read it).
    pub async fn scim_provisioning(
        &self,
        p: &Principal,
        app_id: &AppId,
    ) -> Result<ScimProvisioning> {
        self.require_admin(p, app_id).await?;
        Ok(self.read().await?.scim_provisioning(app_id).await?)
    }

    /// Admin: what the app's SCIM creates make. Audited. A session, or a key with the `admin`
    /// scope: the identity provider's own `scim` key cannot widen what it may do.
    pub async fn set_scim_provisioning(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        mode: ScimProvisioning,
    ) -> Result<ScimProvisioning> {
        if !p.allows(ApiScope::Admin) {
            return Err(Error::InsufficientScope("admin"));
        }
        self.require_admin(p, app_id).await?;
        let mut tx = self.begin().await?;
        tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let before = tx.scim_provisioning(app_id).await?;
        if before != mode {
            tx.set_scim_provisioning(app_id, mode).await?;
            self.audit(
                &mut *tx,
                ctx,
                Some(app_id),
                Actor::Id(p),
                "scim.provisioning_changed",
                None,
                serde_json::json!({"from": before.as_str(), "to": mode.as_str()}),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(mode)
    }

    /// Before the transaction of a create in `active` mode: the password hash of the ID that
    /// will be made if none has this email. Made whether or not one exists, so the answer
    /// takes as long either way (its time would tell the app's admins who has a Roster ID).
    pub(super) async fn prepare_unclaimed_id(&self) -> Result<UnclaimedId> {
        let password_hash = self.hasher.hash(new_token()).await?;
        Ok(UnclaimedId { password_hash })
    }

    /// Inside the create's transaction, the app locked: an Active member for `email`, holding
    /// a seat, linked to its ID (made now if none exists, from `unclaimed`). The person is told
    /// by email (with the link to choose a password when the ID is new).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn provision_active(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        p: &Principal,
        app: &mut App,
        email: Email,
        first_name: String,
        last_name: Option<String>,
        unclaimed: UnclaimedId,
    ) -> Result<Member> {
        self.expire_due(tx, ctx, app).await?;
        let existing = tx
            .find_member_by_email(&app.app_id, email.normalized())
            .await?;
        if let Some(m) = &existing {
            match m.status {
                MemberStatus::Active | MemberStatus::Inactive => return Err(Error::AlreadyMember),
                MemberStatus::Invited if tx.find_pending_invitation(m.id).await?.is_some() => {
                    return Err(Error::AlreadyInvited);
                }
                MemberStatus::Invited | MemberStatus::Removed => {}
            }
        }
        let mut existing = existing;
        let (identity, made) = match tx.find_identity_by_email(email.normalized()).await? {
            Some(identity) => {
                // the ID's own row in the app, perhaps under an older address (the ID changed
                // its login email since): one member row per ID and app
                if let Some(mut m) = tx.find_member_by_identity(&app.app_id, identity.id).await?
                    && Some(m.id) != existing.as_ref().map(|e| e.id)
                {
                    if m.status != MemberStatus::Removed {
                        return Err(Error::AlreadyMember);
                    }
                    if existing.is_none() {
                        // it left: it comes back under its current address
                        existing = Some(m);
                    } else {
                        // the row of this address is used; the old one lets go of the ID
                        m.identity_id = None;
                        tx.update_member(&m).await?;
                    }
                }
                (identity, false)
            }
            None => {
                let identity = Identity {
                    id: IdentityId::new(),
                    email: email.clone(),
                    first_name: first_name.clone(),
                    last_name: last_name.clone(),
                    password_hash: unclaimed.password_hash,
                    security_question: None,
                    security_answer_hash: None,
                    terms_version: None,
                    terms_accepted_at: None,
                    created_at: ctx.now,
                    lockout: Lockout::default(),
                };
                tx.insert_identity(&identity).await.map_err(|e| match e {
                    StoreError::Unique => made_meanwhile(),
                    e => e.into(),
                })?;
                tx.insert_unclaimed_identity(identity.id, &app.app_id, ctx.now)
                    .await?;
                // outside the app's log: its admins must not learn who already had an ID
                self.audit(
                    tx,
                    ctx,
                    None,
                    Actor::Id(p),
                    "id.provisioned",
                    Some(email.to_string()),
                    serde_json::json!({"identity": identity.id, "app": app.app_id.as_str()}),
                )
                .await?;
                (identity, true)
            }
        };

        let is_new = existing.is_none();
        let mut member = match existing {
            Some(m) => Member {
                identity_id: Some(identity.id),
                email: email.clone(),
                first_name: Some(first_name.clone()),
                last_name: last_name.clone(),
                kind: MemberKind::User,
                admin: false,
                status: MemberStatus::Active,
                ..m
            },
            None => Member {
                id: MemberId::new(),
                app_id: app.app_id.clone(),
                identity_id: Some(identity.id),
                email: email.clone(),
                first_name: Some(first_name.clone()),
                last_name: last_name.clone(),
                kind: MemberKind::User,
                admin: false,
                status: MemberStatus::Active,
                holds_seat: false,
                created_at: ctx.now,
                last_login_at: None,
            },
        };
        self.hold_seat_if_needed(app, &mut member)?;
        tx.update_app_seats(app).await?;
        if is_new {
            tx.insert_member(&member).await.map_err(|e| match e {
                StoreError::Unique => Error::AlreadyMember,
                e => e.into(),
            })?;
        } else {
            tx.update_member(&member).await.map_err(|e| match e {
                StoreError::Unique => Error::AlreadyMember,
                e => e.into(),
            })?;
        }

        // the person hears of it; a new ID gets its link to choose a password
        let (set_password_until, secret) = if made {
            let token = new_token();
            let expires_at = ctx.now + self.settings.invitation_ttl;
            tx.insert_identity_token(&IdentityToken {
                id: uuid::Uuid::now_v7(),
                identity_id: identity.id,
                purpose: TokenPurpose::PasswordReset,
                token_hash: hash_token(&token),
                code_hash: None,
                new_email: None,
                created_at: ctx.now,
                expires_at,
                used_at: None,
                tries: 0,
            })
            .await?;
            (Some(expires_at), Some(token))
        } else {
            (None, None)
        };
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &email,
            Mail::Provisioned {
                first_name: Some(first_name),
                app_name: app.name.clone(),
                app_id: app.app_id.clone(),
                set_password_until,
            },
            secret,
        ))
        .await?;

        self.audit(
            tx,
            ctx,
            Some(&app.app_id),
            Actor::Id(p),
            "member.provisioned",
            Some(email.to_string()),
            serde_json::json!({"member": member.id}),
        )
        .await?;
        let data = serde_json::json!({"member": super::webhooks::member_json(&member)});
        self.emit(tx, ctx, &app.app_id, WebhookEvent::MemberJoined, data)
            .await?;
        let event = super::notifications::event_of(&member, Some(p.display_name()), None, ctx.now);
        self.notify_admins(tx, ctx, app, NotificationKind::Joined, event, p.person())
            .await?;
        Ok(member)
    }
}
