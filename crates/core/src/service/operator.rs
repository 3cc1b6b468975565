//! Journey J8: the operator (Roster support). Operators are IDs the operator's CLI named, with
//! two-step verification set up; in the console they find apps (App ID, name, a member's
//! email), answer seat requests (the requesting admin is emailed), grant seats, unlock IDs, end
//! their sessions, reset their second factors, suspend and resume apps, and create apps. Every
//! action is audited with the operator as actor, shown to the app as "Roster support".

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::types::*;
use serde_json::json;
use time::OffsetDateTime;

/// How an operator answers a seat request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatAnswer {
    /// Add seats (`None`: what was asked).
    Grant {
        quantity: Option<i64>,
        kind: SeatEntryKind,
    },
    Decline,
}

/// Whether an ID may open the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAccess {
    No,
    /// An operator without two-step verification.
    NeedsTwoStep,
    /// An operator with two-step verification who logged in without using it (a trusted
    /// browser skipped the second step).
    UseSecondStep,
    Yes,
}

/// Everything the console shows of one app.
#[derive(Debug, Clone)]
pub struct OperatorAppView {
    pub app: App,
    pub summary: SeatSummary,
    /// Oldest first, with who and why.
    pub ledger: Vec<super::LedgerLine>,
    /// Active members and pending invitations (first 200 by email).
    pub members: Vec<Member>,
    pub seat_requests: Vec<SeatRequest>,
    pub audit: Vec<AuditEvent>,
    pub suspended_at: Option<OffsetDateTime>,
}

/// What support sees of an ID.
#[derive(Debug, Clone)]
pub struct IdSupportView {
    pub identity: Identity,
    pub locked: bool,
    pub two_step: bool,
    pub apps: Vec<(App, Member)>,
}

/// What `roster operator add` did.
#[derive(Debug, Clone)]
pub enum OperatorInvited {
    /// The ID existed: it is an operator now.
    Added(Box<Identity>),
    /// No ID yet: an invitation to create one was emailed (the token, for the CLI to print).
    Invited { email: Email, token: String },
}

/// How long an operator invitation works.
const OPERATOR_INVITE_TTL: time::Duration = time::Duration::days(7);

fn note_of(note: Option<&str>) -> Result<Option<String>> {
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) if n.chars().count() > 500 => Err(Error::invalid(
            "note",
            "Keep the note under 500 characters.",
        )),
        Some(n) => Ok(Some(n.to_string())),
    }
}

impl Services {
    pub async fn operator_access(&self, p: &Principal) -> Result<OperatorAccess> {
        if p.key.is_some() {
            return Ok(OperatorAccess::No);
        }
        let mut r = self.read().await?;
        if !r.is_operator(p.identity_id).await? {
            return Ok(OperatorAccess::No);
        }
        // set up, and used at this login (a trusted browser skips the second step)
        if !r.second_factor_status(p.identity_id).await?.enabled() {
            return Ok(OperatorAccess::NeedsTwoStep);
        }
        if !p.amr.iter().any(|a| a == "mfa") {
            return Ok(OperatorAccess::UseSecondStep);
        }
        Ok(OperatorAccess::Yes)
    }

    /// NotFound unless `p` is an operator with two-step verification.
    async fn require_operator(&self, p: &Principal) -> Result<()> {
        match self.operator_access(p).await? {
            OperatorAccess::Yes => Ok(()),
            _ => Err(Error::NotFound),
        }
    }

