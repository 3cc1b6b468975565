//! Journey: seats — the seat ledger: the operator grants, an admin buys or asks support for
//! more, and the summary of what is used and free.

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::Queries;
use crate::types::*;
use time::OffsetDateTime;

/// Why seats are added, kept in the ledger: the operator's note and the request a grant answers.
#[derive(Debug, Clone, Default)]
pub(super) struct LedgerWhy {
    pub note: Option<String>,
    pub request: Option<SeatRequestId>,
}

/// A seat ledger entry as support reads it: who made the change and why, in words.
#[derive(Debug, Clone)]
pub struct LedgerLine {
    pub entry: SeatLedgerEntry,
    /// "Roster support (sam@…)" for an operator in the console, an admin's email for a
    /// purchase, "Roster support" for the CLI and app creation.
    pub who: String,
    /// The kind in words, the request a grant answered, and the note.
    pub why: String,
}

/// The app's ledger (oldest first) with who and why, read through `q`; `requests` are the
/// app's seat requests (for what a grant answered).
pub(super) async fn ledger_lines(
    q: &mut dyn Queries,
    entries: Vec<SeatLedgerEntry>,
    requests: &[SeatRequest],
) -> Result<Vec<LedgerLine>> {
    let mut people: std::collections::HashMap<IdentityId, Option<Email>> = Default::default();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let email = match entry.actor {
            Some(id) => match people.get(&id) {
                Some(known) => known.clone(),
                None => {
                    let e = q.get_identity(id).await?.map(|i| i.email);
                    people.insert(id, e.clone());
                    e
                }
            },
            None => None,
        };
        let who = match (entry.kind, entry.actor, email) {
            (SeatEntryKind::Complimentary, Some(_), Some(e)) => format!("Roster support ({e})"),
            (_, Some(_), Some(e)) => e.to_string(),
            (_, Some(_), None) => "an ID since deleted".to_string(),
            (SeatEntryKind::Purchase, None, _) => "a service key or the CLI".to_string(),
            (_, None, _) => "Roster support".to_string(),
        };
        let mut why = match entry.kind {
            SeatEntryKind::Initial => "seats the app was created with".to_string(),
            SeatEntryKind::Purchase => "bought".to_string(),
            SeatEntryKind::Complimentary => "complimentary".to_string(),
        };
        if let Some(id) = entry.request {
            match requests.iter().find(|r| r.id == id) {
                Some(r) => why.push_str(&format!(
                    ", in answer to a request for {} seat{}",
                    r.quantity,
                    if r.quantity == 1 { "" } else { "s" }
                )),
                None => why.push_str(", in answer to a seat request"),
            }
        }
        if let Some(n) = &entry.note {
            why.push_str(&format!(": “{n}”"));
        }
        out.push(LedgerLine { entry, who, why });
    }
    Ok(out)
}

impl Services {
    /// Operator: add complimentary seats (or purchased ones, e.g. after an offline payment).
    pub async fn grant_seats(
        &self,
        ctx: &Ctx,
        app_id: &AppId,
        quantity: i64,
        kind: SeatEntryKind,
    ) -> Result<App> {
        self.add_seats(ctx, app_id, quantity, kind, None, LedgerWhy::default())
            .await
    }

    /// Operator: grant seats in answer to an app's seat request, and close that request as
    /// granted (with the time and the quantity) in the same transaction. `quantity` defaults to
    /// what was asked. An unknown request, one of another app, or one already answered is an
    /// error on the field `request`.
    pub async fn grant_seat_request(
        &self,
        ctx: &Ctx,
        app_id: &AppId,
        request: SeatRequestId,
        quantity: Option<i64>,
        kind: SeatEntryKind,
    ) -> Result<(App, SeatRequest)> {
        self.answer_seat_request(
            ctx,
            None,
            app_id,
            request,
            super::SeatAnswer::Grant { quantity, kind },
            None,
        )
        .await
    }

    /// Operator: seat requests of one app, or the newest of all apps, newest first.
    pub async fn operator_seat_requests(
        &self,
        app_id: Option<&AppId>,
        limit: u32,
    ) -> Result<Vec<SeatRequest>> {
        let mut r = self.read().await?;
        match app_id {
            Some(a) => {
                r.get_app(a).await?.ok_or(Error::NotFound)?;
                Ok(r.list_seat_requests(a).await?)
            }
            None => Ok(r.list_all_seat_requests(limit).await?),
        }
    }

    pub(super) async fn add_seats(
        &self,
        ctx: &Ctx,
        app_id: &AppId,
        quantity: i64,
        kind: SeatEntryKind,
        by: Option<&Principal>,
        why: LedgerWhy,
    ) -> Result<App> {
        let mut tx = self.begin().await?;
        let app = self
            .add_seats_in(&mut *tx, ctx, app_id, quantity, kind, by, why)
            .await?;
        tx.commit().await?;
        Ok(app)
    }

