//! Journey: apps — the operator creates an app (or the first one, through the first-run
//! link) and its first admin is invited; the operator's view of an app.

use super::invitations::IssuedInvitation;
use super::{Actor, Ctx, Principal, Services, collect, invalid};
use crate::error::{Error, FieldError, Result, StoreError};
use crate::model::*;
use crate::token::{hash_token, new_token};
use crate::types::*;

#[derive(Debug, Clone)]
pub struct CreateApp {
    pub name: String,
    pub seats: i64,
    pub admin_email: String,
    pub admin_first_name: String,
    pub admin_last_name: Option<String>,
}

impl Services {
    /// Operator: create an app and invite its first admin (who takes the first seat).
    pub async fn create_app(&self, ctx: &Ctx, req: CreateApp) -> Result<(App, IssuedInvitation)> {
        self.create_app_with(ctx, req, None, None).await
    }

    /// First run: on an empty database, a one-time link to create the first app. Returns the
    /// link's token, or `None` when apps exist already.
    pub async fn issue_setup_link(&self, ctx: &Ctx) -> Result<Option<String>> {
        let mut tx = self.begin().await?;
        if tx.count_apps().await? > 0 {
            return Ok(None);
        }
        let token = new_token();
        tx.insert_setup_token(&hash_token(&token), ctx.now).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// Whether a first-run link can still be used.
    pub async fn check_setup_link(&self, token: &str) -> Result<()> {
        let mut r = self.read().await?;
        if r.count_apps().await? == 0 && r.setup_token_unused(&hash_token(token)).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Create the first app through the first-run link; the link dies in the same transaction.
    pub async fn create_first_app(
        &self,
        ctx: &Ctx,
        token: &str,
        req: CreateApp,
    ) -> Result<(App, IssuedInvitation)> {
        self.throttle(ctx, super::Throttled::Setup).await?;
        self.create_app_with(ctx, req, Some(hash_token(token)), None)
            .await
    }

    /// `by`: the operator in the console (audited as "Roster support"); `None`: the CLI or the
    /// first-run link.
    pub(super) async fn create_app_with(
        &self,
        ctx: &Ctx,
        req: CreateApp,
        setup_token: Option<Vec<u8>>,
        by: Option<&Principal>,
    ) -> Result<(App, IssuedInvitation)> {
        let mut errors = Vec::new();
        let name = collect(&mut errors, Name::parse("name", &req.name));
        let email = collect(&mut errors, Email::parse(&req.admin_email));
        let first = collect(
            &mut errors,
            Name::parse("admin_first_name", &req.admin_first_name),
        );
        let last = collect(
            &mut errors,
            Name::parse_optional("admin_last_name", req.admin_last_name.as_deref()),
        );
        if !(1..=100_000).contains(&req.seats) {
            errors.push(FieldError {
                field: "seats",
                message: "An app needs between 1 and 100000 seats (its first admin takes one)."
                    .into(),
            });
        }
        invalid(errors)?;
        let (Some(name), Some(email), Some(first), Some(last)) = (name, email, first, last) else {
            return Err(Error::Internal("validation".into()));
        };

        for attempt in 0..20usize {
            let mut tx = self.begin().await?;
            // a first-run link works once, and only while there is no app at all
            if let Some(hash) = &setup_token
                && (tx.count_apps().await? > 0 || !tx.use_setup_token(hash, ctx.now).await?)
            {
                return Err(Error::NotFound);
            }
            let app_id = AppId::random(&mut rand::rng(), 3 + attempt / 4);
            if tx.get_app(&app_id).await?.is_some() {
                continue;
            }
            let mut app = App {
                app_id: app_id.clone(),
                name: name.to_string(),
                seats_purchased: req.seats,
                seats_complimentary: 0,
                seats_held: 0,
                created_at: ctx.now,
            };
            match tx.insert_app(&app).await {
                Ok(()) => {}
                Err(StoreError::Unique) => continue,
                Err(e) => return Err(e.into()),
            }
            tx.insert_seat_entry(&SeatLedgerEntry {
                id: uuid::Uuid::now_v7(),
                app_id: app_id.clone(),
                at: ctx.now,
                kind: SeatEntryKind::Initial,
                quantity: req.seats,
                actor: None,
                note: None,
                request: None,
            })
            .await?;
            self.audit(
                &mut *tx,
                ctx,
                Some(&app_id),
                by.map(Actor::Support).unwrap_or(Actor::Operator),
                "app.created",
                Some(app_id.to_string()),
                serde_json::json!({"name": app.name, "seats": req.seats}),
            )
            .await?;
            let issued = self
                .issue_invitation(
                    &mut *tx,
                    ctx,
                    &mut app,
                    None,
                    "Roster support",
                    email.clone(),
                    Some(first.to_string()),
                    last.as_ref().map(|n| n.to_string()),
                    true,
                    MemberKind::User,
                    true,
                    false,
                )
                .await?;
            tx.commit().await?;
            self.mail_kick.notify_one();
            return Ok((app, issued));
        }
        Err(Error::Internal("could not find a free App ID".into()))
    }

    /// Operator view of an app: its seats and its ledger (oldest first, who and why).
    pub async fn app_overview(
        &self,
        ctx: &Ctx,
        app_id: &AppId,
    ) -> Result<(App, SeatSummary, Vec<super::LedgerLine>)> {
        let mut r = self.read().await?;
        let app = r.get_app(app_id).await?.ok_or(Error::NotFound)?;
        let entries = r.list_seat_entries(app_id).await?;
        let requests = r.list_seat_requests(app_id).await?;
        let ledger = super::seats::ledger_lines(&mut *r, entries, &requests).await?;
        drop(r);
        let summary = self.summary_of(app.clone(), ctx.now).await?;
        Ok((app, summary, ledger))
    }

    /// An app's home page: the caller's membership and, for admins, seats, pending invitations
    /// and the most recent audit events.
    pub async fn app_home(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        recent: u32,
    ) -> Result<AppHome> {
        let member = self.require_member(p, app_id).await?;
        if !member.admin {
            return Ok(AppHome {
                member,
                admin: None,
            });
        }
        let seats = self.seat_summary(ctx, p, app_id).await?;
        let mut r = self.read().await?;
        let pending_invitations = r.count_pending_invitations(app_id, ctx.now).await?;
        let recent = r
            .list_audit(app_id, &AuditFilter::default(), recent.clamp(1, 50))
            .await?;
        Ok(AppHome {
            member,
            admin: Some(AdminHome {
                seats,
                pending_invitations,
                recent,
            }),
        })
    }
}

/// What an app's home page shows ([`Services::app_home`]).
#[derive(Debug, Clone)]
pub struct AppHome {
    pub member: Member,
    /// Only for admins.
    pub admin: Option<AdminHome>,
}

#[derive(Debug, Clone)]
pub struct AdminHome {
    pub seats: SeatSummary,
    pub pending_invitations: i64,
    /// Newest first.
    pub recent: Vec<AuditEvent>,
}
