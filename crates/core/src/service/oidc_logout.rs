//! Journey: "Sign in with your Roster ID", the end of a sign-in — membership changes revoke the
//! member's grants in the same transaction and queue an OpenID Back-Channel Logout to every
//! client that registered a `back_channel_logout_uri` (delivered by the webhook worker, retried
//! until it arrives); RP-initiated logout; and "Connected applications" on the account page.

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::Queries;
use crate::types::*;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// Waits between back-channel attempts grow to this and stay there: a logout is retried until
/// it is delivered.
const MAX_RETRY: Duration = Duration::hours(1);

fn retry_delay(attempts: i32) -> Duration {
    let secs = 10i64.saturating_mul(1i64 << attempts.clamp(0, 20));
    Duration::seconds(secs).min(MAX_RETRY)
}

/// What an RP-initiated logout will do, checked before the person is asked.
#[derive(Debug, Clone, Default)]
pub struct LogoutPlan {
    pub client_name: Option<String>,
    /// Where to go afterwards (a registered `post_logout_redirect_uri`, with `state`).
    pub redirect: Option<String>,
    /// The grant the ID token named (`sid`).
    pub sid: Option<uuid::Uuid>,
}

impl Services {
    /// Revoke the grants of a member who stopped being Active in an app (deactivated, left,
    /// removed) and queue their back-channel logouts. Part of the caller's transaction.
    pub(super) async fn end_member_grants(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app_id: &AppId,
        member: MemberId,
    ) -> Result<()> {
        let grants = tx.revoke_member_grants(app_id, member, ctx.now).await?;
        self.queue_logouts(tx, ctx, &grants).await
    }

    /// Revoke every grant of an ID (its password was reset by its owner).
    pub(super) async fn end_identity_grants(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        identity: IdentityId,
    ) -> Result<()> {
        let grants = tx.revoke_identity_grants(identity, ctx.now).await?;
        self.queue_logouts(tx, ctx, &grants).await
    }

    pub(super) async fn queue_logouts(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        grants: &[OauthGrant],
    ) -> Result<()> {
        let mut queued = false;
        for g in grants {
            let Some(client) = tx.get_oidc_client(&g.client_id).await? else {
                continue;
            };
            self.audit(
                tx,
                ctx,
                Some(&g.app_id),
                // follows the change audited with its actor (deactivation, leaving, reset...)
                Actor::Anonymous("Roster"),
                "oidc.grant_revoked",
                Some(client.name.clone()),
                json!({"client": client.client_id, "grant": g.id}),
            )
            .await?;
            let Some(uri) = client.back_channel_logout_uri else {
                continue;
            };
            tx.insert_backchannel_logout(&BackchannelLogout {
                id: uuid::Uuid::now_v7(),
                client_id: client.client_id,
                uri,
                sub: self.oidc_subject(g.identity_id),
                sid: g.id,
                created_at: ctx.now,
                attempts: 0,
                next_attempt_at: ctx.now,
                delivered_at: None,
                last_error: None,
            })
            .await?;
            queued = true;
        }
        if queued {
            self.webhook_kick.notify_one();
        }
        Ok(())
    }

