//! The services: one method per journey step. Each write is one transaction that also writes its
//! audit row and its outbox message, so either everything happens or nothing does.

use crate::error::{Error, FieldError, Result, StoreError};
use crate::model::*;
use crate::password::{HashCost, Hasher, PasswordPolicy, PasswordPreset};
use crate::store::{Queries, Store, Tx};
use crate::token::{hash_token, new_token};
use crate::types::*;
use serde::Serialize;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

/// Whether the security question is asked when an ID is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionMode {
    #[default]
    Required,
    Optional,
    Off,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub product_name: String,
    pub invitation_ttl: Duration,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub terms_version: String,
    pub password_preset: PasswordPreset,
    pub security_question: QuestionMode,
    pub hash_cost: HashCost,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            product_name: "Roster".into(),
            invitation_ttl: Duration::days(7),
            session_idle: Duration::hours(12),
            session_absolute: Duration::days(14),
            terms_version: "2026-11-01".into(),
            password_preset: PasswordPreset::Seed,
            security_question: QuestionMode::Required,
            hash_cost: HashCost::default(),
        }
    }
}

/// Per-request facts passed in by the caller: the time and who is asking from where.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub now: OffsetDateTime,
    pub client_addr: Option<String>,
}

impl Ctx {
    pub fn at(now: OffsetDateTime) -> Self {
        Ctx {
            now,
            client_addr: None,
        }
    }
}

/// The authenticated ID behind a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub identity_id: IdentityId,
    pub email: Email,
    pub first_name: String,
    pub last_name: Option<String>,
    pub session_id: SessionId,
    pub session_app: Option<AppId>,
}

impl Principal {
    pub fn display_name(&self) -> String {
        match &self.last_name {
            Some(l) => format!("{} {}", self.first_name, l),
            None => self.first_name.clone(),
        }
    }
}

