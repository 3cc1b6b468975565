//! Apps and their seats: seat totals, the seat ledger, seat requests and invitation expiry.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait AppQueries: Send {
    async fn insert_app(&mut self, app: &App) -> StoreResult<()>;
    async fn count_apps(&mut self) -> StoreResult<i64>;
    async fn get_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>>;
    /// Like `get_app`, and locks the app's row until the transaction ends.
    async fn lock_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>>;
    /// Write the app's seat totals and held count (after core's seat accounting).
    async fn update_app_seats(&mut self, app: &App) -> StoreResult<()>;
    async fn insert_seat_entry(&mut self, e: &SeatLedgerEntry) -> StoreResult<()>;
    async fn list_seat_entries(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatLedgerEntry>>;
    /// Count pending invitations of `app_id` whose member holds a seat and which expired by `now`.
    async fn count_due_expired(&mut self, app_id: &AppId, now: OffsetDateTime) -> StoreResult<i64>;
    /// Mark pending invitations expired by `now` as Expired and release their members' seats.
    /// Returns the number of seats released (the caller lowers the app's held count).
    async fn expire_due_invitations(
        &mut self,
        app_id: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<i64>;

    // ---- seat requests ("ask support for a seat")
    async fn insert_seat_request(&mut self, r: &SeatRequest) -> StoreResult<()>;
    async fn list_seat_requests(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatRequest>>;
    /// The newest `limit` requests of every app (the operator's list).
    async fn list_all_seat_requests(&mut self, limit: u32) -> StoreResult<Vec<SeatRequest>>;
    async fn get_seat_request(&mut self, id: SeatRequestId) -> StoreResult<Option<SeatRequest>>;
    /// Answer a pending request: `status`, `decided_at` and `granted_quantity` from `r`
    /// (guarded: false if it was no longer pending).
    async fn close_seat_request(&mut self, r: &SeatRequest) -> StoreResult<bool>;
}
