//! Journey: webhooks — an admin registers an HTTPS endpoint of the business application and
//! picks events; every change that matches writes a delivery in its own transaction (the
//! transactional outbox), and a worker signs and sends it (Standard Webhooks), retrying with
//! backoff. Endpoints on loopback, link-local or private addresses are refused unless the
//! operator allows them (SSRF).

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::Queries;
use crate::types::*;
use base64::Engine;
use rand::RngCore;
use std::net::{IpAddr, Ipv4Addr};
use time::{Duration, OffsetDateTime};

/// Attempts before a delivery is given up (the last about a day after the first).
pub const WEBHOOK_MAX_ATTEMPTS: i32 = 8;
/// Endpoints per app.
const MAX_ENDPOINTS: usize = 20;

/// How long to wait before attempt `n + 1` after `n` failed attempts.
pub fn webhook_retry_delay(attempts: i32) -> Duration {
    match attempts {
        ..=1 => Duration::seconds(5),
        2 => Duration::seconds(30),
        3 => Duration::minutes(2),
        4 => Duration::minutes(10),
        5 => Duration::minutes(30),
        6 => Duration::hours(2),
        _ => Duration::hours(6),
    }
}

/// Whether `ip` is an address on the public internet (not loopback, private, link-local,
/// carrier-grade NAT, multicast, documentation or otherwise reserved). Used at registration and
/// again for every address a delivery connects to.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: an IPv4 address inside
                || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0)) // IPv4-compatible
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // carrier-grade NAT
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
        || o[0] >= 240)
}

/// Check an endpoint URL: `https://` with a host that is not a private name or address, no
/// credentials, at most 2,000 characters. With `allow_private` (development, tests), `http://`
/// and private hosts are accepted too.
pub fn check_webhook_url(raw: &str, allow_private: bool) -> Result<String> {
    let bad = |m: &str| Err(Error::invalid("url", m));
    if raw.len() > 2000 {
        return bad("Use a URL of at most 2,000 characters.");
    }
    let Ok(u) = url::Url::parse(raw.trim()) else {
        return bad("Use a full URL, like https://example.com/roster-events.");
    };
    match u.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return bad("Use an https:// URL."),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return bad("Leave credentials out of the URL; check the signature instead.");
    }
    let private = match u.host() {
        None => return bad("The URL needs a host."),
        Some(url::Host::Ipv4(ip)) => !is_public_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public_ip(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost"
                || [".localhost", ".local", ".internal", ".lan", ".home.arpa"]
                    .iter()
                    .any(|s| d.ends_with(s))
                || !d.contains('.')
        }
    };
    if private && !allow_private {
        return bad(
            "This address is on a private network; use one the internet can reach (the operator can allow private addresses).",
        );
    }
    Ok(u.to_string())
}

/// A new endpoint and its signing secret (shown this once).
pub struct CreatedWebhook {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A member as webhooks describe it.
pub(super) fn member_json(m: &Member) -> serde_json::Value {
    serde_json::json!({
        "id": m.id,
        "email": m.email.as_str(),
        "first_name": m.first_name,
        "last_name": m.last_name,
        "kind": m.kind.as_str(),
        "admin": m.admin,
        "status": m.status.as_str(),
    })
}

impl Services {
    /// Admin (keys: with the admin scope): register an endpoint for some events.
    pub async fn create_webhook(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        url: &str,
        events: Vec<WebhookEvent>,
    ) -> Result<CreatedWebhook> {
        p.require_admin_scope()?;
        self.require_admin(p, app_id).await?;
        let mut errors = Vec::new();
        let url = super::collect(
            &mut errors,
            check_webhook_url(url, self.settings.webhooks_allow_private),
        );
        if events.is_empty() {
            errors.push(crate::FieldError {
                field: "events",
                message: "Pick at least one event.".into(),
            });
        }
        super::invalid(errors)?;
        let Some(url) = url else {
            return Err(Error::Internal("validation".into()));
        };
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        let endpoint = WebhookEndpoint {
            id: uuid::Uuid::now_v7(),
            app_id: app_id.clone(),
            url,
            secret_sealed: self.settings.secret_key.seal(secret.as_bytes())?,
            events,
            created_by: p.person(),
            created_at: ctx.now,
            deleted_at: None,
        };
        let mut tx = self.begin().await?;
        tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        if tx.list_webhooks(app_id).await?.len() >= MAX_ENDPOINTS {
            return Err(Error::invalid(
                "url",
                format!("An app has at most {MAX_ENDPOINTS} endpoints; delete one first."),
            ));
        }
        tx.insert_webhook(&endpoint).await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "webhook.created",
            Some(endpoint.url.clone()),
            serde_json::json!({"webhook": endpoint.id, "events": WebhookEvent::join(&endpoint.events)}),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedWebhook { endpoint, secret })
    }

