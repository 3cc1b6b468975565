//! Webhook endpoints and deliveries. SQL, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{InvitationQueries, StoreResult, WebhookQueries};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use time::OffsetDateTime;
use uuid::Uuid;

macro_rules! delivery_columns {
    () => {
        "id, endpoint_id, app_id, event, payload, created_at, next_attempt_at, attempts, state, \
         last_status, last_error, last_duration_ms, delivered_at"
    };
}

fn endpoint_row(r: &PgRow) -> StoreResult<WebhookEndpoint> {
    Ok(WebhookEndpoint {
        id: get(r, "id")?,
        app_id: app_id(r, "app_id")?,
        url: get(r, "url")?,
        secret_sealed: get(r, "secret_sealed")?,
        events: WebhookEvent::split(&get::<String>(r, "events")?),
        created_by: get::<Option<Uuid>>(r, "created_by")?.map(IdentityId),
        created_at: time(r, "created_at")?,
        deleted_at: opt_time(r, "deleted_at")?,
    })
}

fn delivery_row(r: &PgRow) -> StoreResult<WebhookDelivery> {
    let state: String = get(r, "state")?;
    Ok(WebhookDelivery {
        id: get(r, "id")?,
        endpoint_id: get(r, "endpoint_id")?,
        app_id: app_id(r, "app_id")?,
        event: get(r, "event")?,
        payload: get(r, "payload")?,
        created_at: time(r, "created_at")?,
        next_attempt_at: time(r, "next_attempt_at")?,
        attempts: get(r, "attempts")?,
        state: DeliveryState::parse(&state).ok_or_else(|| bad("delivery state", &state))?,
        last_status: get(r, "last_status")?,
        last_error: get(r, "last_error")?,
        last_duration_ms: get(r, "last_duration_ms")?,
        delivered_at: opt_time(r, "delivered_at")?,
    })
}

#[async_trait]
impl<C> WebhookQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_webhook(&mut self, e: &WebhookEndpoint) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, app_id, url, secret_sealed, events, created_by, \
             created_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.id)
        .bind(e.app_id.as_str())
        .bind(&e.url)
        .bind(&e.secret_sealed)
        .bind(WebhookEvent::join(&e.events))
        .bind(e.created_by.map(|i| i.0))
        .bind(e.created_at)
        .bind(e.deleted_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_webhooks(&mut self, app: &AppId) -> StoreResult<Vec<WebhookEndpoint>> {
        let rows = sqlx::query(
            "SELECT id, app_id, url, secret_sealed, events, created_by, created_at, deleted_at \
             FROM webhook_endpoints WHERE app_id = $1 AND deleted_at IS NULL ORDER BY created_at",
        )
        .bind(app.as_str())
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(endpoint_row).collect()
    }

    async fn get_webhook(&mut self, app: &AppId, id: Uuid) -> StoreResult<Option<WebhookEndpoint>> {
        sqlx::query(
            "SELECT id, app_id, url, secret_sealed, events, created_by, created_at, deleted_at \
             FROM webhook_endpoints WHERE app_id = $1 AND id = $2",
        )
        .bind(app.as_str())
        .bind(id)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .as_ref()
        .map(endpoint_row)
        .transpose()
    }

    async fn delete_webhook(
        &mut self,
        app: &AppId,
        id: Uuid,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE webhook_endpoints SET deleted_at = $3 \
             WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL",
        )
        .bind(app.as_str())
        .bind(id)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', last_error = 'endpoint deleted' \
             WHERE endpoint_id = $1 AND state = 'pending'",
        )
        .bind(id)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(n == 1)
    }

    async fn webhooks_for(&mut self, app: &AppId, event: WebhookEvent) -> StoreResult<Vec<Uuid>> {
        let rows = sqlx::query(
            "SELECT id, events FROM webhook_endpoints WHERE app_id = $1 AND deleted_at IS NULL",
        )
        .bind(app.as_str())
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        let mut out = Vec::new();
        for r in &rows {
            if WebhookEvent::split(&get::<String>(r, "events")?).contains(&event) {
                out.push(get(r, "id")?);
            }
        }
        Ok(out)
    }

    async fn insert_delivery(&mut self, d: &WebhookDelivery) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO webhook_deliveries (",
            delivery_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(d.id)
        .bind(d.endpoint_id)
        .bind(d.app_id.as_str())
        .bind(&d.event)
        .bind(&d.payload)
        .bind(d.created_at)
        .bind(d.next_attempt_at)
        .bind(d.attempts)
        .bind(d.state.as_str())
        .bind(d.last_status)
        .bind(&d.last_error)
        .bind(d.last_duration_ms)
        .bind(d.delivered_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn claim_deliveries(
        &mut self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        // due ones, and this worker's own claims from before a restart; no two workers get
        // the same row (SKIP LOCKED)
        let rows = sqlx::query(
            "WITH c AS (SELECT id FROM webhook_deliveries \
             WHERE state = 'pending' AND (next_attempt_at <= $2 OR claimed_by = $1) \
             ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
             UPDATE webhook_deliveries d SET claimed_by = $1, claimed_until = $3, \
             next_attempt_at = $3 FROM c, webhook_endpoints e \
             WHERE d.id = c.id AND e.id = d.endpoint_id RETURNING d.id, d.endpoint_id, \
             d.app_id, d.event, d.payload, d.created_at, d.next_attempt_at, d.attempts, d.state, \
             d.last_status, d.last_error, d.last_duration_ms, d.delivered_at, e.url, \
             e.secret_sealed",
        )
        .bind(owner)
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(ClaimedDelivery {
                    delivery: delivery_row(r)?,
                    url: get(r, "url")?,
                    secret_sealed: get(r, "secret_sealed")?,
                })
            })
            .collect()
    }

    async fn record_attempt(&mut self, delivery: Uuid, o: &AttemptOutcome) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(delivery)
        .bind(o.at)
        .bind(o.status)
        .bind(&o.error)
        .bind(o.duration_ms)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $2, \
             next_attempt_at = $3, last_status = $4, last_error = $5, last_duration_ms = $6, \
             delivered_at = CASE WHEN $2 = 'delivered' THEN $7 ELSE delivered_at END, \
             claimed_by = NULL, claimed_until = NULL WHERE id = $1",
        )
        .bind(delivery)
        .bind(o.state.as_str())
        .bind(o.next_attempt_at)
        .bind(o.status)
        .bind(&o.error)
        .bind(o.duration_ms)
        .bind(o.at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_deliveries(
        &mut self,
        app: &AppId,
        endpoint: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        // ids are time-ordered (v7): the id alone orders the log
        let rows = sqlx::query(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM webhook_deliveries WHERE app_id = $1 AND endpoint_id = $2 \
             AND ($4::uuid IS NULL OR id < $4) ORDER BY id DESC LIMIT $3"
        ))
        .bind(app.as_str())
        .bind(endpoint)
        .bind(i64::from(limit))
        .bind(before)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(delivery_row).collect()
    }

    async fn due_expired_invitations(
        &mut self,
        app: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Invitation>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM invitations WHERE app_id = $1 AND status = 'pending' \
             AND expires_at <= $2",
        )
        .bind(app.as_str())
        .bind(now)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(inv) = self.get_invitation(app, InvitationId(id)).await? {
                out.push(inv);
            }
        }
        Ok(out)
    }

    async fn apps_with_due_invitations(
        &mut self,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<AppId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT app_id FROM invitations WHERE status = 'pending' \
             AND expires_at <= $1 LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        ids.iter()
            .map(|a| AppId::parse(a).map_err(|_| bad("app id", a)))
            .collect()
    }
}