    /// Who acts: an operator in the console (checked: NotFound otherwise), or the CLI.
    async fn acting_as<'a>(&self, by: Option<&'a Principal>) -> Result<Actor<'a>> {
        match by {
            Some(p) => {
                self.require_operator(p).await?;
                Ok(Actor::Support(p))
            }
            None => Ok(Actor::Operator),
        }
    }

    /// CLI: make the ID with this email an operator.
    pub async fn add_operator(&self, ctx: &Ctx, email: &str) -> Result<Identity> {
        let e = Email::parse(email)?;
        let mut tx = self.begin().await?;
        let identity = tx
            .find_identity_by_email(e.normalized())
            .await?
            .ok_or(Error::NotFound)?;
        if tx.add_operator(identity.id, ctx.now, "cli").await? {
            self.audit(
                &mut *tx,
                ctx,
                None,
                Actor::Operator,
                "operator.added",
                Some(identity.email.to_string()),
                json!({}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(identity)
    }

    /// CLI: make the ID with this email an operator, or, when there is no such ID, email an
    /// invitation to create one (and become an operator with it).
    pub async fn invite_operator(&self, ctx: &Ctx, email: &str) -> Result<OperatorInvited> {
        let e = Email::parse(email)?;
        if self
            .read()
            .await?
            .find_identity_by_email(e.normalized())
            .await?
            .is_some()
        {
            return Ok(OperatorInvited::Added(Box::new(
                self.add_operator(ctx, email).await?,
            )));
        }
        let token = crate::token::new_token();
        let mut tx = self.begin().await?;
        // one live invitation per email
        tx.void_operator_invites(e.as_str(), ctx.now).await?;
        tx.insert_operator_invite(&OperatorInvite {
            token_hash: crate::token::hash_token(&token),
            email: e.clone(),
            created_at: ctx.now,
            expires_at: ctx.now + OPERATOR_INVITE_TTL,
            used_at: None,
        })
        .await?;
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &e,
            Mail::OperatorInvitation {
                expires_at: ctx.now + OPERATOR_INVITE_TTL,
            },
            Some(token.clone()),
        ))
        .await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Operator,
            "operator.invited",
            Some(e.to_string()),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(OperatorInvited::Invited { email: e, token })
    }

    /// The live operator invitation with this token, and whether an ID has its email.
    pub async fn operator_invite(&self, ctx: &Ctx, token: &str) -> Result<(OperatorInvite, bool)> {
        if token.len() > 64 {
            return Err(Error::LinkInvalid);
        }
        let mut r = self.read().await?;
        let i = r
            .find_operator_invite(&crate::token::hash_token(token))
            .await?
            .filter(|i| i.used_at.is_none() && ctx.now < i.expires_at)
            .ok_or(Error::LinkInvalid)?;
        let exists = r
            .find_identity_by_email(i.email.normalized())
            .await?
            .is_some();
        Ok((i, exists))
    }

    /// Accept an operator invitation by creating the ID it names; ends logged in.
    pub async fn accept_operator_invite_new(
        &self,
        ctx: &Ctx,
        token: &str,
        form: super::NewIdentityForm,
    ) -> Result<super::LoggedIn> {
        self.throttle(ctx, super::Throttled::Accept).await?;
        let (invite, exists) = self.operator_invite(ctx, token).await?;
        if exists {
            return Err(Error::IdExists);
        }
        let identity = self.new_identity(ctx, &invite.email, &form).await?;
        let mut tx = self.begin().await?;
        if !tx.use_operator_invite(&invite.token_hash, ctx.now).await? {
            return Err(Error::LinkInvalid);
        }
        tx.insert_identity(&identity).await.map_err(|e| match e {
            crate::error::StoreError::Unique => Error::IdExists,
            e => e.into(),
        })?;
        if let Some(v) = &identity.terms_version {
            tx.accept_terms(identity.id, v, ctx.now).await?;
        }
        tx.add_operator(identity.id, ctx.now, "invitation").await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Identity(&identity),
            "operator.joined",
            Some(identity.email.to_string()),
            json!({"new_id": true}),
        )
        .await?;
        let li = self
            .start_session(&mut *tx, ctx, &identity, None, &["pwd"])
            .await?;
        tx.commit().await?;
        Ok(li)
    }

    /// Accept an operator invitation with the logged-in ID it names.
    pub async fn accept_operator_invite(
        &self,
        ctx: &Ctx,
        p: &Principal,
        token: &str,
    ) -> Result<()> {
        let (invite, _) = self.operator_invite(ctx, token).await?;
        if p.key.is_some() || p.email.normalized() != invite.email.normalized() {
            return Err(Error::WrongIdentity);
        }
        let mut tx = self.begin().await?;
        if !tx.use_operator_invite(&invite.token_hash, ctx.now).await? {
            return Err(Error::LinkInvalid);
        }
        tx.add_operator(p.identity_id, ctx.now, "invitation")
            .await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Id(p),
            "operator.joined",
            Some(p.email.to_string()),
            json!({"new_id": false}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// CLI: the ID with this email is no longer an operator (NotFound if it was not one).
    pub async fn remove_operator(&self, ctx: &Ctx, email: &str) -> Result<()> {
        let e = Email::parse(email)?;
        let mut tx = self.begin().await?;
        let identity = tx
            .find_identity_by_email(e.normalized())
            .await?
            .ok_or(Error::NotFound)?;
        tx.void_operator_invites(e.as_str(), ctx.now).await?;
        if !tx.remove_operator(identity.id).await? {
            return Err(Error::NotFound);
        }
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Operator,
            "operator.removed",
            Some(identity.email.to_string()),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_operators(&self) -> Result<Vec<(Email, OffsetDateTime)>> {
        Ok(self.read().await?.list_operators().await?)
    }

    /// Apps by App ID, name, or a member's email (`None`: the first apps by name).
    pub async fn operator_find_apps(
        &self,
        p: Option<&Principal>,
        q: Option<&str>,
    ) -> Result<Vec<App>> {
        self.acting_as(p).await?;
        let mut r = self.read().await?;
        let q = q.and_then(super::search_text);
        match q.as_deref() {
            None => Ok(r.list_apps(200).await?),
            Some(q) if q.contains('@') => {
                let Ok(e) = Email::parse(q) else {
                    return Ok(Vec::new());
                };
                let Some(i) = r.find_identity_by_email(e.normalized()).await? else {
                    return Ok(Vec::new());
                };
                Ok(r.list_memberships(i.id)
                    .await?
                    .into_iter()
                    .map(|(a, _)| a)
                    .collect())
            }
            Some(q) => Ok(r.search_apps(q, 100).await?),
        }
    }

    /// The console's page of one app.
    pub async fn operator_app(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
    ) -> Result<OperatorAppView> {
        self.require_operator(p).await?;
        let (app, summary, ledger) = self.app_overview(ctx, app_id).await?;
        let mut r = self.read().await?;
        let members = r
            .list_members(
                app_id,
                &MemberQuery {
                    filter: MemberFilter::ActiveInvited,
                    search: None,
                    after: None,
                    limit: 200,
                },
            )
            .await?;
        let seat_requests = r.list_seat_requests(app_id).await?;
        let audit = r.list_audit(app_id, &AuditFilter::default(), 50).await?;
        let suspended_at = r.app_suspended_at(app_id).await?;
        Ok(OperatorAppView {
            app,
            summary,
            ledger,
            members,
            seat_requests,
            audit,
            suspended_at,
        })
    }

    /// Pending seat requests of every app, oldest first, with their app.
    pub async fn operator_seat_queue(&self, p: &Principal) -> Result<Vec<(SeatRequest, App)>> {
        self.require_operator(p).await?;
        let mut r = self.read().await?;
        let mut out = Vec::new();
        // each app read once, however many of its requests wait
        let mut apps: std::collections::HashMap<AppId, Option<App>> = Default::default();
        for req in r.list_all_seat_requests(1000).await? {
            if req.status != SeatRequestStatus::Pending {
                continue;
            }
            let app = match apps.get(&req.app_id) {
                Some(known) => known.clone(),
                None => {
                    let app = r.get_app(&req.app_id).await?;
                    apps.insert(req.app_id.clone(), app.clone());
                    app
                }
            };
            if let Some(app) = app {
                out.push((req, app));
            }
        }
        out.sort_by_key(|(r, _)| (r.created_at, r.id.0));
        Ok(out)
    }

    /// Answer a seat request (console: `by` is the operator; CLI: `None`). The request is
    /// closed in the same transaction as the seats are added, and the admin who asked is
    /// emailed the outcome with the note.
    pub async fn answer_seat_request(
        &self,
        ctx: &Ctx,
        by: Option<&Principal>,
        app_id: &AppId,
        request: SeatRequestId,
        answer: SeatAnswer,
        note: Option<&str>,
    ) -> Result<(App, SeatRequest)> {
        let actor = self.acting_as(by).await?;
        let note = note_of(note)?;
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let mut r = match tx.get_seat_request(request).await? {
            Some(r) if &r.app_id == app_id => r,
            _ => {
                return Err(Error::invalid(
                    "request",
                    format!("no seat request {request} in app {app_id}"),
                ));
            }
        };
        if r.status != SeatRequestStatus::Pending {
            return Err(Error::invalid(
                "request",
                format!("seat request {request} was already {}", r.status.as_str()),
            ));
        }
        r.decided_at = Some(ctx.now);
        let (action, granted) = match answer {
            SeatAnswer::Grant { quantity, kind } => {
                let quantity = quantity.unwrap_or(r.quantity);
                let why = super::seats::LedgerWhy {
                    note: note.clone(),
                    request: Some(r.id),
                };
                app = self
                    .add_seats_in(&mut *tx, ctx, app_id, quantity, kind, by, why)
                    .await?;
                r.status = SeatRequestStatus::Granted;
                r.granted_quantity = Some(quantity);
                ("seats.request_granted", Some(quantity))
            }
            SeatAnswer::Decline => {
                r.status = SeatRequestStatus::Declined;
                ("seats.request_declined", None)
            }
        };
        if !tx.close_seat_request(&r).await? {
            return Err(Error::invalid(
                "request",
                format!("seat request {request} was answered meanwhile"),
            ));
        }
        if let Some(admin) = tx.get_identity(r.requested_by).await? {
            tx.enqueue(&OutboxMessage::new(
                ctx.now,
                &admin.email,
                Mail::SeatRequestAnswered {
                    first_name: admin.first_name.clone(),
                    app_name: app.name.clone(),
                    app_id: app_id.clone(),
                    asked: r.quantity,
                    granted,
                    note: note.clone(),
                },
                None,
            ))
            .await?;
        }
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            actor,
            action,
            None,
            json!({"request": r.id, "asked": r.quantity, "granted": granted, "note": note}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok((app, r))
    }

    /// Console: add complimentary seats directly, with an optional note (why) for the ledger.
    pub async fn operator_grant_seats(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        quantity: i64,
        note: Option<&str>,
    ) -> Result<App> {
        self.require_operator(p).await?;
        let why = super::seats::LedgerWhy {
            note: note_of(note)?,
            request: None,
        };
        self.add_seats(
            ctx,
            app_id,
            quantity,
            SeatEntryKind::Complimentary,
            Some(p),
            why,
        )
        .await
    }

    /// Suspend (`true`) or resume an app: while suspended its members get 403
    /// `app_suspended` on every page and API route of the app, with keys and tokens too.
    pub async fn set_app_suspended(
        &self,
        ctx: &Ctx,
        by: Option<&Principal>,
        app_id: &AppId,
        suspended: bool,
    ) -> Result<()> {
        let actor = self.acting_as(by).await?;
        let mut tx = self.begin().await?;
        tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        tx.set_app_suspended(app_id, suspended.then_some(ctx.now))
            .await?;
        let action = if suspended {
            "app.suspended"
        } else {
            "app.resumed"
        };
        self.audit(&mut *tx, ctx, Some(app_id), actor, action, None, json!({}))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What support sees of the ID with this email.
    pub async fn operator_id(
        &self,
        ctx: &Ctx,
        by: Option<&Principal>,
        email: &str,
    ) -> Result<IdSupportView> {
        self.acting_as(by).await?;
        let e = Email::parse(email).map_err(|_| Error::NotFound)?;
        let mut r = self.read().await?;
        let identity = r
            .find_identity_by_email(e.normalized())
            .await?
            .ok_or(Error::NotFound)?;
        let two_step = r.second_factor_status(identity.id).await?.enabled();
        let apps = r.list_memberships(identity.id).await?;
        Ok(IdSupportView {
            locked: identity.lockout.is_locked(ctx.now),
            identity,
            two_step,
            apps,
        })
    }

    /// Lift an ID's lockout (its failure count starts again).
    pub async fn operator_unlock(
        &self,
        ctx: &Ctx,
        by: Option<&Principal>,
        email: &str,
    ) -> Result<Identity> {
        let actor = self.acting_as(by).await?;
        let e = Email::parse(email).map_err(|_| Error::NotFound)?;
        let mut tx = self.begin().await?;
        let mut identity = tx
            .lock_identity_by_email(e.normalized())
            .await?
            .ok_or(Error::NotFound)?;
        identity.lockout.unlock();
        tx.update_lockout(identity.id, &identity.lockout).await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            actor,
            "id.unlocked",
            Some(identity.email.to_string()),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(identity)
    }

    /// End every session of an ID. Returns how many ended.
    pub async fn operator_end_sessions(
        &self,
        ctx: &Ctx,
        by: Option<&Principal>,
        email: &str,
    ) -> Result<u64> {
        let actor = self.acting_as(by).await?;
        let e = Email::parse(email).map_err(|_| Error::NotFound)?;
        let mut tx = self.begin().await?;
        let identity = tx
            .find_identity_by_email(e.normalized())
            .await?
            .ok_or(Error::NotFound)?;
        let n = tx
            .delete_sessions_except(identity.id, SessionId::new())
            .await?;
        // and the applications it signed in to
        self.end_identity_grants(&mut *tx, ctx, identity.id).await?;
        self.audit(
            &mut *tx,
            ctx,
            None,
            actor,
            "id.sessions_ended",
            Some(identity.email.to_string()),
            json!({"sessions": n}),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Console: reset an ID's second factors (see [`Services::operator_reset_two_step`]).
    pub async fn support_reset_two_step(
        &self,
        ctx: &Ctx,
        p: &Principal,
        email: &str,
    ) -> Result<Identity> {
        let actor = self.acting_as(Some(p)).await?;
        self.reset_two_step_as(ctx, actor, email).await
    }

    /// Console: register an OpenID Connect client (the secret is shown once).
    pub async fn support_create_client(
        &self,
        ctx: &Ctx,
        p: &Principal,
        req: super::NewClient,
    ) -> Result<super::RegisteredClient> {
        let actor = self.acting_as(Some(p)).await?;
        self.create_client_as(ctx, actor, req).await
    }

    /// Console: the registered OpenID Connect clients.
    pub async fn support_clients(&self, p: &Principal) -> Result<Vec<OidcClient>> {
        self.require_operator(p).await?;
        self.oidc_clients().await
    }

    /// Console: create an app and invite its first admin.
    pub async fn support_create_app(
        &self,
        ctx: &Ctx,
        p: &Principal,
        req: super::CreateApp,
    ) -> Result<(App, super::IssuedInvitation)> {
        self.require_operator(p).await?;
        self.create_app_with(ctx, req, None, Some(p)).await
    }

    /// 403 `app_suspended` when the app is suspended (service keys; member access reads it with
    /// the membership, `member_access`).
    pub(super) async fn check_not_suspended(
        q: &mut dyn crate::store::Queries,
        app_id: &AppId,
    ) -> Result<()> {
        if q.app_suspended_at(app_id).await?.is_some() {
            return Err(Error::AppSuspended);
        }
        Ok(())
    }
}
