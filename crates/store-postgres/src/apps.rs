//! Apps and seats: seat totals, the seat ledger, seat requests and invitation expiry. SQL and row mapping, PostgreSQL.

use crate::Handle;
use crate::rows::*;
use async_trait::async_trait;
use roster_core::StoreError;
use roster_core::model::*;
use roster_core::store::{AppQueries, StoreResult};
use roster_core::types::*;
use sqlx::postgres::{PgConnection, PgRow};
use std::ops::DerefMut;
use time::OffsetDateTime;
use uuid::Uuid;

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
impl<C> AppQueries for Handle<C>
where
    C: DerefMut<Target = PgConnection> + Send,
{
    async fn insert_app(&mut self, a: &App) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO apps (",
            app_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(a.app_id.as_str())
        .bind(&a.name)
        .bind(a.seats_purchased)
        .bind(a.seats_complimentary)
        .bind(a.seats_held)
        .bind(a.created_at)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn count_apps(&mut self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM apps")
            .fetch_one(self.c())
            .await
            .map_err(map_err)
    }

    async fn get_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>> {
        sqlx::query(concat!(
            "SELECT ",
            app_cols!(),
            " FROM apps WHERE app_id = $1"
        ))
        .bind(app_id.as_str())
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| app_row(&r))
        .transpose()
    }

    async fn lock_app(&mut self, app_id: &AppId) -> StoreResult<Option<App>> {
        // Row lock on the app: every seat-checked write of this app, on any node, queues here.
        sqlx::query(concat!(
            "SELECT ",
            app_cols!(),
            " FROM apps WHERE app_id = $1 FOR UPDATE"
        ))
        .bind(app_id.as_str())
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| app_row(&r))
        .transpose()
    }

    async fn update_app_seats(&mut self, a: &App) -> StoreResult<()> {
        sqlx::query(
            "UPDATE apps SET seats_purchased = $2, seats_complimentary = $3, seats_held = $4 \
             WHERE app_id = $1",
        )
        .bind(a.app_id.as_str())
        .bind(a.seats_purchased)
        .bind(a.seats_complimentary)
        .bind(a.seats_held)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_seat_entry(&mut self, e: &SeatLedgerEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO seat_ledger (id, app_id, at, kind, quantity, actor, note, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.id)
        .bind(e.app_id.as_str())
        .bind(e.at)
        .bind(e.kind.as_str())
        .bind(e.quantity)
        .bind(e.actor.map(|a| a.0))
        .bind(e.note.as_deref())
        .bind(e.request.map(|r| r.0))
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_seat_entries(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatLedgerEntry>> {
        let rows = sqlx::query(
            "SELECT id, app_id, at, kind, quantity, actor, note, request_id FROM seat_ledger \
             WHERE app_id = $1 ORDER BY at, id",
        )
        .bind(app_id.as_str())
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(seat_row).collect()
    }

    async fn count_due_expired(&mut self, app_id: &AppId, now: OffsetDateTime) -> StoreResult<i64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM invitations i JOIN members m ON m.id = i.member_id \
             WHERE i.app_id = $1 AND i.status = 'pending' AND i.expires_at <= $2 \
             AND m.holds_seat AND m.status = 'invited'",
        )
        .bind(app_id.as_str())
        .bind(now)
        .fetch_one(self.c())
        .await
        .map_err(map_err)?;
        Ok(n)
    }

    async fn expire_due_invitations(
        &mut self,
        app_id: &AppId,
        now: OffsetDateTime,
    ) -> StoreResult<i64> {
        let released = sqlx::query(
            "WITH due AS (UPDATE invitations SET status = 'expired', ended_at = expires_at \
             WHERE app_id = $1 AND status = 'pending' AND expires_at <= $2 RETURNING member_id) \
             UPDATE members SET holds_seat = FALSE WHERE id IN (SELECT member_id FROM due) \
             AND status = 'invited' AND holds_seat",
        )
        .bind(app_id.as_str())
        .bind(now)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(i64::try_from(released).unwrap_or(i64::MAX))
    }

    async fn insert_seat_request(&mut self, r: &SeatRequest) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO seat_requests (id, app_id, requested_by, quantity, status, created_at, \
             decided_at, granted_quantity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.id.0)
        .bind(r.app_id.as_str())
        .bind(r.requested_by.0)
        .bind(r.quantity)
        .bind(r.status.as_str())
        .bind(r.created_at)
        .bind(r.decided_at)
        .bind(r.granted_quantity)
        .execute(self.c())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_seat_requests(&mut self, app_id: &AppId) -> StoreResult<Vec<SeatRequest>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            seat_request_cols!(),
            " FROM seat_requests WHERE app_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(app_id.as_str())
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(seat_request_row).collect()
    }

    async fn list_all_seat_requests(&mut self, limit: u32) -> StoreResult<Vec<SeatRequest>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            seat_request_cols!(),
            " FROM seat_requests ORDER BY created_at DESC, id DESC LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(self.c())
        .await
        .map_err(map_err)?;
        rows.iter().map(seat_request_row).collect()
    }

    async fn get_seat_request(&mut self, id: SeatRequestId) -> StoreResult<Option<SeatRequest>> {
        sqlx::query(concat!(
            "SELECT ",
            seat_request_cols!(),
            " FROM seat_requests WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.c())
        .await
        .map_err(map_err)?
        .map(|r| seat_request_row(&r))
        .transpose()
    }

    async fn close_seat_request(&mut self, r: &SeatRequest) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE seat_requests SET status = $2, decided_at = $3, granted_quantity = $4 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(r.id.0)
        .bind(r.status.as_str())
        .bind(r.decided_at)
        .bind(r.granted_quantity)
        .execute(self.c())
        .await
        .map_err(map_err)?
        .rows_affected();
        Ok(n == 1)
    }
}

