//! Webhook endpoints and deliveries. SQL, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::model::*;
use roster_core::store::{StoreResult, WebhookQueries};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

macro_rules! delivery_columns {
    () => {
        "id, endpoint_id, app_id, event, payload, created_at, next_attempt_at, attempts, state, \
         last_status, last_error, last_duration_ms, delivered_at"
    };
}

fn endpoint_row(r: &Row<'_>) -> StoreResult<WebhookEndpoint> {
    Ok(WebhookEndpoint {
        id: uuid(r, 0)?,
        app_id: app_id(r, 1)?,
        url: get(r, 2)?,
        secret_sealed: get(r, 3)?,
        events: WebhookEvent::split(&get::<String>(r, 4)?),
        created_by: opt_uuid(r, 5)?.map(IdentityId),
        created_at: time(r, 6)?,
        deleted_at: opt_time(r, 7)?,
    })
}

fn delivery_row(r: &Row<'_>) -> StoreResult<WebhookDelivery> {
    let state: String = get(r, 8)?;
    Ok(WebhookDelivery {
        id: uuid(r, 0)?,
        endpoint_id: uuid(r, 1)?,
        app_id: app_id(r, 2)?,
        event: get(r, 3)?,
        payload: get(r, 4)?,
        created_at: time(r, 5)?,
        next_attempt_at: time(r, 6)?,
        attempts: get(r, 7)?,
        state: DeliveryState::parse(&state).ok_or_else(|| bad("delivery state", &state))?,
        last_status: get(r, 9)?,
        last_error: get(r, 10)?,
        last_duration_ms: get(r, 11)?,
        delivered_at: opt_time(r, 12)?,
    })
}

#[async_trait]
impl<C: HasConn> WebhookQueries for Handle<C> {
    async fn insert_webhook(&mut self, e: &WebhookEndpoint) -> StoreResult<()> {
        self.exec(
            "INSERT INTO webhook_endpoints (id, app_id, url, secret_sealed, events, created_by, \
             created_at, deleted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                e.id,
                e.app_id.as_str(),
                &e.url,
                &e.secret_sealed,
                WebhookEvent::join(&e.events),
                e.created_by.map(|i| i.0),
                ms(e.created_at),
                e.deleted_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn list_webhooks(&mut self, app: &AppId) -> StoreResult<Vec<WebhookEndpoint>> {
        self.all(
            "SELECT id, app_id, url, secret_sealed, events, created_by, created_at, deleted_at \
             FROM webhook_endpoints WHERE app_id = ?1 AND deleted_at IS NULL ORDER BY created_at",
            rusqlite::params![app.as_str()],
            endpoint_row,
        )
    }

    async fn get_webhook(
        &mut self,
        app: &AppId,
        id: uuid::Uuid,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        self.one(
            "SELECT id, app_id, url, secret_sealed, events, created_by, created_at, deleted_at \
             FROM webhook_endpoints WHERE app_id = ?1 AND id = ?2",
            rusqlite::params![app.as_str(), id],
            endpoint_row,
        )
    }

    async fn delete_webhook(
        &mut self,
        app: &AppId,
        id: uuid::Uuid,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE webhook_endpoints SET deleted_at = ?3 \
             WHERE app_id = ?1 AND id = ?2 AND deleted_at IS NULL",
            rusqlite::params![app.as_str(), id, ms(at)],
        )?;
        // what was still waiting for it will not be sent
        self.exec(
            "UPDATE webhook_deliveries SET state = 'failed', last_error = 'endpoint deleted' \
             WHERE endpoint_id = ?1 AND state = 'pending'",
            rusqlite::params![id],
        )?;
        Ok(n == 1)
    }

    async fn webhooks_for(
        &mut self,
        app: &AppId,
        event: WebhookEvent,
    ) -> StoreResult<Vec<uuid::Uuid>> {
        let all = self.all(
            "SELECT id, events FROM webhook_endpoints WHERE app_id = ?1 AND deleted_at IS NULL",
            rusqlite::params![app.as_str()],
            |r| Ok((uuid(r, 0)?, get::<String>(r, 1)?)),
        )?;
        Ok(all
            .into_iter()
            .filter(|(_, events)| WebhookEvent::split(events).contains(&event))
            .map(|(id, _)| id)
            .collect())
    }

    async fn insert_delivery(&mut self, d: &WebhookDelivery) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO webhook_deliveries (",
                delivery_columns!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            rusqlite::params![
                d.id,
                d.endpoint_id,
                d.app_id.as_str(),
                &d.event,
                &d.payload,
                ms(d.created_at),
                ms(d.next_attempt_at),
                d.attempts,
                d.state.as_str(),
                d.last_status,
                &d.last_error,
                d.last_duration_ms,
                d.delivered_at.map(ms)
            ],
        )?;
        Ok(())
    }

