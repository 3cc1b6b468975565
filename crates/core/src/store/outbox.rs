//! The mail outbox.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait OutboxQueries: Send {
    async fn enqueue(&mut self, m: &OutboxMessage) -> StoreResult<()>;
    /// Claim up to `limit` messages due at `now`; each is leased until `lease_until` (another
    /// worker takes it over after that). Increments their attempt counts.
    async fn claim_outbox(
        &mut self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Like [`claim_outbox`](Self::claim_outbox), recording `owner` (a worker's node id) on
    /// each claimed message.
    async fn claim_outbox_as(
        &mut self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// A (re)started worker takes back what `owner` had claimed and not finished (it died):
    /// due at `now`. The number released.
    async fn release_claims(&mut self, owner: &str, now: OffsetDateTime) -> StoreResult<u64>;
    /// Mark sent and erase the message's secret.
    async fn complete_outbox(&mut self, id: MessageId, at: OffsetDateTime) -> StoreResult<()>;
    /// Record a failed attempt: retry at `retry_at`, or give up (`None` → Failed).
    async fn fail_outbox(
        &mut self,
        id: MessageId,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<()>;
    /// Extend the lease of claimed, still pending messages to `until` (a worker still sending
    /// its batch keeps it; a dead one's lease runs out soon).
    async fn renew_outbox_lease(
        &mut self,
        ids: &[MessageId],
        until: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Messages newest first, optionally of one status, strictly older than `before` (the
    /// last row of the previous page: `created_at`, id).
    async fn list_outbox(
        &mut self,
        status: Option<OutboxStatus>,
        before: Option<(OffsetDateTime, MessageId)>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    async fn get_outbox(&mut self, id: MessageId) -> StoreResult<Option<OutboxMessage>>;
    /// The message with `group_key` that is still waiting for its first attempt (not claimed),
    /// locked for the caller (who merges into it), if any.
    async fn waiting_in_group(&mut self, group_key: &str) -> StoreResult<Option<OutboxMessage>>;
    /// Replace the content of a message that is still waiting (a merge into a group); false if
    /// it was claimed meanwhile.
    async fn update_waiting_mail(&mut self, id: MessageId, mail: &Mail) -> StoreResult<bool>;
    /// The newest message about each of these invitations (what became of its email).
    async fn invitation_mail(
        &mut self,
        ids: &[InvitationId],
    ) -> StoreResult<Vec<(InvitationId, OutboxMessage)>>;
}