    pub async fn list_webhooks(
        &self,
        p: &Principal,
        app_id: &AppId,
    ) -> Result<Vec<WebhookEndpoint>> {
        self.require_admin(p, app_id).await?;
        Ok(self.read().await?.list_webhooks(app_id).await?)
    }

    pub async fn get_webhook(
        &self,
        p: &Principal,
        app_id: &AppId,
        id: uuid::Uuid,
    ) -> Result<WebhookEndpoint> {
        self.require_admin(p, app_id).await?;
        self.read()
            .await?
            .get_webhook(app_id, id)
            .await?
            .filter(|e| e.deleted_at.is_none())
            .ok_or(Error::NotFound)
    }

    pub async fn delete_webhook(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: uuid::Uuid,
    ) -> Result<()> {
        p.require_admin_scope()?;
        let e = self.get_webhook(p, app_id, id).await?;
        let mut tx = self.begin().await?;
        if !tx.delete_webhook(app_id, id, ctx.now).await? {
            return Err(Error::NotFound);
        }
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "webhook.deleted",
            Some(e.url),
            serde_json::json!({"webhook": id}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The endpoint's deliveries, newest first (its delivery log); `before` is the last
    /// delivery of the previous page.
    pub async fn webhook_deliveries(
        &self,
        p: &Principal,
        app_id: &AppId,
        id: uuid::Uuid,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>> {
        self.get_webhook(p, app_id, id).await?;
        Ok(self
            .read()
            .await?
            .list_deliveries(app_id, id, before, limit.clamp(1, 200))
            .await?)
    }

    /// Queue a `webhook.test` event to one endpoint.
    pub async fn send_test_webhook(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: uuid::Uuid,
    ) -> Result<WebhookDelivery> {
        let e = self.get_webhook(p, app_id, id).await?;
        let d = self.delivery(
            ctx,
            app_id,
            e.id,
            "webhook.test",
            serde_json::json!({"app_id": app_id, "message": "A test event from Roster."}),
        );
        let mut tx = self.begin().await?;
        tx.insert_delivery(&d).await?;
        tx.commit().await?;
        self.webhook_kick.notify_one();
        Ok(d)
    }

    fn delivery(
        &self,
        ctx: &Ctx,
        app_id: &AppId,
        endpoint: uuid::Uuid,
        event: &str,
        data: serde_json::Value,
    ) -> WebhookDelivery {
        let payload = serde_json::json!({
            "type": event,
            "timestamp": rfc3339(ctx.now),
            "data": data,
        });
        WebhookDelivery {
            id: uuid::Uuid::now_v7(),
            endpoint_id: endpoint,
            app_id: app_id.clone(),
            event: event.to_string(),
            payload: payload.to_string(),
            created_at: ctx.now,
            next_attempt_at: ctx.now,
            attempts: 0,
            state: DeliveryState::Pending,
            last_status: None,
            last_error: None,
            last_duration_ms: None,
            delivered_at: None,
        }
    }

    /// Report `event` to every endpoint of the app that picked it, inside the caller's
    /// transaction (so it is sent if and only if the change commits). `data` gets the App ID.
    pub(super) async fn emit(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app_id: &AppId,
        event: WebhookEvent,
        mut data: serde_json::Value,
    ) -> Result<()> {
        let endpoints = tx.webhooks_for(app_id, event).await?;
        if endpoints.is_empty() {
            return Ok(());
        }
        data["app_id"] = serde_json::json!(app_id);
        for e in endpoints {
            tx.insert_delivery(&self.delivery(ctx, app_id, e, event.as_str(), data.clone()))
                .await?;
        }
        self.webhook_kick.notify_one();
        Ok(())
    }

    /// Expire the app's due invitations (releasing their seats into `app`), reporting each
    /// to the endpoints that want `invitation.expired`.
    pub(super) async fn expire_due(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app: &mut App,
    ) -> Result<()> {
        if !tx
            .webhooks_for(&app.app_id, WebhookEvent::InvitationExpired)
            .await?
            .is_empty()
        {
            for inv in tx.due_expired_invitations(&app.app_id, ctx.now).await? {
                let data = serde_json::json!({"invitation": {
                    "id": inv.id, "email": inv.email.as_str(), "member_id": inv.member_id,
                    "expires_at": rfc3339(inv.expires_at),
                }});
                self.emit(tx, ctx, &app.app_id, WebhookEvent::InvitationExpired, data)
                    .await?;
            }
        }
        app.seats_held -= tx.expire_due_invitations(&app.app_id, ctx.now).await?;
        Ok(())
    }

    /// Housekeeping: expire due invitations of apps nobody touched (so `invitation.expired`
    /// is reported within a minute).
    pub(super) async fn expire_idle_apps(&self, now: OffsetDateTime) -> Result<()> {
        let apps = self
            .read()
            .await?
            .apps_with_due_invitations(now, 100)
            .await?;
        for app_id in apps {
            let mut tx = self.begin().await?;
            let Some(mut app) = tx.lock_app(&app_id).await? else {
                continue;
            };
            self.expire_due(&mut *tx, &Ctx::at(now), &mut app).await?;
            tx.update_app_seats(&app).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Worker: claim due deliveries.
    pub async fn claim_webhook_deliveries(
        &self,
        owner: &str,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        let mut tx = self.begin().await?;
        let c = tx
            .claim_deliveries(owner, now, now + Duration::minutes(2), limit)
            .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Worker: record what an attempt gave.
    pub async fn record_webhook_attempt(
        &self,
        delivery: uuid::Uuid,
        o: &AttemptOutcome,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.record_attempt(delivery, o).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Worker: an endpoint's signing secret.
    pub fn webhook_secret(&self, sealed: &[u8]) -> Result<String> {
        let plain = self.settings.secret_key.open(sealed)?;
        String::from_utf8(plain).map_err(|_| Error::Internal("webhook secret is not UTF-8".into()))
    }

    /// Notified when deliveries are queued; the webhook worker waits on it.
    pub fn webhook_kick(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.webhook_kick.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_and_names_are_refused_unless_allowed() {
        for bad in [
            "http://example.com/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:192.168.0.1]/x",
            "https://100.64.0.1/x",
            "https://localhost/x",
            "https://db.internal/x",
            "https://intranet/x",
            "https://user:pw@example.com/x",
            "ftp://example.com/x",
            "not a url",
        ] {
            assert!(check_webhook_url(bad, false).is_err(), "{bad}");
        }
        for good in [
            "https://example.com/hooks",
            "https://93.184.216.34/x",
            "https://[2606:4700::1]/x",
        ] {
            assert!(check_webhook_url(good, false).is_ok(), "{good}");
        }
        assert!(check_webhook_url("http://127.0.0.1:9000/x", true).is_ok());
        assert!(!is_public_ip("0.0.0.0".parse().unwrap()));
        assert!(is_public_ip("8.8.8.8".parse().unwrap()));
    }
}
