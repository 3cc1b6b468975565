//! The mail outbox. SQL and row mapping, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{OutboxQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

macro_rules! outbox_cols {
    () => {
        "id, created_at, to_addr, payload, secret, status, attempts, next_attempt_at, last_error, sent_at, \
         group_key, invitation_id"
    };
}

impl<C: HasConn> Handle<C> {
    fn claim(
        &mut self,
        owner: Option<&str>,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.all(
            concat!(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, claimed_by = ?4 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1 \
             ORDER BY next_attempt_at, id LIMIT +?3) RETURNING ",
                outbox_cols!()
            ),
            rusqlite::params![ms(now), ms(lease_until), i64::from(limit), owner],
            outbox_row,
        )
    }
}

#[async_trait]
impl<C: HasConn> OutboxQueries for Handle<C> {
    async fn enqueue(&mut self, m: &OutboxMessage) -> StoreResult<()> {
        let payload =
            serde_json::to_string(&m.mail).map_err(|e| StoreError::Other(e.to_string()))?;
        self.exec(
            concat!(
                "INSERT INTO outbox (",
                outbox_cols!(),
                ", kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            rusqlite::params![
                m.id.0,
                ms(m.created_at),
                &m.to,
                payload,
                &m.secret,
                m.status.as_str(),
                m.attempts,
                ms(m.next_attempt_at),
                &m.last_error,
                m.sent_at.map(ms),
                &m.group_key,
                m.invitation_id.map(|i| i.0),
                m.mail.kind_name()
            ],
        )?;
        Ok(())
    }

    async fn claim_outbox(
        &mut self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.claim(None, now, lease_until, limit)
    }

    async fn claim_outbox_as(
        &mut self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.claim(Some(owner), now, lease_until, limit)
    }

    async fn release_claims(&mut self, owner: &str, now: OffsetDateTime) -> StoreResult<u64> {
        let n = self.exec(
            "UPDATE outbox SET next_attempt_at = ?2, claimed_by = NULL \
             WHERE claimed_by = ?1 AND status = 'pending'",
            rusqlite::params![owner, ms(now)],
        )?;
        Ok(n as u64)
    }

    async fn complete_outbox(&mut self, id: MessageId, at: OffsetDateTime) -> StoreResult<()> {
        self.exec(
            "UPDATE outbox SET status = 'sent', sent_at = ?2, secret = NULL, last_error = NULL \
             WHERE id = ?1",
            rusqlite::params![id.0, ms(at)],
        )?;
        Ok(())
    }

    async fn renew_outbox_lease(
        &mut self,
        ids: &[MessageId],
        until: OffsetDateTime,
    ) -> StoreResult<()> {
        for id in ids {
            self.exec(
                "UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1 AND status = 'pending'",
                rusqlite::params![id.0, ms(until)],
            )?;
        }
        Ok(())
    }

    async fn fail_outbox(
        &mut self,
        id: MessageId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<()> {
        match retry_at {
            Some(t) => self.exec(
                "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3, claimed_by = NULL \
                 WHERE id = ?1",
                rusqlite::params![id.0, error, ms(t)],
            )?,
            None => self.exec(
                "UPDATE outbox SET last_error = ?2, status = 'failed', secret = NULL WHERE id = ?1",
                rusqlite::params![id.0, error],
            )?,
        };
        Ok(())
    }

    async fn list_outbox(
        &mut self,
        status: Option<OutboxStatus>,
        before: Option<(OffsetDateTime, MessageId)>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.all(
            concat!(
                "SELECT ",
                outbox_cols!(),
                " FROM outbox WHERE (?1 IS NULL OR status = ?1) \
                 AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
                 ORDER BY created_at DESC, id DESC LIMIT +?4"
            ),
            rusqlite::params![
                status.map(|s| s.as_str()),
                before.map(|(t, _)| ms(t)),
                before.map(|(_, id)| id.0),
                i64::from(limit)
            ],
            outbox_row,
        )
    }

    async fn waiting_in_group(&mut self, group_key: &str) -> StoreResult<Option<OutboxMessage>> {
        self.one(
            concat!(
                "SELECT ",
                outbox_cols!(),
                " FROM outbox WHERE group_key = ?1 AND status = 'pending' AND attempts = 0 \
                 ORDER BY created_at LIMIT 1"
            ),
            rusqlite::params![group_key],
            outbox_row,
        )
    }

    async fn update_waiting_mail(&mut self, id: MessageId, mail: &Mail) -> StoreResult<bool> {
        let payload = serde_json::to_string(mail).map_err(|e| StoreError::Other(e.to_string()))?;
        let n = self.exec(
            "UPDATE outbox SET payload = ?2 WHERE id = ?1 AND status = 'pending' AND attempts = 0",
            rusqlite::params![id.0, payload],
        )?;
        Ok(n == 1)
    }

    async fn invitation_mail(
        &mut self,
        ids: &[InvitationId],
    ) -> StoreResult<Vec<(InvitationId, OutboxMessage)>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let m = self.one(
                concat!(
                    "SELECT ",
                    outbox_cols!(),
                    " FROM outbox WHERE invitation_id = ?1 ORDER BY created_at DESC LIMIT 1"
                ),
                rusqlite::params![id.0],
                outbox_row,
            )?;
            if let Some(m) = m {
                out.push((*id, m));
            }
        }
        Ok(out)
    }

    async fn get_outbox(&mut self, id: MessageId) -> StoreResult<Option<OutboxMessage>> {
        self.one(
            concat!("SELECT ", outbox_cols!(), " FROM outbox WHERE id = ?1"),
            rusqlite::params![id.0],
            outbox_row,
        )
    }
}

pub(crate) fn outbox_row(r: &Row<'_>) -> Result<OutboxMessage, StoreError> {
    let st: String = get(r, 5)?;
    let payload: String = get(r, 3)?;
    Ok(OutboxMessage {
        id: MessageId(uuid(r, 0)?),
        created_at: time(r, 1)?,
        to: get(r, 2)?,
        mail: serde_json::from_str(&payload).map_err(|_| bad("payload", &payload))?,
        secret: get(r, 4)?,
        status: OutboxStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        attempts: get(r, 6)?,
        next_attempt_at: time(r, 7)?,
        last_error: get(r, 8)?,
        sent_at: opt_time(r, 9)?,
        group_key: get(r, 10)?,
        invitation_id: opt_uuid(r, 11)?.map(InvitationId),
    })
}
