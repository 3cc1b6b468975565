//! Webhook delivery: a worker claims due deliveries from the database (any node), signs each
//! as the Standard Webhooks specification says (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), POSTs it, and records
//! the attempt; failures are retried with backoff, then given up. Names are resolved by a
//! resolver that refuses loopback, link-local and private addresses (SSRF; DNS rebinding
//! included), unless the operator allows them; redirects are not followed.
//!
//! The same worker delivers OpenID Back-Channel Logout tokens (`logout_token=…`, form-encoded)
//! to the `back_channel_logout_uri` of clients; those addresses are the operator's own (the
//! business application may live on a private network), so they are not filtered, and a
//! logout is retried until it is delivered.

use base64::Engine;
use futures::future::join_all;
use hmac::{Hmac, Mac};
use roster_core::Services;
use roster_core::model::{AttemptOutcome, BackchannelLogout, ClaimedDelivery, DeliveryState};
use roster_core::service::{
    WEBHOOK_MAX_ATTEMPTS, check_webhook_url, is_public_ip, webhook_retry_delay,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Notify;

/// Deliveries claimed at once (and sent concurrently).
const BATCH: u32 = 16;
/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);

type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Make ring the process's TLS crypto provider (once; later calls do nothing). Every HTTP
/// client of the process (reqwest is built without a provider of its own) needs it before it
/// is built.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The `webhook-signature` value for one message (`secret` is `whsec_<base64 key>`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Resolves names, keeping only public addresses (unless private ones are allowed).
struct PublicOnly {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow || is_public_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

#[derive(Clone)]
pub struct WebhookWorker {
    services: Arc<Services>,
    client: reqwest::Client,
    /// For back-channel logouts (operator-registered addresses).
    logout_client: reqwest::Client,
    owner: String,
    allow_private: bool,
    clock: Clock,
}

impl WebhookWorker {
    /// `owner` names this node (its claims are taken back when it restarts).
    pub fn new(
        services: Arc<Services>,
        owner: &str,
        allow_private: bool,
        clock: Clock,
    ) -> Result<Self, String> {
        install_crypto_provider();
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let logout_client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent("Roster-Logout/1")
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent("Roster-Webhooks/1")
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(WebhookWorker {
            services,
            client,
            logout_client,
            owner: owner.to_string(),
            allow_private,
            clock,
        })
    }

    /// Deliver everything due now (several rounds); returns how many attempts were made.
    pub async fn drain(&self) -> Result<usize, roster_core::Error> {
        let mut n = 0;
        loop {
            let now = (self.clock)();
            let batch = self
                .services
                .claim_webhook_deliveries(&self.owner, now, BATCH)
                .await?;
            let logouts = self
                .services
                .claim_backchannel_logouts(&self.owner, now, BATCH)
                .await?;
            if batch.is_empty() && logouts.is_empty() {
                return Ok(n);
            }
            n += batch.len() + logouts.len();
            for r in join_all(batch.into_iter().map(|c| self.attempt(c))).await {
                r?;
            }
            for r in join_all(logouts.into_iter().map(|(l, t)| self.logout(l, t))).await {
                r?;
            }
        }
    }

    /// Work until the process ends: drain, then wait for a kick or `idle`.
    pub async fn run(self, kick: Arc<Notify>, idle: Duration) {
        loop {
            if let Err(e) = self.drain().await {
                tracing::error!(error = %e, "webhook delivery failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let _ = tokio::time::timeout(idle, kick.notified()).await;
        }
    }

    /// POST one back-channel logout token and record what happened.
    async fn logout(&self, l: BackchannelLogout, token: String) -> Result<(), roster_core::Error> {
        let res = self
            .logout_client
            .post(&l.uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("logout_token={token}"))
            .send()
            .await;
        let error = match res {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("answered {}", r.status().as_u16())),
            Err(e) => {
                let mut s = e.to_string();
                s.truncate(300);
                Some(s)
            }
        };
        if let Some(e) = &error {
            tracing::warn!(logout = %l.id, client = %l.client_id, attempts = l.attempts + 1, error = %e, "back-channel logout not delivered");
        }
        let at = (self.clock)();
        self.services
            .record_backchannel_attempt(&l, at, error.as_deref())
            .await
    }

    async fn attempt(&self, c: ClaimedDelivery) -> Result<(), roster_core::Error> {
        let d = &c.delivery;
        let start = Instant::now();
        let result = self.send(&c).await;
        let at = (self.clock)();
        let duration_ms = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status, error) = match result {
            Ok(code) if (200..300).contains(&code) => (Some(code), None),
            Ok(code) => (Some(code), Some(format!("answered {code}"))),
            Err(e) => (None, Some(e)),
        };
        let attempts = d.attempts + 1;
        let (state, next_attempt_at) = if error.is_none() {
            (DeliveryState::Delivered, at)
        } else if attempts >= WEBHOOK_MAX_ATTEMPTS {
            (DeliveryState::Failed, at)
        } else {
            (DeliveryState::Pending, at + webhook_retry_delay(attempts))
        };
        if let Some(e) = &error {
            tracing::warn!(delivery = %d.id, event = %d.event, attempts, error = %e, "webhook not delivered");
        }
        let outcome = match state {
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            _ => "retry",
        };
        metrics::counter!("roster_webhook_deliveries_total", "outcome" => outcome).increment(1);
        self.services
            .record_webhook_attempt(
                d.id,
                &AttemptOutcome {
                    at,
                    status,
                    error,
                    duration_ms,
                    state,
                    next_attempt_at,
                },
            )
            .await
    }

    /// POST one delivery; the status code, or why there is none.
    async fn send(&self, c: &ClaimedDelivery) -> Result<i32, String> {
        // checked again at every attempt: the rules may have changed since registration
        let url = check_webhook_url(&c.url, self.allow_private)
            .map_err(|_| "the endpoint's address is not allowed".to_string())?;
        let secret = self
            .services
            .webhook_secret(&c.secret_sealed)
            .map_err(|_| "the endpoint's secret cannot be read".to_string())?;
        let d = &c.delivery;
        let id = format!("msg_{}", d.id.simple());
        let ts = (self.clock)().unix_timestamp();
        let signature = sign(&secret, &id, ts, &d.payload).ok_or("bad secret")?;
        let res = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(d.payload.clone())
            .send()
            .await
            .map_err(|e| {
                let mut s = e.to_string();
                s.truncate(300);
                s
            })?;
        Ok(i32::from(res.status().as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // the example of the Standard Webhooks specification
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert!(sign("whsec_!!!", "a", 1, "b").is_none());
    }

    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_are_refused() {
        use reqwest::dns::Resolve;
        let strict = PublicOnly {
            allow_private: false,
        };
        let name: reqwest::dns::Name = "localhost".parse().expect("name");
        assert!(strict.resolve(name).await.is_err());
        let open = PublicOnly {
            allow_private: true,
        };
        let name: reqwest::dns::Name = "localhost".parse().expect("name");
        assert!(open.resolve(name).await.is_ok());
    }
}