    /// Add seats inside the caller's transaction (which locks the app first).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn add_seats_in(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app_id: &AppId,
        quantity: i64,
        kind: SeatEntryKind,
        by: Option<&Principal>,
        why: LedgerWhy,
    ) -> Result<App> {
        if !(1..=1000).contains(&quantity) {
            return Err(Error::invalid(
                "quantity",
                "Buy between 1 and 1000 seats at a time.",
            ));
        }
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        match kind {
            SeatEntryKind::Complimentary => app.seats_complimentary += quantity,
            _ => app.seats_purchased += quantity,
        }
        tx.update_app_seats(&app).await?;
        let entry_id = uuid::Uuid::now_v7();
        if let (Some(p), SeatEntryKind::Purchase) = (by.filter(|p| p.person().is_some()), kind) {
            tx.enqueue(&OutboxMessage::new(
                ctx.now,
                &p.email,
                Mail::SeatReceipt {
                    first_name: p.first_name.clone(),
                    app_name: app.name.clone(),
                    app_id: app_id.clone(),
                    quantity,
                    seats_total: app.seats_total(),
                    reference: entry_id.simple().to_string(),
                    at: ctx.now,
                },
                None,
            ))
            .await?;
        }
        tx.insert_seat_entry(&SeatLedgerEntry {
            id: entry_id,
            app_id: app_id.clone(),
            at: ctx.now,
            kind,
            quantity,
            actor: by.and_then(|p| p.person()),
            note: why.note.clone(),
            request: why.request,
        })
        .await?;
        let data = serde_json::json!({
            "seats": {
                "total": app.seats_total(),
                "purchased": app.seats_purchased,
                "complimentary": app.seats_complimentary,
                "held": app.seats_held,
            },
            "change": {"kind": if kind == SeatEntryKind::Complimentary { "complimentary" } else { "purchase" }, "quantity": quantity},
        });
        self.emit(tx, ctx, app_id, WebhookEvent::SeatsChanged, data)
            .await?;
        // complimentary seats come from support only
        let actor = match by {
            Some(p) if kind == SeatEntryKind::Complimentary => Actor::Support(p),
            Some(p) => Actor::Id(p),
            None => Actor::Operator,
        };
        let action = match kind {
            SeatEntryKind::Complimentary => "seats.granted",
            _ => "seats.purchased",
        };
        self.audit(
            tx,
            ctx,
            Some(app_id),
            actor,
            action,
            None,
            serde_json::json!({"quantity": quantity, "note": why.note, "request": why.request}),
        )
        .await?;
        Ok(app)
    }

    /// Admin: buy seats (a ledger row, effective at once).
    pub async fn buy_seats(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        quantity: i64,
    ) -> Result<SeatSummary> {
        self.require_admin(p, app_id).await?;
        let app = self
            .add_seats(
                ctx,
                app_id,
                quantity,
                SeatEntryKind::Purchase,
                Some(p),
                LedgerWhy::default(),
            )
            .await?;
        self.mail_kick.notify_one();
        self.summary_of(app, ctx.now).await
    }

    pub(super) async fn summary_of(
        &self,
        mut app: App,
        now: OffsetDateTime,
    ) -> Result<SeatSummary> {
        let mut r = self.read().await?;
        app.seats_held -= r.count_due_expired(&app.app_id, now).await?;
        Ok(SeatSummary::from(&app))
    }

    pub async fn seat_summary(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
    ) -> Result<SeatSummary> {
        self.require_admin(p, app_id).await?;
        let app = self
            .read()
            .await?
            .get_app(app_id)
            .await?
            .ok_or(Error::NotFound)?;
        self.summary_of(app, ctx.now).await
    }

    /// Admin: ask support for complimentary seats (recorded; an operator grants or declines).
    pub async fn request_seats(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        quantity: i64,
    ) -> Result<SeatRequest> {
        self.require_admin(p, app_id).await?;
        if p.person().is_none() {
            // support answers a person by email
            return Err(Error::InsufficientScope("admin"));
        }
        if !(1..=100).contains(&quantity) {
            return Err(Error::invalid(
                "quantity",
                "Ask for between 1 and 100 seats.",
            ));
        }
        let r = SeatRequest {
            id: SeatRequestId::new(),
            app_id: app_id.clone(),
            requested_by: p.identity_id,
            quantity,
            status: SeatRequestStatus::Pending,
            created_at: ctx.now,
            decided_at: None,
            granted_quantity: None,
        };
        let mut tx = self.begin().await?;
        tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        tx.insert_seat_request(&r).await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "seats.requested",
            None,
            serde_json::json!({"request": r.id, "quantity": quantity}),
        )
        .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Admin: the app's seat ledger (who added seats, when, why), newest first.
    pub async fn seat_ledger(&self, p: &Principal, app_id: &AppId) -> Result<Vec<SeatLedgerEntry>> {
        self.require_admin(p, app_id).await?;
        let mut entries = self.read().await?.list_seat_entries(app_id).await?;
        entries.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
        Ok(entries)
    }

    pub async fn list_seat_requests(
        &self,
        p: &Principal,
        app_id: &AppId,
    ) -> Result<Vec<SeatRequest>> {
        self.require_admin(p, app_id).await?;
        Ok(self.read().await?.list_seat_requests(app_id).await?)
    }
}