    async fn claim_deliveries(
        &mut self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        // due ones, and this worker's own claims from before a restart
        let claimed = self.all(
            concat!(
                "UPDATE webhook_deliveries SET claimed_by = ?1, claimed_until = ?3, \
                 next_attempt_at = ?3 WHERE id IN (SELECT id FROM webhook_deliveries \
                 WHERE state = 'pending' AND (next_attempt_at <= ?2 OR claimed_by = ?1) \
                 ORDER BY next_attempt_at LIMIT ?4) RETURNING ",
                delivery_columns!()
            ),
            rusqlite::params![owner, ms(now), ms(lease_until), limit],
            delivery_row,
        )?;
        let mut out = Vec::with_capacity(claimed.len());
        for d in claimed {
            let ep = self.one(
                "SELECT url, secret_sealed FROM webhook_endpoints WHERE id = ?1",
                rusqlite::params![d.endpoint_id],
                |r| Ok((get::<String>(r, 0)?, get::<Vec<u8>>(r, 1)?)),
            )?;
            if let Some((url, secret_sealed)) = ep {
                out.push(ClaimedDelivery {
                    delivery: d,
                    url,
                    secret_sealed,
                });
            }
        }
        Ok(out)
    }

    async fn record_attempt(
        &mut self,
        delivery: uuid::Uuid,
        o: &AttemptOutcome,
    ) -> StoreResult<()> {
        self.exec(
            "INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![delivery, ms(o.at), o.status, &o.error, o.duration_ms],
        )?;
        self.exec(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?2, \
             next_attempt_at = ?3, last_status = ?4, last_error = ?5, last_duration_ms = ?6, \
             delivered_at = CASE WHEN ?2 = 'delivered' THEN ?7 ELSE delivered_at END, \
             claimed_by = NULL, claimed_until = NULL WHERE id = ?1",
            rusqlite::params![
                delivery,
                o.state.as_str(),
                ms(o.next_attempt_at),
                o.status,
                &o.error,
                o.duration_ms,
                ms(o.at)
            ],
        )?;
        Ok(())
    }

    async fn list_deliveries(
        &mut self,
        app: &AppId,
        endpoint: uuid::Uuid,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        // ids are time-ordered (v7): the id alone orders the log
        self.all(
            concat!(
                "SELECT ",
                delivery_columns!(),
                " FROM webhook_deliveries WHERE app_id = ?1 AND endpoint_id = ?2 \
                 AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?3"
            ),
            rusqlite::params![app.as_str(), endpoint, limit, before],
            delivery_row,
        )
    }

    async fn due_expired_invitations(
        &mut self,
        app: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Invitation>> {
        let ids = self.all(
            "SELECT id FROM invitations WHERE app_id = ?1 AND status = 'pending' \
             AND expires_at <= ?2",
            rusqlite::params![app.as_str(), ms(now)],
            |r| uuid(r, 0),
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(inv) =
                roster_core::store::InvitationQueries::get_invitation(self, app, InvitationId(id))
                    .await?
            {
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
        self.all(
            "SELECT DISTINCT app_id FROM invitations WHERE status = 'pending' \
             AND expires_at <= ?1 LIMIT ?2",
            rusqlite::params![ms(now), limit],
            |r| app_id(r, 0),
        )
    }
}
