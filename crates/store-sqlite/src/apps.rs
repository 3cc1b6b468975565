//! Apps and seats: seat totals, the seat ledger, seat requests and invitation expiry. SQL and row mapping, SQLite.

use crate::rows::*;
use crate::{Handle, HasConn};
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{AppQueries, StoreResult};
use roster_core::types::*;
use rusqlite::Row;
use time::OffsetDateTime;

macro_rules! app_cols {
    () => {
        "app_id, name, seats_purchased, seats_complimentary, seats_held, created_at"
    };
}

macro_rules! seat_request_cols {
    () => {
        "id, app_id, requested_by, quantity, status, created_at, decided_at, granted_quantity"
    };
}

#[async_trait]
impl<C: HasConn> AppQueries for Handle<C> {
    async fn insert_app(&mut self, a: &App) -> StoreResult<()> {
        self.exec(
            concat!(
                "INSERT INTO apps (",
                app_cols!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ),
            rusqlite::params![
                a.app_id.as_str(),
                &a.name,
                a.seats_purchased,
                a.seats_complimentary,
                a.seats_held,
                ms(a.created_at)
            ],
        )?;
        Ok(())
    }

    async fn count_apps(&mut self) -> StoreResult<i64> {
        self.scalar("SELECT COUNT(*) FROM apps", rusqlite::params![])
    }

    async fn get_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>> {
        self.one(
            concat!("SELECT ", app_cols!(), " FROM apps WHERE app_id = ?1"),
            rusqlite::params![app_id.as_str()],
            app_row,
        )
    }

    async fn lock_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>> {
        // BEGIN IMMEDIATE already holds the database's single write lock.
        self.get_app(app_id).await
    }

    async fn update_app_seats(&mut self, a: &App) -> StoreResult<()> {
        self.exec(
            "UPDATE apps SET seats_purchased = ?2, seats_complimentary = ?3, seats_held = ?4 \
             WHERE app_id = ?1",
            rusqlite::params![
                a.app_id.as_str(),
                a.seats_purchased,
                a.seats_complimentary,
                a.seats_held
            ],
        )?;
        Ok(())
    }