    /// Worker: claim due back-channel logouts, each with its freshly signed logout token.
    pub async fn claim_backchannel_logouts(
        &self,
        owner: &str,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(BackchannelLogout, String)>> {
        let mut tx = self.begin().await?;
        let claimed = tx
            .claim_backchannel_logouts(owner, now, now + Duration::minutes(2), limit)
            .await?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(claimed.len());
        for l in claimed {
            let alg = self
                .oidc_client(&l.client_id)
                .await?
                .map(|c| c.id_token_alg)
                .unwrap_or(SigningAlg::RS256);
            let iat = now.unix_timestamp();
            let claims = json!({
                "iss": self.issuer(), "aud": l.client_id, "iat": iat, "exp": iat + 120,
                "jti": uuid::Uuid::new_v4().to_string(), "sub": l.sub, "sid": l.sid.to_string(),
                "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
            });
            let token = self.sign_jwt(now, alg, "logout+jwt", &claims).await?;
            out.push((l, token));
        }
        Ok(out)
    }

    /// Worker: what an attempt gave (`error` None: delivered).
    pub async fn record_backchannel_attempt(
        &self,
        l: &BackchannelLogout,
        at: OffsetDateTime,
        error: Option<&str>,
    ) -> Result<()> {
        let next = at + retry_delay(l.attempts + 1);
        let mut tx = self.begin().await?;
        tx.record_backchannel_attempt(l.id, at, error, next).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The back-channel logouts of a client, newest first.
    pub async fn backchannel_logouts(&self, client_id: &str) -> Result<Vec<BackchannelLogout>> {
        Ok(self
            .read()
            .await?
            .list_backchannel_logouts(client_id)
            .await?)
    }

    /// Check an RP-initiated logout request: the ID token hint must be one Roster signed (it
    /// may have expired), and the redirect must be registered for its client.
    pub async fn plan_logout(
        &self,
        now: OffsetDateTime,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<LogoutPlan> {
        let bad = |m: &str| Error::invalid("post_logout_redirect_uri", m);
        let mut plan = LogoutPlan::default();
        let mut client_id = client_id.map(str::to_string);
        if let Some(hint) = id_token_hint.filter(|h| !h.is_empty()) {
            let v = self.verify_jwt(now, hint, Some("JWT")).await.map_err(|_| {
                Error::invalid(
                    "id_token_hint",
                    "The ID token hint is not one Roster issued.",
                )
            })?;
            let aud = v
                .claims
                .get("aud")
                .and_then(Value::as_str)
                .map(str::to_string);
            if client_id.is_some() && client_id != aud {
                return Err(Error::invalid(
                    "client_id",
                    "The client does not match the ID token hint.",
                ));
            }
            client_id = aud;
            plan.sid = v
                .claims
                .get("sid")
                .and_then(Value::as_str)
                .and_then(|s| uuid::Uuid::parse_str(s).ok());
        }
        let client = match client_id.as_deref() {
            Some(id) => Some(
                self.oidc_client(id)
                    .await?
                    .ok_or_else(|| bad("Unknown client."))?,
            ),
            None => None,
        };
        plan.client_name = client.as_ref().map(|c| c.name.clone());
        if let Some(uri) = post_logout_redirect_uri.filter(|u| !u.is_empty()) {
            let Some(c) = &client else {
                return Err(bad(
                    "Name the client (id_token_hint or client_id) to be sent back to it.",
                ));
            };
            if !c.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return Err(bad("This address is not registered for the client."));
            }
            let mut url = url::Url::parse(uri).map_err(|_| bad("Not a URL."))?;
            if let Some(s) = state.filter(|s| !s.is_empty()) {
                url.query_pairs_mut().append_pair("state", s);
            }
            plan.redirect = Some(url.to_string());
        }
        Ok(plan)
    }

    /// Carry out a planned RP-initiated logout: the named grant is revoked and the browser's
    /// session (if any) ends.
    pub async fn rp_logout(
        &self,
        ctx: &Ctx,
        plan: &LogoutPlan,
        session_token: Option<&str>,
    ) -> Result<()> {
        // the browser's own ID, when it has a session: a hint naming another ID's sign-in only
        // ends this browser's session
        let me = match session_token {
            Some(t) => self.authenticate(ctx, t).await.ok().map(|p| p.identity_id),
            None => None,
        };
        if let Some(sid) = plan.sid {
            let mut tx = self.begin().await?;
            if let Some(g) = tx.get_grant(sid).await?
                && me.is_none_or(|i| i == g.identity_id)
                && tx.revoke_grant(sid, ctx.now).await?
            {
                self.audit(
                    &mut *tx,
                    ctx,
                    Some(&g.app_id),
                    Actor::Anonymous(plan.client_name.as_deref().unwrap_or("client")),
                    "oidc.logout",
                    plan.client_name.clone(),
                    json!({"grant": sid}),
                )
                .await?;
            }
            tx.commit().await?;
        }
        if let Some(t) = session_token {
            self.logout(t).await?;
        }
        Ok(())
    }

    /// "Connected applications": the clients this ID let into its apps.
    pub async fn connected_apps(&self, p: &Principal) -> Result<Vec<ConnectedApp>> {
        Ok(self
            .read()
            .await?
            .list_connected_apps(p.identity_id)
            .await?)
    }

    /// Take a client's access to one app away: the consent is forgotten, its grants revoked
    /// (with back-channel logout). NotFound if there was no such connection.
    pub async fn disconnect_app(
        &self,
        ctx: &Ctx,
        p: &Principal,
        client_id: &str,
        app_id: &AppId,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        if !tx.delete_consent(p.identity_id, client_id, app_id).await? {
            return Err(Error::NotFound);
        }
        let grants = tx
            .revoke_client_grants(p.identity_id, client_id, app_id, ctx.now)
            .await?;
        self.queue_logouts(&mut *tx, ctx, &grants).await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "oidc.disconnected",
            Some(client_id.to_string()),
            json!({"grants": grants.len()}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_never_stop() {
        assert_eq!(retry_delay(1), Duration::seconds(20));
        assert!(retry_delay(5) > retry_delay(4));
        assert_eq!(retry_delay(100), MAX_RETRY);
    }
}
