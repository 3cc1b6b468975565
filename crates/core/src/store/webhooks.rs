//! Webhook endpoints of an app and their deliveries (a transactional outbox of their own).

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait WebhookQueries: Send {
    async fn insert_webhook(&mut self, e: &WebhookEndpoint) -> StoreResult<()>;
    /// The app's endpoints that are not deleted, oldest first.
    async fn list_webhooks(&mut self, app: &AppId) -> StoreResult<Vec<WebhookEndpoint>>;
    async fn get_webhook(
        &mut self,
        app: &AppId,
        id: uuid::Uuid,
    ) -> StoreResult<Option<WebhookEndpoint>>;
    /// Delete (kept for its delivery log; no new deliveries). False if not the app's.
    async fn delete_webhook(
        &mut self,
        app: &AppId,
        id: uuid::Uuid,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// The ids of the app's live endpoints that picked `event`.
    async fn webhooks_for(
        &mut self,
        app: &AppId,
        event: WebhookEvent,
    ) -> StoreResult<Vec<uuid::Uuid>>;
    async fn insert_delivery(&mut self, d: &WebhookDelivery) -> StoreResult<()>;
    /// Claim up to `limit` due pending deliveries for `owner` until `lease_until` (no two
    /// workers, on any node, get the same one).
    async fn claim_deliveries(
        &mut self,
        owner: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Record an attempt (the delivery log) and the delivery's new state; releases the claim.
    async fn record_attempt(&mut self, delivery: uuid::Uuid, o: &AttemptOutcome)
    -> StoreResult<()>;
    /// An endpoint's deliveries, newest first; `before` is the last one of the previous page.
    async fn list_deliveries(
        &mut self,
        app: &AppId,
        endpoint: uuid::Uuid,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    /// Pending invitations of the app that are due to expire by `now` (to report them).
    async fn due_expired_invitations(
        &mut self,
        app: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Invitation>>;
    /// Apps with pending invitations due to expire by `now` (at most `limit`).
    async fn apps_with_due_invitations(
        &mut self,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<AppId>>;
}
