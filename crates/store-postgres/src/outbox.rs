//! The mail outbox. SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{OutboxQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use time::OffsetDateTime;

macro_rules! outbox_cols {
    () => {
        "id, created_at, to_addr, payload, secret, status, attempts, next_attempt_at, last_error, sent_at"
    };
}

#[async_trait]
impl<C> OutboxQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn enqueue(&mut self, m: &OutboxMessage) -> StoreResult<()> {
        let payload =
            serde_json::to_string(&m.mail).map_err(|e| StoreError::Other(e.to_string()))?;
        sqlx::query(concat!(
            "INSERT INTO outbox (",
            outbox_cols!(),
            ", kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(m.id.0)
        .bind(m.created_at)
        .bind(&m.to)
        .bind(payload)
        .bind(&m.secret)
        .bind(m.status.as_str())
        .bind(m.attempts)
        .bind(m.next_attempt_at)
        .bind(&m.last_error)
        .bind(m.sent_at)
        .bind(m.mail.kind_name())
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn claim_outbox(
        &mut self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(concat!(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
            outbox_cols!()
        ))
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(outbox_row).collect()
    }

    async fn complete_outbox(&mut self, id: MessageId, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $2, secret = NULL, last_error = NULL \
             WHERE id = $1",
        )
        .bind(id.0)
        .bind(at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn renew_outbox_lease(
        &mut self,
        ids: &[MessageId],
        until: OffsetDateTime,
    ) -> StoreResult<()> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.0).collect();
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = $2 WHERE id = ANY($1) AND status = 'pending'",
        )
        .bind(&ids)
        .bind(until)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn fail_outbox(
        &mut self,
        id: MessageId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<()> {
        let q = match retry_at {
            Some(t) => {
                sqlx::query("UPDATE outbox SET last_error = $2, next_attempt_at = $3 WHERE id = $1")
                    .bind(id.0)
                    .bind(error)
                    .bind(t)
            }
            None => sqlx::query(
                "UPDATE outbox SET last_error = $2, status = 'failed', secret = NULL WHERE id = $1",
            )
            .bind(id.0)
            .bind(error),
        };
        q.execute(self.c()).await.map_err(map_err)?;
        Ok(())
    }

    async fn list_outbox(
        &mut self,
        status: Option<OutboxStatus>,
        before: Option<(OffsetDateTime, MessageId)>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            outbox_cols!(),
            " FROM outbox WHERE ($1::text IS NULL OR status = $1) \
             AND ($2::timestamptz IS NULL OR created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(status.map(|s| s.as_str()))
        .bind(before.map(|(t, _)| t))
        .bind(before.map(|(_, id)| id.0))
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(outbox_row).collect()
    }

    async fn get_outbox(&mut self, id: MessageId) -> StoreResult<Option<OutboxMessage>> {
        sqlx::query(concat!(
            "SELECT ",
            outbox_cols!(),
            " FROM outbox WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| outbox_row(&r))
        .transpose()
    }
}

pub(crate) fn outbox_row(r: &PgRow) -> Result<OutboxMessage, StoreError> {
    let st: String = get(r, "status")?;
    let payload: String = get(r, "payload")?;
    Ok(OutboxMessage {
        id: MessageId(get(r, "id")?),
        created_at: time(r, "created_at")?,
        to: get(r, "to_addr")?,
        mail: serde_json::from_str(&payload).map_err(|_| bad("payload", &payload))?,
        secret: get(r, "secret")?,
        status: OutboxStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        attempts: get(r, "attempts")?,
        next_attempt_at: time(r, "next_attempt_at")?,
        last_error: get(r, "last_error")?,
        sent_at: opt_time(r, "sent_at")?,
    })
}