/// Who did something, for the audit log.
enum Actor<'a> {
    Id(&'a Principal),
    Identity(&'a Identity),
    Operator,
    Anonymous(&'a str),
}

#[derive(Debug, Clone)]
pub struct CreateApp {
    pub name: String,
    pub seats: i64,
    pub admin_email: String,
    pub admin_first_name: String,
    pub admin_last_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InviteRequest {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub admin: bool,
    pub kind: MemberKind,
}

#[derive(Debug, Clone)]
pub struct NewIdentityForm {
    pub first_name: String,
    pub last_name: Option<String>,
    pub password: String,
    pub security_question: Option<String>,
    pub security_answer: Option<String>,
    pub accept_terms: bool,
}

/// An invitation together with its one-time token (only ever known right after creation).
#[derive(Debug, Clone)]
pub struct IssuedInvitation {
    pub member: Member,
    pub invitation: Invitation,
    pub token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InvitationInfo {
    pub app_name: String,
    pub app_id: AppId,
    pub inviter_name: String,
    pub email: String,
    pub kind: MemberKind,
    pub admin: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub id_exists: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A new session: the token goes to the client once; only its hash is stored.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub token: String,
    pub identity_id: IdentityId,
    pub app_id: Option<AppId>,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct Me {
    pub identity: Identity,
    pub apps: Vec<(App, Member)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Deactivate,
    Reactivate,
}

pub struct Services {
    store: Arc<dyn Store>,
    hasher: Hasher,
    policy: PasswordPolicy,
    settings: Settings,
    mail_kick: Arc<Notify>,
}

fn invalid(errors: Vec<FieldError>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// Collect field errors from several parses, so the caller hears of all of them at once.
fn collect<T>(errors: &mut Vec<FieldError>, r: Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Invalid(mut e)) => {
            errors.append(&mut e);
            None
        }
        Err(_) => None,
    }
}

impl Services {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Self> {
        Ok(Services {
            store,
            hasher: Hasher::new(settings.hash_cost)?,
            policy: PasswordPolicy::from_preset(settings.password_preset),
            settings,
            mail_kick: Arc::new(Notify::new()),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.policy
    }
    /// Notified after every commit that queued mail; the outbox worker waits on it.
    pub fn mail_kick(&self) -> Arc<Notify> {
        self.mail_kick.clone()
    }

    async fn begin(&self) -> Result<Box<dyn Tx>> {
        Ok(self.store.begin().await?)
    }
    async fn read(&self) -> Result<Box<dyn Queries>> {
        Ok(self.store.read().await?)
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app: Option<&AppId>,
        actor: Actor<'_>,
        action: &str,
        target: Option<String>,
        details: serde_json::Value,
    ) -> Result<()> {
        let (actor_id, actor_label) = match actor {
            Actor::Id(p) => (Some(p.identity_id), p.email.to_string()),
            Actor::Identity(i) => (Some(i.id), i.email.to_string()),
            Actor::Operator => (None, "operator".to_string()),
            Actor::Anonymous(label) => (None, label.to_string()),
        };
        tx.insert_audit(&AuditEvent {
            id: uuid::Uuid::now_v7(),
            at: ctx.now,
            app_id: app.cloned(),
            actor_id,
            actor_label,
            action: action.to_string(),
            target,
            client_addr: ctx.client_addr.clone(),
            details,
        })
        .await?;
        Ok(())
    }

    // ------------------------------------------------------------------ apps and seats

    /// Operator: create an app and invite its first admin (who takes the first seat).
    pub async fn create_app(&self, ctx: &Ctx, req: CreateApp) -> Result<(App, IssuedInvitation)> {
        self.create_app_with(ctx, req, None).await
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
        self.create_app_with(ctx, req, Some(hash_token(token)))
            .await
    }

    async fn create_app_with(
        &self,
        ctx: &Ctx,
        req: CreateApp,
        setup_token: Option<Vec<u8>>,
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
            })
            .await?;
            self.audit(
                &mut *tx,
                ctx,
                Some(&app_id),
                Actor::Operator,
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
                )
                .await?;
            tx.commit().await?;
            self.mail_kick.notify_one();
            return Ok((app, issued));
        }
        Err(Error::Internal("could not find a free App ID".into()))
    }

    /// Operator: add complimentary seats (or purchased ones, e.g. after an offline payment).
    pub async fn grant_seats(
        &self,
        ctx: &Ctx,
        app_id: &AppId,
        quantity: i64,
        kind: SeatEntryKind,
    ) -> Result<App> {
        self.add_seats(ctx, app_id, quantity, kind, None).await
    }

    async fn add_seats(
        &self,
        ctx: &Ctx,
        app_id: &AppId,
        quantity: i64,
        kind: SeatEntryKind,
        by: Option<&Principal>,
    ) -> Result<App> {
        if !(1..=1000).contains(&quantity) {
            return Err(Error::invalid(
                "quantity",
                "Buy between 1 and 1000 seats at a time.",
            ));
        }
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        match kind {
            SeatEntryKind::Complimentary => app.seats_complimentary += quantity,
            _ => app.seats_purchased += quantity,
        }
        tx.update_app_seats(&app).await?;
        tx.insert_seat_entry(&SeatLedgerEntry {
            id: uuid::Uuid::now_v7(),
            app_id: app_id.clone(),
            at: ctx.now,
            kind,
            quantity,
            actor: by.map(|p| p.identity_id),
        })
        .await?;
        let actor = by.map(Actor::Id).unwrap_or(Actor::Operator);
        let action = match kind {
            SeatEntryKind::Complimentary => "seats.granted",
            _ => "seats.purchased",
        };
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            actor,
            action,
            None,
            serde_json::json!({"quantity": quantity}),
        )
        .await?;
        tx.commit().await?;
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
            .add_seats(ctx, app_id, quantity, SeatEntryKind::Purchase, Some(p))
            .await?;
        self.summary_of(app, ctx.now).await
    }

    async fn summary_of(&self, mut app: App, now: OffsetDateTime) -> Result<SeatSummary> {
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

    /// Operator view of an app.
    pub async fn app_overview(
        &self,
        ctx: &Ctx,
        app_id: &AppId,
    ) -> Result<(App, SeatSummary, Vec<SeatLedgerEntry>)> {
        let mut r = self.read().await?;
        let app = r.get_app(app_id).await?.ok_or(Error::NotFound)?;
        let ledger = r.list_seat_entries(app_id).await?;
        drop(r);
        let summary = self.summary_of(app.clone(), ctx.now).await?;
        Ok((app, summary, ledger))
    }

    // ------------------------------------------------------------------ authorisation

    /// The principal's Active membership of the app; anything else is NotFound (no probing).
    pub async fn require_member(&self, p: &Principal, app_id: &AppId) -> Result<Member> {
        let mut r = self.read().await?;
        Self::member_in(&mut *r, p, app_id).await
    }

    async fn member_in(q: &mut dyn Queries, p: &Principal, app_id: &AppId) -> Result<Member> {
        match q.find_member_by_identity(app_id, p.identity_id).await? {
            Some(m) if m.status == MemberStatus::Active => Ok(m),
            _ => Err(Error::NotFound),
        }
    }

    pub async fn require_admin(&self, p: &Principal, app_id: &AppId) -> Result<Member> {
        let m = self.require_member(p, app_id).await?;
        if m.admin { Ok(m) } else { Err(Error::NotFound) }
    }

    // ------------------------------------------------------------------ invitations

    #[allow(clippy::too_many_arguments)]
    async fn issue_invitation(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app: &mut App,
        inviter: Option<&Principal>,
        inviter_name: &str,
        email: Email,
        first_name: Option<String>,
        last_name: Option<String>,
        admin: bool,
        kind: MemberKind,
        send_email: bool,
    ) -> Result<IssuedInvitation> {
        let released = tx.expire_due_invitations(&app.app_id, ctx.now).await?;
        app.seats_held -= released;

        let existing = tx
            .find_member_by_email(&app.app_id, email.normalized())
            .await?;
        let is_new = existing.is_none();
        let mut member = match existing {
            Some(m) => match m.status {
                MemberStatus::Active | MemberStatus::Inactive => return Err(Error::AlreadyMember),
                MemberStatus::Invited if tx.find_pending_invitation(m.id).await?.is_some() => {
                    return Err(Error::AlreadyInvited);
                }
                // an expired invitation or a revoked one / a member that left: invite afresh
                MemberStatus::Invited | MemberStatus::Removed => Member {
                    email: email.clone(),
                    first_name: first_name.clone().or(m.first_name.clone()),
                    last_name: last_name.clone().or(m.last_name.clone()),
                    kind,
                    admin,
                    status: MemberStatus::Invited,
                    ..m
                },
            },
            None => Member {
                id: MemberId::new(),
                app_id: app.app_id.clone(),
                identity_id: None,
                email: email.clone(),
                first_name: first_name.clone(),
                last_name: last_name.clone(),
                kind,
                admin,
                status: MemberStatus::Invited,
                holds_seat: false,
                created_at: ctx.now,
                last_login_at: None,
            },
        };
        self.hold_seat_if_needed(app, &mut member)?;
        tx.update_app_seats(app).await?;
        if is_new {
            tx.insert_member(&member).await.map_err(|e| match e {
                StoreError::Unique => Error::AlreadyInvited,
                e => e.into(),
            })?;
        } else {
            tx.update_member(&member).await?;
        }

        let token = new_token();
        let invitation = Invitation {
            id: InvitationId::new(),
            app_id: app.app_id.clone(),
            member_id: member.id,
            email: email.clone(),
            kind,
            admin,
            token_hash: hash_token(&token),
            status: InvitationStatus::Pending,
            inviter_id: inviter.map(|p| p.identity_id),
            inviter_name: inviter_name.to_string(),
            created_at: ctx.now,
            expires_at: ctx.now + self.settings.invitation_ttl,
            ended_at: None,
        };
        tx.insert_invitation(&invitation).await?;
        if send_email {
            tx.enqueue(&OutboxMessage::new(
                ctx.now,
                &email,
                Mail::Invitation {
                    kind,
                    app_name: app.name.clone(),
                    app_id: app.app_id.clone(),
                    inviter_name: inviter_name.to_string(),
                    invitee_first_name: first_name,
                    admin,
                    expires_at: invitation.expires_at,
                },
                Some(token.clone()),
            ))
            .await?;
        }
        let actor = inviter.map(Actor::Id).unwrap_or(Actor::Operator);
        self.audit(
            tx,
            ctx,
            Some(&app.app_id),
            actor,
            "invitation.sent",
            Some(email.to_string()),
            serde_json::json!({"kind": kind.as_str(), "admin": admin, "invitation": invitation.id}),
        )
        .await?;
        Ok(IssuedInvitation {
            member,
            invitation,
            token,
        })
    }

    /// Seat accounting for a member about to be Invited or Active.
    fn hold_seat_if_needed(&self, app: &mut App, member: &mut Member) -> Result<()> {
        let should = Member::should_hold_seat(member.kind, member.status);
        if should && !member.holds_seat {
            app.check_seat_free()?;
            app.seats_held += 1;
            member.holds_seat = true;
        } else if !should && member.holds_seat {
            app.seats_held -= 1;
            member.holds_seat = false;
        }
        Ok(())
    }

    /// Admin: invite a user (holds a seat) or a partner (no seat).
    pub async fn invite(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        req: InviteRequest,
    ) -> Result<IssuedInvitation> {
        self.require_admin(p, app_id).await?;
        let mut errors = Vec::new();
        let email = collect(&mut errors, Email::parse(&req.email));
        let first = match req.kind {
            MemberKind::User => collect(
                &mut errors,
                Name::parse("first_name", req.first_name.as_deref().unwrap_or("")).map(Some),
            ),
            MemberKind::Partner => collect(
                &mut errors,
                Name::parse_optional("first_name", req.first_name.as_deref()),
            ),
        };
        let last = collect(
            &mut errors,
            Name::parse_optional("last_name", req.last_name.as_deref()),
        );
        invalid(errors)?;
        let (Some(email), Some(first), Some(last)) = (email, first, last) else {
            return Err(Error::Internal("validation".into()));
        };

        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let issued = self
            .issue_invitation(
                &mut *tx,
                ctx,
                &mut app,
                Some(p),
                &p.display_name(),
                email,
                first.map(String::from),
                last.map(String::from),
                req.admin,
                req.kind,
                true,
            )
            .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(issued)
    }

    /// Admin: send a pending or expired invitation again with a new token; the old link dies.
    pub async fn resend(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
    ) -> Result<IssuedInvitation> {
        self.reissue(ctx, p, app_id, id, true).await
    }

    /// Admin: a fresh link to copy and hand over (no email); the previous link dies, because
    /// only a hash of each link is stored.
    pub async fn new_link(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
    ) -> Result<IssuedInvitation> {
        self.reissue(ctx, p, app_id, id, false).await
    }

    async fn reissue(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
        send_email: bool,
    ) -> Result<IssuedInvitation> {
        self.require_admin(p, app_id).await?;
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let released = tx.expire_due_invitations(app_id, ctx.now).await?;
        app.seats_held -= released;
        let old = tx
            .get_invitation(app_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        let member = tx
            .get_member(app_id, old.member_id)
            .await?
            .ok_or(Error::NotFound)?;
        if member.status != MemberStatus::Invited {
            return Err(match old.status {
                InvitationStatus::Accepted => Error::InvitationUsed,
                _ => Error::InvitationRevoked,
            });
        }
        match old.status {
            InvitationStatus::Pending => {
                tx.set_invitation_status(
                    old.id,
                    InvitationStatus::Pending,
                    InvitationStatus::Replaced,
                    ctx.now,
                )
                .await?;
            }
            InvitationStatus::Expired => {
                // only the member's latest invitation can be renewed
                if tx.find_pending_invitation(member.id).await?.is_some() {
                    return Err(Error::AlreadyInvited);
                }
            }
            other => {
                other.transition(InvitationStatus::Pending)?;
            }
        }
        // mark the member as not invited so issue_invitation renews it (seat re-checked)
        let mut m = member.clone();
        m.status = MemberStatus::Removed;
        tx.update_member(&m).await?;
        // a seat the member still holds is kept; an expired one is checked and taken again
        let issued = self
            .issue_invitation(
                &mut *tx,
                ctx,
                &mut app,
                Some(p),
                &p.display_name(),
                member.email.clone(),
                member.first_name.clone(),
                member.last_name.clone(),
                old.admin,
                old.kind,
                send_email,
            )
            .await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            if send_email {
                "invitation.resent"
            } else {
                "invitation.link_copied"
            },
            Some(member.email.to_string()),
            serde_json::json!({"old": old.id, "new": issued.invitation.id}),
        )
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(issued)
    }

    /// Admin: revoke a pending invitation; its seat is freed and its link dies.
    pub async fn revoke(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: InvitationId,
    ) -> Result<()> {
        self.require_admin(p, app_id).await?;
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let inv = tx
            .get_invitation(app_id, id)
            .await?
            .ok_or(Error::NotFound)?;
        inv.effective_status(ctx.now)
            .transition(InvitationStatus::Revoked)
            .or_else(|e| match e {
                // an expired invitation can still be withdrawn from the list
                Error::InvitationExpired => Ok(InvitationStatus::Revoked),
                e => Err(e),
            })?;
        tx.set_invitation_status(inv.id, inv.status, InvitationStatus::Revoked, ctx.now)
            .await?;
        let mut member = tx
            .get_member(app_id, inv.member_id)
            .await?
            .ok_or(Error::NotFound)?;
        if member.status == MemberStatus::Invited {
            member.status = MemberStatus::Removed;
            self.hold_seat_if_needed(&mut app, &mut member)?;
            tx.update_member(&member).await?;
            tx.update_app_seats(&app).await?;
        }
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "invitation.revoked",
            Some(inv.email.to_string()),
            serde_json::json!({"invitation": inv.id}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest invitation of each invited member in `members` (for row actions).
    pub async fn current_invitations(
        &self,
        p: &Principal,
        app_id: &AppId,
        members: &[Member],
    ) -> Result<Vec<Invitation>> {
        let mut r = self.read().await?;
        if !Self::member_in(&mut *r, p, app_id).await?.admin {
            return Err(Error::NotFound);
        }
        let mut out = Vec::new();
        for m in members.iter().filter(|m| m.status == MemberStatus::Invited) {
            if let Some(i) = r.latest_invitation(m.id).await? {
                out.push(i);
            }
        }
        Ok(out)
    }

    pub async fn list_invitations(
        &self,
        p: &Principal,
        app_id: &AppId,
        q: &InvitationQuery,
    ) -> Result<Vec<Invitation>> {
        self.require_admin(p, app_id).await?;
        Ok(self.read().await?.list_invitations(app_id, q).await?)
    }

    /// Public: what an invitation link is about. Unusable links say why.
    pub async fn invitation_info(&self, ctx: &Ctx, token: &str) -> Result<InvitationInfo> {
        let mut r = self.read().await?;
        let inv = r
            .find_invitation_by_token(&hash_token(token))
            .await?
            .ok_or(Error::NotFound)?;
        inv.check_usable(ctx.now)?;
        let app = r.get_app(&inv.app_id).await?.ok_or(Error::NotFound)?;
        let member = r.get_member(&inv.app_id, inv.member_id).await?;
        let id_exists = r
            .find_identity_by_email(inv.email.normalized())
            .await?
            .is_some();
        Ok(InvitationInfo {
            app_name: app.name,
            app_id: app.app_id,
            inviter_name: inv.inviter_name,
            email: inv.email.to_string(),
            kind: inv.kind,
            admin: inv.admin,
            first_name: member.as_ref().and_then(|m| m.first_name.clone()),
            last_name: member.and_then(|m| m.last_name),
            id_exists,
            expires_at: inv.expires_at,
        })
    }

    /// Accept by creating a new ID. Ends logged in, inside the app.
    pub async fn accept_new(
        &self,
        ctx: &Ctx,
        token: &str,
        form: NewIdentityForm,
    ) -> Result<LoggedIn> {
        let token_hash = hash_token(token);
        let inv = {
            let mut r = self.read().await?;
            let inv = r
                .find_invitation_by_token(&token_hash)
                .await?
                .ok_or(Error::NotFound)?;
            inv.check_usable(ctx.now)?;
            if r.find_identity_by_email(inv.email.normalized())
                .await?
                .is_some()
            {
                return Err(Error::IdExists);
            }
            inv
        };

        let mut errors = Vec::new();
        let first = collect(&mut errors, Name::parse("first_name", &form.first_name));
        let last = collect(
            &mut errors,
            Name::parse_optional("last_name", form.last_name.as_deref()),
        );
        let question = match self.settings.security_question {
            QuestionMode::Off => None,
            mode => {
                let q = form.security_question.as_deref().unwrap_or("").trim();
                let a = form.security_answer.as_deref().unwrap_or("");
                if q.is_empty() && mode == QuestionMode::Optional {
                    None
                } else {
                    let q = collect(&mut errors, SecurityQuestion::parse(q));
                    let a = collect(&mut errors, normalize_security_answer(a));
                    q.zip(a)
                }
            }
        };
        if !form.accept_terms {
            errors.push(FieldError {
                field: "accept_terms",
                message: "You must agree to the Terms Agreement.".into(),
            });
        }
        let password = self.policy.check(&form.password, inv.email.local_part());
        invalid(errors)?;
        let password = password?;
        let (Some(first), Some(last)) = (first, last) else {
            return Err(Error::Internal("validation".into()));
        };

        let password_hash = self.hasher.hash(password.expose().to_string()).await?;
        let answer_hash = match &question {
            Some((_, a)) => Some(self.hasher.hash(a.clone()).await?),
            None => None,
        };
        let identity = Identity {
            id: IdentityId::new(),
            email: inv.email.clone(),
            first_name: first.to_string(),
            last_name: last.map(String::from),
            password_hash,
            security_question: question.map(|(q, _)| q),
            security_answer_hash: answer_hash,
            terms_version: Some(self.settings.terms_version.clone()),
            terms_accepted_at: Some(ctx.now),
            created_at: ctx.now,
            lockout: Lockout::default(),
        };

        let mut tx = self.begin().await?;
        tx.insert_identity(&identity).await.map_err(|e| match e {
            StoreError::Unique => Error::IdExists,
            e => e.into(),
        })?;
        self.audit(
            &mut *tx,
            ctx,
            Some(&inv.app_id),
            Actor::Identity(&identity),
            "id.created",
            Some(identity.email.to_string()),
            serde_json::json!({"terms_version": identity.terms_version}),
        )
        .await?;
        let logged_in = self.join_app(&mut *tx, ctx, &token_hash, &identity).await?;
        tx.commit().await?;
        Ok(logged_in)
    }

    /// Accept with an existing ID: either the caller is already logged in as the invited ID, or
    /// the ID's password is given. Ends logged in, inside the app.
    pub async fn accept_existing(
        &self,
        ctx: &Ctx,
        token: &str,
        current: Option<&Principal>,
        password: Option<String>,
    ) -> Result<LoggedIn> {
        let token_hash = hash_token(token);
        let inv = {
            let mut r = self.read().await?;
            let inv = r
                .find_invitation_by_token(&token_hash)
                .await?
                .ok_or(Error::NotFound)?;
            inv.check_usable(ctx.now)?;
            inv
        };
        let identity = match (current, password) {
            (Some(p), _) if p.email.normalized() != inv.email.normalized() => {
                return Err(Error::WrongIdentity);
            }
            (Some(p), _) => self
                .read()
                .await?
                .get_identity(p.identity_id)
                .await?
                .ok_or(Error::Unauthenticated)?,
            (None, Some(pw)) => {
                let exists = self
                    .read()
                    .await?
                    .find_identity_by_email(inv.email.normalized())
                    .await?
                    .is_some();
                if !exists {
                    return Err(Error::NoId);
                }
                let identity = self
                    .check_password(ctx, inv.email.normalized(), &pw)
                    .await?;
                let mut tx = self.begin().await?;
                tx.update_lockout(identity.id, &Lockout::default()).await?;
                tx.commit().await?;
                identity
            }
            (None, None) => return Err(Error::invalid("password", "Enter your password.")),
        };
        let mut tx = self.begin().await?;
        let logged_in = self.join_app(&mut *tx, ctx, &token_hash, &identity).await?;
        tx.commit().await?;
        Ok(logged_in)
    }

    /// Inside a transaction: attach the invitation to `identity`, activate the member, start a
    /// session bound to the app.
    async fn join_app(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        token_hash: &[u8],
        identity: &Identity,
    ) -> Result<LoggedIn> {
        let inv = tx
            .find_invitation_by_token(token_hash)
            .await?
            .ok_or(Error::NotFound)?;
        let mut app = tx.lock_app(&inv.app_id).await?.ok_or(Error::NotFound)?;
        // re-check under the lock: a concurrent accept, revoke or resend wins once
        inv.check_usable(ctx.now)?;
        if identity.email.normalized() != inv.email.normalized() {
            return Err(Error::WrongIdentity);
        }
        if let Some(m) = tx.find_member_by_identity(&inv.app_id, identity.id).await?
            && m.id != inv.member_id
            && m.status != MemberStatus::Removed
        {
            return Err(Error::AlreadyMember);
        }
        let mut member = tx
            .get_member(&inv.app_id, inv.member_id)
            .await?
            .ok_or(Error::NotFound)?;
        if !tx
            .set_invitation_status(
                inv.id,
                InvitationStatus::Pending,
                InvitationStatus::Accepted,
                ctx.now,
            )
            .await?
        {
            return Err(Error::InvitationUsed);
        }
        member.identity_id = Some(identity.id);
        member.status = MemberStatus::Active;
        member.first_name = Some(identity.first_name.clone());
        member.last_name = identity.last_name.clone();
        member.email = identity.email.clone();
        member.last_login_at = Some(ctx.now);
        self.hold_seat_if_needed(&mut app, &mut member)?;
        tx.update_member(&member).await?;
        tx.update_app_seats(&app).await?;
        self.audit(
            tx,
            ctx,
            Some(&inv.app_id),
            Actor::Identity(identity),
            "invitation.accepted",
            Some(identity.email.to_string()),
            serde_json::json!({"invitation": inv.id, "kind": inv.kind.as_str(), "admin": member.admin}),
        )
        .await?;
        self.start_session(tx, ctx, identity, Some(inv.app_id.clone()))
            .await
    }

    // ------------------------------------------------------------------ login and sessions

    /// Verify a password under the lockout rules. Unknown IDs cost a dummy verification and get
    /// the same error as a wrong password.
    async fn check_password(
        &self,
        ctx: &Ctx,
        email_norm: &str,
        password: &str,
    ) -> Result<Identity> {
        // 1. reserve the attempt (serialised on the ID's row)
        let mut tx = self.begin().await?;
        let found = tx.lock_identity_by_email(email_norm).await?;
        let Some(mut identity) = found else {
            drop(tx);
            let _ = self.hasher.verify(password.to_string(), None).await?;
            let mut tx = self.begin().await?;
            self.audit(
                &mut *tx,
                ctx,
                None,
                Actor::Anonymous(email_norm),
                "login.failed",
                None,
                serde_json::json!({"reason": "unknown_id"}),
            )
            .await?;
            tx.commit().await?;
            return Err(Error::InvalidCredentials);
        };
        let allowed = identity.lockout.begin_attempt(ctx.now);
        tx.update_lockout(identity.id, &identity.lockout).await?;
        tx.commit().await?;
        if !allowed {
            // same work and same answer as a wrong password
            let _ = self.hasher.verify(password.to_string(), None).await?;
            let mut tx = self.begin().await?;
            self.audit(
                &mut *tx,
                ctx,
                None,
                Actor::Identity(&identity),
                "login.failed",
                None,
                serde_json::json!({"reason": "locked"}),
            )
            .await?;
            tx.commit().await?;
            return Err(Error::InvalidCredentials);
        }
        // 2. verify off the runtime, no transaction held
        let ok = self
            .hasher
            .verify(password.to_string(), Some(identity.password_hash.clone()))
            .await?;
        // 3. a success is recorded by the caller, in the transaction that starts the session
        //    (`Lockout::default()`); a failure is recorded here
        if ok {
            return Ok(identity);
        }
        let mut tx = self.begin().await?;
        let mut current = tx
            .lock_identity_by_email(email_norm)
            .await?
            .ok_or(Error::InvalidCredentials)?;
        current.lockout.record_failure(ctx.now);
        self.audit(
            &mut *tx,
            ctx,
            None,
            Actor::Identity(&current),
            "login.failed",
            None,
            serde_json::json!({"reason": "wrong_password", "locked": current.lockout.is_locked(ctx.now)}),
        )
        .await?;
        tx.update_lockout(current.id, &current.lockout).await?;
        tx.commit().await?;
        Err(Error::InvalidCredentials)
    }

    async fn start_session(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        identity: &Identity,
        app_id: Option<AppId>,
    ) -> Result<LoggedIn> {
        let token = new_token();
        let session = Session {
            id: SessionId::new(),
            token_hash: hash_token(&token),
            identity_id: identity.id,
            app_id: app_id.clone(),
            created_at: ctx.now,
            last_seen_at: ctx.now,
            expires_at: ctx.now + self.settings.session_absolute,
            client_addr: ctx.client_addr.clone(),
        };
        tx.insert_session(&session).await?;
        self.audit(
            tx,
            ctx,
            app_id.as_ref(),
            Actor::Identity(identity),
            "login.succeeded",
            None,
            serde_json::json!({"session": session.id}),
        )
        .await?;
        Ok(LoggedIn {
            token,
            identity_id: identity.id,
            app_id,
            expires_at: session.expires_at,
        })
    }

    /// Log in with email and password; optionally straight into one app (the session is then
    /// bound to it and ends if the member is deactivated there).
    pub async fn login(
        &self,
        ctx: &Ctx,
        email: &str,
        password: &str,
        app_id: Option<&AppId>,
    ) -> Result<LoggedIn> {
        let email_norm = email.trim().to_lowercase();
        if email_norm.is_empty() || email_norm.len() > Email::MAX_LEN || password.len() > 1024 {
            let _ = self.hasher.verify(password.to_string(), None).await?;
            return Err(Error::InvalidCredentials);
        }
        let identity = self.check_password(ctx, &email_norm, password).await?;
        let mut tx = self.begin().await?;
        tx.update_lockout(identity.id, &Lockout::default()).await?;
        let mut bound = None;
        if let Some(app_id) = app_id
            && let Some(m) = tx.find_member_by_identity(app_id, identity.id).await?
            && m.status == MemberStatus::Active
        {
            tx.set_last_login(m.id, ctx.now).await?;
            bound = Some(app_id.clone());
        }
        let li = self.start_session(&mut *tx, ctx, &identity, bound).await?;
        tx.commit().await?;
        Ok(li)
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.delete_session(&hash_token(token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Who holds this session token (checking idle and absolute timeouts).
    pub async fn authenticate(&self, ctx: &Ctx, token: &str) -> Result<Principal> {
        if token.is_empty() || token.len() > 128 {
            return Err(Error::Unauthenticated);
        }
        let hash = hash_token(token);
        let mut r = self.read().await?;
        let (s, identity) = r
            .find_session_identity(&hash)
            .await?
            .ok_or(Error::Unauthenticated)?;
        drop(r);
        if ctx.now >= s.expires_at || ctx.now - s.last_seen_at > self.settings.session_idle {
            let _ = self.logout(token).await;
            return Err(Error::Unauthenticated);
        }
        // refresh the idle clock at most once a minute: reads stay reads
        if ctx.now - s.last_seen_at > Duration::minutes(1) {
            let mut tx = self.begin().await?;
            tx.touch_session(s.id, ctx.now).await?;
            tx.commit().await?;
        }
        Ok(Principal {
            identity_id: identity.id,
            email: identity.email,
            first_name: identity.first_name,
            last_name: identity.last_name,
            session_id: s.id,
            session_app: s.app_id,
        })
    }

    pub async fn me(&self, p: &Principal) -> Result<Me> {
        let mut r = self.read().await?;
        let identity = r
            .get_identity(p.identity_id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let apps = r.list_memberships(p.identity_id).await?;
        Ok(Me { identity, apps })
    }

    // ------------------------------------------------------------------ members

    pub async fn list_members(
        &self,
        p: &Principal,
        app_id: &AppId,
        q: &MemberQuery,
    ) -> Result<Vec<Member>> {
        let mut r = self.read().await?;
        if !Self::member_in(&mut *r, p, app_id).await?.admin {
            return Err(Error::NotFound);
        }
        let mut q = q.clone();
        q.limit = q.limit.clamp(1, 200);
        if let Some(s) = &q.search {
            let s = s.trim().to_lowercase();
            q.search = if s.is_empty() {
                None
            } else {
                Some(s.chars().take(100).collect())
            };
        }
        Ok(r.list_members(app_id, &q).await?)
    }

    pub async fn get_member(&self, p: &Principal, app_id: &AppId, id: MemberId) -> Result<Member> {
        self.require_admin(p, app_id).await?;
        self.read()
            .await?
            .get_member(app_id, id)
            .await?
            .filter(|m| m.status != MemberStatus::Removed)
            .ok_or(Error::NotFound)
    }

    /// Admin: grant or remove the admin flag. The last active admin cannot be demoted.
    pub async fn set_admin(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: MemberId,
        admin: bool,
    ) -> Result<Member> {
        self.require_admin(p, app_id).await?;
        let mut tx = self.begin().await?;
        tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let mut m = tx
            .get_member(app_id, id)
            .await?
            .filter(|m| m.status != MemberStatus::Removed)
            .ok_or(Error::NotFound)?;
        if m.admin == admin {
            return Ok(m);
        }
        if !admin && m.status == MemberStatus::Active && tx.count_active_admins(app_id).await? <= 1
        {
            return Err(Error::LastAdmin);
        }
        m.admin = admin;
        tx.update_member(&m).await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "member.role_changed",
            Some(m.email.to_string()),
            serde_json::json!({"member": m.id, "admin": admin}),
        )
        .await?;
        tx.commit().await?;
        Ok(m)
    }

    /// Admin: deactivate (frees the seat, ends the member's sessions in the app) or reactivate
    /// (needs a free seat for a user).
    pub async fn set_status(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: MemberId,
        change: StatusChange,
        records_to: Option<MemberId>,
    ) -> Result<Member> {
        self.require_admin(p, app_id).await?;
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let mut m = tx
            .get_member(app_id, id)
            .await?
            .filter(|m| m.status != MemberStatus::Removed)
            .ok_or(Error::NotFound)?;
        let action = match change {
            StatusChange::Deactivate => {
                if m.status != MemberStatus::Active {
                    return Err(Error::InvalidTransition(
                        "only an Active member can be deactivated",
                    ));
                }
                if m.admin && tx.count_active_admins(app_id).await? <= 1 {
                    return Err(Error::LastAdmin);
                }
                if let Some(r) = records_to {
                    let ok = tx
                        .get_member(app_id, r)
                        .await?
                        .is_some_and(|rm| rm.status == MemberStatus::Active && rm.id != m.id);
                    if !ok {
                        return Err(Error::invalid(
                            "records_to",
                            "Choose an active member to receive the records.",
                        ));
                    }
                }
                m.status = MemberStatus::Inactive;
                if let Some(identity) = m.identity_id {
                    tx.delete_sessions_in_app(identity, app_id).await?;
                }
                "member.deactivated"
            }
            StatusChange::Reactivate => {
                if m.status != MemberStatus::Inactive {
                    return Err(Error::InvalidTransition(
                        "only an Inactive member can be reactivated",
                    ));
                }
                m.status = MemberStatus::Active;
                let released = tx.expire_due_invitations(app_id, ctx.now).await?;
                app.seats_held -= released;
                "member.reactivated"
            }
        };
        self.hold_seat_if_needed(&mut app, &mut m)?;
        tx.update_member(&m).await?;
        tx.update_app_seats(&app).await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            action,
            Some(m.email.to_string()),
            serde_json::json!({"member": m.id, "records_to": records_to}),
        )
        .await?;
        tx.commit().await?;
        Ok(m)
    }

    pub async fn list_audit(
        &self,
        p: &Principal,
        app_id: &AppId,
        limit: u32,
    ) -> Result<Vec<AuditEvent>> {
        self.require_admin(p, app_id).await?;
        Ok(self
            .read()
            .await?
            .list_audit(app_id, limit.clamp(1, 500))
            .await?)
    }
}

/// The IANA time zones offered in the profile (from the tz database's zone1970.tab, plus UTC).
pub fn time_zones() -> &'static [&'static str] {
    static ZONES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        include_str!("../data/time-zones.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    });
    &ZONES
}

/// Largest accepted logo or photo.
pub const MAX_LOGO_BYTES: usize = 2 * 1024 * 1024;

/// The image type by content (never by name): PNG, JPEG or WebP with a plausible header.
pub fn sniff_image(b: &[u8]) -> Option<&'static str> {
    if b.len() >= 33
        && b.starts_with(b"\x89PNG\r\n\x1a\n")
        && &b[12..16] == b"IHDR"
        && b[16..20] != [0, 0, 0, 0]
        && b[20..24] != [0, 0, 0, 0]
    {
        return Some("image/png");
    }
    if b.len() >= 4 && b.starts_with(&[0xFF, 0xD8, 0xFF]) && b.ends_with(&[0xFF, 0xD9]) {
        return Some("image/jpeg");
    }
    if b.len() >= 16
        && &b[0..4] == b"RIFF"
        && &b[8..12] == b"WEBP"
        && matches!(&b[12..16], b"VP8 " | b"VP8L" | b"VP8X")
    {
        return Some("image/webp");
    }
    None
}

/// What the initial setup's first step changes.
#[derive(Debug, Clone, Default)]
pub struct ProfileDetails {
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub time_zone: Option<String>,
}

impl Services {
    /// The caller's membership and profile in the app (an empty profile before setup).
    pub async fn profile(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
    ) -> Result<(Member, Profile)> {
        let mut r = self.read().await?;
        let m = Self::member_in(&mut *r, p, app_id).await?;
        let profile = r
            .get_profile(m.id)
            .await?
            .unwrap_or_else(|| Profile::empty(m.id, ctx.now));
        Ok((m, profile))
    }

    async fn update_profile(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        change: impl FnOnce(&mut Member, &mut Profile) -> Result<()>,
    ) -> Result<Profile> {
        let mut tx = self.begin().await?;
        let mut m = Self::member_in(&mut *tx, p, app_id).await?;
        let mut profile = tx
            .get_profile(m.id)
            .await?
            .unwrap_or_else(|| Profile::empty(m.id, ctx.now));
        change(&mut m, &mut profile)?;
        profile.updated_at = ctx.now;
        tx.update_member(&m).await?;
        tx.save_profile(&profile).await?;
        tx.commit().await?;
        Ok(profile)
    }

    /// Step 1: name, phone, time zone.
    pub async fn save_details(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        d: ProfileDetails,
    ) -> Result<Profile> {
        let mut errors = Vec::new();
        let first = collect(&mut errors, Name::parse("first_name", &d.first_name));
        let last = collect(
            &mut errors,
            Name::parse_optional("last_name", d.last_name.as_deref()),
        );
        let phone = d
            .phone
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(ph) = &phone
            && (ph.len() > 40
                || ph.chars().filter(|c| c.is_ascii_digit()).count() < 3
                || !ph
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().".contains(c)))
        {
            errors.push(FieldError {
                field: "phone",
                message: "Use digits, spaces and + - ( ) only, like +1 555 0100.".into(),
            });
        }
        let tz = d.time_zone.filter(|s| !s.is_empty());
        if let Some(z) = &tz
            && !time_zones().contains(&z.as_str())
        {
            errors.push(FieldError {
                field: "time_zone",
                message: "Choose a time zone from the list.".into(),
            });
        }
        invalid(errors)?;
        let (Some(first), Some(last)) = (first, last) else {
            return Err(Error::Internal("validation".into()));
        };
        self.update_profile(ctx, p, app_id, move |m, prof| {
            m.first_name = Some(first.to_string());
            m.last_name = last.map(String::from);
            prof.phone = phone;
            prof.time_zone = tz;
            Ok(())
        })
        .await
    }

    /// Step 2: the email signature, HTML and plain text.
    pub async fn save_signature(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        html: String,
        text: String,
    ) -> Result<Profile> {
        let mut errors = Vec::new();
        if html.len() > 10_000 {
            errors.push(FieldError {
                field: "signature_html",
                message: "At most 10,000 characters.".into(),
            });
        }
        if text.len() > 5_000 {
            errors.push(FieldError {
                field: "signature_text",
                message: "At most 5,000 characters.".into(),
            });
        }
        invalid(errors)?;
        self.update_profile(ctx, p, app_id, move |_, prof| {
            prof.signature_html = Some(html).filter(|s| !s.trim().is_empty());
            prof.signature_text = Some(text).filter(|s| !s.trim().is_empty());
            Ok(())
        })
        .await
    }

    /// Step 3: a logo or photo, PNG, JPEG or WebP by content, at most 2 MB. No SVG.
    pub async fn save_logo(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        bytes: Vec<u8>,
    ) -> Result<Profile> {
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(Error::invalid("logo", "The image is larger than 2 MB."));
        }
        let Some(mime) = sniff_image(&bytes) else {
            return Err(Error::invalid(
                "logo",
                "Upload a PNG, JPEG or WebP image (SVG and other files are not accepted).",
            ));
        };
        self.update_profile(ctx, p, app_id, move |_, prof| {
            prof.logo = Some(Logo {
                mime: mime.to_string(),
                bytes,
            });
            Ok(())
        })
        .await
    }

    /// The end of the initial setup: marks it done and, the first time, sends the Account
    /// Information email.
    pub async fn finish_setup(&self, ctx: &Ctx, p: &Principal, app_id: &AppId) -> Result<()> {
        let mut tx = self.begin().await?;
        let m = Self::member_in(&mut *tx, p, app_id).await?;
        let mut profile = tx
            .get_profile(m.id)
            .await?
            .unwrap_or_else(|| Profile::empty(m.id, ctx.now));
        if profile.setup_done {
            return Ok(());
        }
        profile.setup_done = true;
        profile.updated_at = ctx.now;
        tx.save_profile(&profile).await?;
        let app = tx.get_app(app_id).await?.ok_or(Error::NotFound)?;
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &p.email,
            Mail::AccountInformation {
                first_name: m.first_name.clone().unwrap_or_else(|| p.first_name.clone()),
                email: p.email.to_string(),
                app_name: app.name,
                app_id: app_id.clone(),
            },
            None,
        ))
        .await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(())
    }
}

impl Services {
    /// Admin: ask support for complimentary seats (recorded; an operator grants or declines).
    pub async fn request_seats(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        quantity: i64,
    ) -> Result<SeatRequest> {
        self.require_admin(p, app_id).await?;
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

    pub async fn list_seat_requests(
        &self,
        p: &Principal,
        app_id: &AppId,
    ) -> Result<Vec<SeatRequest>> {
        self.require_admin(p, app_id).await?;
        Ok(self.read().await?.list_seat_requests(app_id).await?)
    }
}