pub(crate) fn app_row(r: &PgRow) -> Result<App, StoreError> {
    Ok(App {
        app_id: app_id(r, "app_id")?,
        name: get(r, "name")?,
        seats_purchased: get(r, "seats_purchased")?,
        seats_complimentary: get(r, "seats_complimentary")?,
        seats_held: get(r, "seats_held")?,
        created_at: time(r, "created_at")?,
    })
}

pub(crate) fn prefixed_app_row(r: &PgRow) -> Result<App, StoreError> {
    Ok(App {
        app_id: app_id(r, "a_app_id")?,
        name: get(r, "a_name")?,
        seats_purchased: get(r, "a_seats_purchased")?,
        seats_complimentary: get(r, "a_seats_complimentary")?,
        seats_held: get(r, "a_seats_held")?,
        created_at: time(r, "a_created_at")?,
    })
}

pub(crate) fn seat_row(r: &PgRow) -> Result<SeatLedgerEntry, StoreError> {
    let k: String = get(r, "kind")?;
    Ok(SeatLedgerEntry {
        id: get(r, "id")?,
        app_id: app_id(r, "app_id")?,
        at: time(r, "at")?,
        kind: SeatEntryKind::parse(&k).ok_or_else(|| bad("seat kind", &k))?,
        quantity: get(r, "quantity")?,
        actor: get::<Option<Uuid>>(r, "actor")?.map(IdentityId),
        note: get(r, "note")?,
        request: get::<Option<Uuid>>(r, "request_id")?.map(SeatRequestId),
    })
}

pub(crate) fn seat_request_row(r: &PgRow) -> Result<SeatRequest, StoreError> {
    let st: String = get(r, "status")?;
    Ok(SeatRequest {
        id: SeatRequestId(get(r, "id")?),
        app_id: app_id(r, "app_id")?,
        requested_by: IdentityId(get(r, "requested_by")?),
        quantity: get(r, "quantity")?,
        status: SeatRequestStatus::parse(&st).ok_or_else(|| bad("status", &st))?,
        created_at: time(r, "created_at")?,
        decided_at: opt_time(r, "decided_at")?,
        granted_quantity: get(r, "granted_quantity")?,
    })
}