    async fn insert_seat_entry(&mut self, e: &SeatLedgerEntry) -> StoreResult<()> {
        self.exec(
            "INSERT INTO seat_ledger (id, app_id, at, kind, quantity, actor, note, request_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                e.id,
                e.app_id.as_str(),
                ms(e.at),
                e.kind.as_str(),
                e.quantity,
                e.actor.map(|a| a.0),
                e.note,
                e.request.map(|r| r.0)
            ],
        )?;
        Ok(())
    }

    async fn list_seat_entries(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatLedgerEntry>> {
        self.all(
            "SELECT id, app_id, at, kind, quantity, actor, note, request_id FROM seat_ledger \
             WHERE app_id = ?1 ORDER BY at, id",
            rusqlite::params![app_id.as_str()],
            seat_row,
        )
    }

    async fn count_due_expired(&mut self, app_id: &AppId, now: OffsetDateTime) -> StoreResult<i64> {
        let n: i64 = self.scalar(
            "SELECT COUNT(*) FROM invitations i JOIN members m ON m.id = i.member_id \
             WHERE i.app_id = ?1 AND i.status = 'pending' AND i.expires_at <= ?2 \
             AND m.holds_seat = 1 AND m.status = 'invited'",
            rusqlite::params![app_id.as_str(), ms(now)],
        )?;
        Ok(n)
    }

    async fn expire_due_invitations(
        &mut self,
        app_id: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        // Driven from the (usually empty) range of due invitations, so the cost does not grow
        // with the number of members.
        let due: Vec<uuid::Uuid> = self.all(
            "SELECT member_id FROM invitations \
             WHERE app_id = ?1 AND status = 'pending' AND expires_at <= ?2",
            rusqlite::params![app_id.as_str(), ms(now)],
            |r| r.get::<_, uuid::Uuid>(0).map_err(map_err),
        )?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut released = 0usize;
        for member in &due {
            released += self.exec(
                "UPDATE members SET holds_seat = 0 WHERE id = ?1 AND status = 'invited' \
                 AND holds_seat = 1",
                rusqlite::params![member],
            )?;
        }
        self.exec(
            "UPDATE invitations SET status = 'expired', ended_at = expires_at \
             WHERE app_id = ?1 AND status = 'pending' AND expires_at <= ?2",
            rusqlite::params![app_id.as_str(), ms(now)],
        )?;
        Ok(i64::try_from(released).unwrap_or(i64::MAX))
    }

    async fn insert_seat_request(&mut self, r: &SeatRequest) -> StoreResult<()> {
        self.exec(
            "INSERT INTO seat_requests (id, app_id, requested_by, quantity, status, created_at, \
             decided_at, granted_quantity) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                r.id.0,
                r.app_id.as_str(),
                r.requested_by.0,
                r.quantity,
                r.status.as_str(),
                ms(r.created_at),
                r.decided_at.map(ms),
                r.granted_quantity
            ],
        )?;
        Ok(())
    }

    async fn list_seat_requests(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatRequest>> {
        self.all(
            concat!(
                "SELECT ",
                seat_request_cols!(),
                " FROM seat_requests WHERE app_id = ?1 ORDER BY created_at DESC, id DESC"
            ),
            rusqlite::params![app_id.as_str()],
            seat_request_row,
        )
    }

    async fn list_all_seat_requests(&mut self, limit: u32) -> StoreResult<Vec<SeatRequest>> {
        self.all(
            concat!(
                "SELECT ",
                seat_request_cols!(),
                " FROM seat_requests ORDER BY created_at DESC, id DESC LIMIT ?1"
            ),
            rusqlite::params![limit],
            seat_request_row,
        )
    }

    async fn get_seat_request(&mut self, id: SeatRequestId) -> StoreResult<Option<SeatRequest>> {
        self.one(
            concat!(
                "SELECT ",
                seat_request_cols!(),
                " FROM seat_requests WHERE id = ?1"
            ),
            rusqlite::params![id.0],
            seat_request_row,
        )
    }

    async fn close_seat_request(&mut self, r: &SeatRequest) -> StoreResult<bool> {
        let n = self.exec(
            "UPDATE seat_requests SET status = ?2, decided_at = ?3, granted_quantity = ?4 \
             WHERE id = ?1 AND status = 'pending'",
            rusqlite::params![
                r.id.0,
                r.status.as_str(),
                r.decided_at.map(ms),
                r.granted_quantity
            ],
        )?;
        Ok(n == 1)
    }
}

pub(crate) fn app_row(r: &Row<'_>) -> Result<App, StoreError> {
    app_at(r, 0)
}

pub(crate) fn app_at(r: &Row<'_>, b: usize) -> Result<App, StoreError> {
    Ok(App {
        app_id: app_id(r, b)?,
        name: get(r, b + 1)?,
        seats_purchased: get(r, b + 2)?,
        seats_complimentary: get(r, b + 3)?,
        seats_held: get(r, b + 4)?,
        created_at: time(r, b + 5)?,
    })
}

pub(crate) fn seat_row(r: &Row<'_>) -> Result<SeatLedgerEntry, StoreError> {
    let k: String = get(r, 3)?;
    Ok(SeatLedgerEntry {
        id: uuid(r, 0)?,
        app_id: app_id(r, 1)?,
        at: time(r, 2)?,
        kind: SeatEntryKind::parse(&k).ok_or_else(|| bad("seat kind", &k))?,
        quantity: get(r, 4)?,
        actor: opt_uuid(r, 5)?.map(IdentityId),
        note: get(r, 6)?,
        request: opt_uuid(r, 7)?.map(SeatRequestId),
    })
}

pub(crate) fn seat_request_row(r: &Row<'_>) -> Result<SeatRequest, StoreError> {
    let st: String = get(r, 4)?;
    Ok(SeatRequest {
        id: SeatRequestId(uuid(r, 0)?),
        app_id: app_id(r, 1)?,
        requested_by: IdentityId(uuid(r, 2)?),
        quantity: get(r, 3)?,
        status: SeatRequestStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        created_at: time(r, 5)?,
        decided_at: opt_time(r, 6)?,
        granted_quantity: get(r, 7)?,
    })
}
