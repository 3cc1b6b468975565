//! Journey: accepting an invitation — with a new ID or an existing one; either way the invitee
//! joins the app and ends logged in inside it.

use super::identity::LoggedIn;
use super::{Actor, Ctx, Principal, QuestionMode, Services, collect, invalid};
use crate::error::{Error, FieldError, Result, StoreError};
use crate::model::*;
use crate::store::Queries;
use crate::token::hash_token;
use crate::types::*;

#[derive(Debug, Clone)]
pub struct NewIdentityForm {
    pub first_name: String,
    pub last_name: Option<String>,
    pub password: String,
    pub security_question: Option<String>,
    pub security_answer: Option<String>,
    pub accept_terms: bool,
}

impl Services {
    /// Accept by creating a new ID. Ends logged in, inside the app.
    pub async fn accept_new(
        &self,
        ctx: &Ctx,
        token: &str,
        form: NewIdentityForm,
    ) -> Result<LoggedIn> {
        self.throttle(ctx, super::Throttled::Accept).await?;
        let token_hash = hash_token(token);
        let inv = {
            let mut r = self.read().await?;
            let inv = r
                .find_invitation_by_token(&token_hash)
                .await?
                .ok_or(Error::NotFound)?;
            inv.check_usable(ctx.now)?;
            if r.find_identity_by_email(inv.email.normalized())
                .await?
                .is_some()
            {
                return Err(Error::IdExists);
            }
            inv
        };

        let identity = self.new_identity(ctx, &inv.email, &form).await?;
        let terms_version = identity.terms_version.clone().unwrap_or_default();

        let mut tx = self.begin().await?;
        tx.insert_identity(&identity).await.map_err(|e| match e {
            StoreError::Unique => Error::IdExists,
            e => e.into(),
        })?;
        tx.accept_terms(identity.id, &terms_version, ctx.now)
            .await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(&inv.app_id),
            Actor::Identity(&identity),
            "id.created",
            Some(identity.email.to_string()),
            serde_json::json!({"terms_version": identity.terms_version}),
        )
        .await?;
        let logged_in = self.join_app(&mut *tx, ctx, &token_hash, &identity).await?;
        tx.commit().await?;
        Ok(logged_in)
    }

    /// A new ID for `email` from the form (checked all at once; password and answer hashed),
    /// not yet stored. It agrees to the current terms.
    pub(super) async fn new_identity(
        &self,
        ctx: &Ctx,
        email: &Email,
        form: &NewIdentityForm,
    ) -> Result<Identity> {
        let mut errors = Vec::new();
        let first = collect(&mut errors, Name::parse("first_name", &form.first_name));
        let last = collect(
            &mut errors,
            Name::parse_optional("last_name", form.last_name.as_deref()),
        );
        let question = match self.settings.security_question {
            QuestionMode::Off => None,
            mode => {
                let q = form.security_question.as_deref().unwrap_or("").trim();
                let a = form.security_answer.as_deref().unwrap_or("");
                if q.is_empty() && mode == QuestionMode::Optional {
                    None
                } else {
                    let q = collect(&mut errors, SecurityQuestion::parse(q));
                    let a = collect(&mut errors, normalize_security_answer(a));
                    q.zip(a)
                }
            }
        };
        if !form.accept_terms {
            errors.push(FieldError {
                field: "accept_terms",
                message: "You must agree to the Terms Agreement.".into(),
            });
        }
        let password = self.policy.check(&form.password, email.local_part());
        invalid(errors)?;
        let password = password?;
        let (Some(first), Some(last)) = (first, last) else {
            return Err(Error::Internal("validation".into()));
        };

        let terms_version = self.current_terms_version().await?;
        let password_hash = self.hasher.hash(password.expose().to_string()).await?;
        let answer_hash = match &question {
            Some((_, a)) => Some(self.hasher.hash(a.clone()).await?),
            None => None,
        };
        let identity = Identity {
            id: IdentityId::new(),
            email: email.clone(),
            first_name: first.to_string(),
            last_name: last.map(String::from),
            password_hash,
            security_question: question.map(|(q, _)| q),
            security_answer_hash: answer_hash,
            terms_version: Some(terms_version.clone()),
            terms_accepted_at: Some(ctx.now),
            created_at: ctx.now,
            lockout: Lockout::default(),
        };

        Ok(identity)
    }

    /// Accept with an existing ID: either the caller is already logged in as the invited ID, or
    /// the ID's password is given. Ends logged in, inside the app.
    pub async fn accept_existing(
        &self,
        ctx: &Ctx,
        token: &str,
        current: Option<&Principal>,
        password: Option<String>,
    ) -> Result<LoggedIn> {
        self.throttle(ctx, super::Throttled::Accept).await?;
        let token_hash = hash_token(token);
        let inv = {
            let mut r = self.read().await?;
            let inv = r
                .find_invitation_by_token(&token_hash)
                .await?
                .ok_or(Error::NotFound)?;
            inv.check_usable(ctx.now)?;
            inv
        };
        let identity = match (current, password) {
            (Some(p), _) if p.email.normalized() != inv.email.normalized() => {
                return Err(Error::WrongIdentity);
            }
            (Some(p), _) => self
                .read()
                .await?
                .get_identity(p.identity_id)
                .await?
                .ok_or(Error::Unauthenticated)?,
            (None, Some(pw)) => {
                let exists = self
                    .read()
                    .await?
                    .find_identity_by_email(inv.email.normalized())
                    .await?
                    .is_some();
                if !exists {
                    return Err(Error::NoId);
                }
                let identity = self
                    .check_password(ctx, inv.email.normalized(), &pw)
                    .await?;
                // an ID with two-step verification finishes logging in first (401
                // second_factor_required), then accepts with its session
                self.second_step_needed(ctx, &identity, None, None).await?;
                identity
            }
            (None, None) => return Err(Error::invalid("password", "Enter your password.")),
        };
        let mut tx = self.begin().await?;
        let logged_in = self.join_app(&mut *tx, ctx, &token_hash, &identity).await?;
        tx.commit().await?;
        Ok(logged_in)
    }

    /// Inside a transaction: attach the invitation to `identity`, activate the member, start a
    /// session bound to the app.
    async fn join_app(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        token_hash: &[u8],
        identity: &Identity,
    ) -> Result<LoggedIn> {
        let inv = tx
            .find_invitation_by_token(token_hash)
            .await?
            .ok_or(Error::NotFound)?;
        let mut app = tx.lock_app(&inv.app_id).await?.ok_or(Error::NotFound)?;
        // re-check under the lock: a concurrent accept, revoke or resend wins once
        inv.check_usable(ctx.now)?;
        if identity.email.normalized() != inv.email.normalized() {
            return Err(Error::WrongIdentity);
        }
        if let Some(m) = tx.find_member_by_identity(&inv.app_id, identity.id).await?
            && m.id != inv.member_id
            && m.status != MemberStatus::Removed
        {
            return Err(Error::AlreadyMember);
        }
        let mut member = tx
            .get_member(&inv.app_id, inv.member_id)
            .await?
            .ok_or(Error::NotFound)?;
        if !tx
            .set_invitation_status(
                inv.id,
                InvitationStatus::Pending,
                InvitationStatus::Accepted,
                ctx.now,
            )
            .await?
        {
            return Err(Error::InvitationUsed);
        }
        member.identity_id = Some(identity.id);
        member.status = MemberStatus::Active;
        member.first_name = Some(identity.first_name.clone());
        member.last_name = identity.last_name.clone();
        member.email = identity.email.clone();
        member.last_login_at = Some(ctx.now);
        self.hold_seat_if_needed(&mut app, &mut member)?;
        tx.update_member(&member).await?;
        tx.update_app_seats(&app).await?;
        self.audit(
            tx,
            ctx,
            Some(&inv.app_id),
            Actor::Identity(identity),
            "invitation.accepted",
            Some(identity.email.to_string()),
            serde_json::json!({"invitation": inv.id, "kind": inv.kind.as_str(), "admin": member.admin}),
        )
        .await?;
        let data = serde_json::json!({"member": super::webhooks::member_json(&member)});
        self.emit(tx, ctx, &inv.app_id, WebhookEvent::MemberJoined, data)
            .await?;
        let event = super::notifications::event_of(&member, None, None, ctx.now);
        self.notify_admins(
            tx,
            ctx,
            &app,
            NotificationKind::Joined,
            event,
            Some(identity.id),
        )
        .await?;
        self.start_session(tx, ctx, identity, Some(inv.app_id.clone()), &["pwd"])
            .await
    }
}
