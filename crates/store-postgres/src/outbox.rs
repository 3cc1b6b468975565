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
        "id, created_at, to_addr, payload, secret, status, attempts, next_attempt_at, last_error, sent_at, \
         group_key, invitation_id"
    };
}

impl<C> Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn claim(
        &mut self,
        owner: Option<&str>,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(concat!(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, claimed_by = $4 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
            outbox_cols!()
        ))
        .bind(now)
        .bind(lease_until)
        .bind(i64::from(limit))
        .bind(owner)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(outbox_row).collect()
    }
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
            ", kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
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
        .bind(&m.group_key)
        .bind(m.invitation_id.map(|i| i.0))
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
        self.claim(None, now, lease_until, limit).await
    }

    async fn claim_outbox_as(
        &mut self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.claim(Some(owner), now, lease_until, limit).await
    }

    async fn release_claims(&mut self, owner: &str, now: OffsetDateTime) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $2, claimed_by = NULL \
             WHERE claimed_by = $1 AND status = 'pending'",
        )
        .bind(owner)
        .bind(now)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected())
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
            Some(t) => sqlx::query(
                "UPDATE outbox SET last_error = $2, next_attempt_at = $3, claimed_by = NULL \
                     WHERE id = $1",
            )
            .bind(id.0)
            .bind(error)
            .bind(t),
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

    async fn waiting_in_group(&mut self, group_key: &str) -> StoreResult<Option<OutboxMessage>> {
        sqlx::query(concat!(
            "SELECT ",
            outbox_cols!(),
            " FROM outbox WHERE group_key = $1 AND status = 'pending' AND attempts = 0 \
             ORDER BY created_at LIMIT 1 FOR UPDATE"
        ))
        .bind(group_key)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| outbox_row(&r))
        .transpose()
    }

    async fn update_waiting_mail(&mut self, id: MessageId, mail: &Mail) -> StoreResult<bool> {
        let payload = serde_json::to_string(mail).map_err(|e| StoreError::Other(e.to_string()))?;
        let r = sqlx::query(
            "UPDATE outbox SET payload = $2 WHERE id = $1 AND status = 'pending' AND attempts = 0",
        )
        .bind(id.0)
        .bind(payload)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn invitation_mail(
        &mut self,
        ids: &[InvitationId],
    ) -> StoreResult<Vec<(InvitationId, OutboxMessage)>> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.0).collect();
        let rows = sqlx::query(concat!(
            "SELECT DISTINCT ON (invitation_id) ",
            outbox_cols!(),
            " FROM outbox WHERE invitation_id = ANY($1) ORDER BY invitation_id, created_at DESC"
        ))
        .bind(&ids)
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let m = outbox_row(r)?;
                let id = m
                    .invitation_id
                    .ok_or_else(|| StoreError::Other("outbox row without invitation".into()))?;
                Ok((id, m))
            })
            .collect()
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
        group_key: get(r, "group_key")?,
        invitation_id: get::<Option<uuid::Uuid>>(r, "invitation_id")?.map(InvitationId),
    })
}
