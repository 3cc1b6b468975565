//! Journey: login email — change the email an ID logs in with. The current password is
//! required; a confirmation link goes to the new address (valid 24 hours) and a notice to the
//! old one; the change happens only when the link is used. Whether the new address belongs to
//! another ID is not revealed before then.

use super::{Actor, Ctx, Principal, Services};
use crate::error::StoreError;
use crate::error::{Error, Result};
use crate::model::*;
use crate::token::{hash_token, new_token};
use crate::types::*;
use time::Duration;

/// How long an email change link works.
pub const EMAIL_CHANGE_TTL: Duration = Duration::hours(24);

impl Services {
    /// Ask to change the caller's login email to `new_email`.
    pub async fn request_email_change(
        &self,
        ctx: &Ctx,
        p: &Principal,
        current_password: &str,
        new_email: &str,
    ) -> Result<()> {
        let new = Email::parse(new_email)?;
        let identity = self
            .confirm_current_password(ctx, p, current_password)
            .await?;
        if new.normalized() == identity.email.normalized() {
            return Err(Error::invalid("email", "This is already your login email."));
        }
        let token = new_token();
        let t = IdentityToken {
            id: uuid::Uuid::now_v7(),
            identity_id: identity.id,
            purpose: TokenPurpose::EmailChange,
            token_hash: hash_token(&token),
            code_hash: None,
            new_email: Some(new.clone()),
            created_at: ctx.now,
            expires_at: ctx.now + EMAIL_CHANGE_TTL,
            used_at: None,
            tries: 0,
        };
        let mut tx = self.begin().await?;
        tx.void_identity_tokens(identity.id, TokenPurpose::EmailChange, ctx.now)
            .await?;
        tx.insert_identity_token(&t).await?;
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &new,
            Mail::EmailChange {
                first_name: identity.first_name.clone(),
                new_email: new.to_string(),
                expires_at: t.expires_at,
            },
            Some(token),
        ))
        .await?;
        self.notify_owner(
            &mut *tx,
            ctx,
            &identity,
            SecurityEvent::EmailChangeRequested,
            Some(new.to_string()),
        )
        .await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "email.change_requested",
            None,
            serde_json::json!({"new_email": new.to_string()}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(())
    }

    /// Use an email change link: the ID logs in with the new address from now on. 409
    /// `email_in_use` if another ID has it by now.
    pub async fn confirm_email_change(&self, ctx: &Ctx, token: &str) -> Result<Email> {
        let mut tx = self.begin().await?;
        let mut t = tx
            .lock_identity_token(&hash_token(token.trim()))
            .await?
            .filter(|t| t.purpose == TokenPurpose::EmailChange && t.usable(ctx.now))
            .ok_or(Error::LinkInvalid)?;
        let new = t.new_email.clone().ok_or(Error::LinkInvalid)?;
        let identity = tx
            .get_identity(t.identity_id)
            .await?
            .ok_or(Error::LinkInvalid)?;
        match tx.set_identity_email(identity.id, &new).await {
            Ok(()) => {}
            Err(StoreError::Unique) => {
                // the transaction may be unusable now: record the outcome in a new one
                drop(tx);
                let mut tx = self.begin().await?;
                if let Some(mut t) = tx.lock_identity_token(&t.token_hash).await? {
                    t.used_at = Some(ctx.now);
                    tx.update_identity_token(&t).await?;
                }
                tx.commit().await?;
                return Err(Error::EmailInUse);
            }
            Err(e) => return Err(e.into()),
        }
        t.used_at = Some(ctx.now);
        tx.update_identity_token(&t).await?;
        self.notify_owner(
            &mut *tx,
            ctx,
            &identity,
            SecurityEvent::EmailChanged,
            Some(new.to_string()),
        )
        .await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Identity(&identity),
            "email.changed",
            Some(new.to_string()),
            serde_json::json!({"old_email": identity.email.to_string()}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(new)
    }
}
