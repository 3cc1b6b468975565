//! Journey: notifications — what the app's admins are told by email (J5: "X was invited by Y",
//! "X joined", role and status changes, "X left"), each admin's choice of which kinds they get,
//! one-click unsubscribe, the notice to the member concerned, and invitation reminders.

use super::{Actor, Ctx, Principal, Services};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::Queries;
use crate::token::{constant_time_eq, hash_token, new_token};
use crate::types::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use time::{Duration, OffsetDateTime};

/// An admin's notification choices in one app, and the app's own mail settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotificationSettings {
    /// Every kind, on or off, for the caller.
    pub kinds: Vec<NotificationPref>,
    /// Whether the app sends invitation reminders (one setting for the whole app).
    pub invitation_reminders: bool,
}

/// What a one-click unsubscribe link is about.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unsubscription {
    pub app_name: String,
    pub app_id: AppId,
    pub kind: NotificationKind,
    pub email: String,
}

/// How long before expiry an invitation reminder goes out, and the least age an invitation
/// must have to get one (a one-day invitation is not "reminded" an hour after it was sent).
const REMIND_BEFORE: Duration = Duration::days(1);
const REMIND_MIN_AGE: Duration = Duration::hours(36);

impl Services {
    /// Tell the app's Active admins (except `except`, who did it) who keep `kind` on. Events
    /// of one kind for one admin that happen within the grouping window are merged into one
    /// message (written in the caller's transaction).
    pub(super) async fn notify_admins(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app: &App,
        kind: NotificationKind,
        event: NotificationEvent,
        except: Option<IdentityId>,
    ) -> Result<()> {
        self.notify_admins_of(tx, ctx, app, kind, std::slice::from_ref(&event), 0, except)
            .await
    }

    /// [`Services::notify_admins`] of several events at once (a bulk invitation): the first
    /// ones listed, `more` counted.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn notify_admins_of(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app: &App,
        kind: NotificationKind,
        new_events: &[NotificationEvent],
        new_more: u32,
        except: Option<IdentityId>,
    ) -> Result<()> {
        if new_events.is_empty() {
            return Ok(());
        }
        let off = tx.notifications_off(&app.app_id, kind).await?;
        let due = ctx.now + self.settings.notify_group_window;
        for admin in tx.list_active_admins(&app.app_id).await? {
            // not the admin who did it, nor the member it is about (they get their own notice)
            if off.contains(&admin.id)
                || (except.is_some() && admin.identity_id == except)
                || (new_events.len() == 1 && admin.email.as_str() == new_events[0].member_email)
            {
                continue;
            }
            let key = format!("notify:{}:{}", admin.id.0, kind.as_str());
            if let Some(mut waiting) = tx.waiting_in_group(&key).await?
                && let Mail::AdminNotification { events, more, .. } = &mut waiting.mail
            {
                for e in new_events {
                    if events.len() < MAX_LISTED_EVENTS {
                        events.push(e.clone());
                    } else {
                        *more = more.saturating_add(1);
                    }
                }
                *more = more.saturating_add(new_more);
                if tx.update_waiting_mail(waiting.id, &waiting.mail).await? {
                    continue;
                }
            }
            let listed = new_events.len().min(MAX_LISTED_EVENTS);
            let mail = Mail::AdminNotification {
                app_name: app.name.clone(),
                app_id: app.app_id.clone(),
                kind,
                events: new_events[..listed].to_vec(),
                more: new_more.saturating_add((new_events.len() - listed) as u32),
                unsubscribe: self.unsubscribe_token(&app.app_id, admin.id, kind),
            };
            tx.enqueue(&OutboxMessage::new(ctx.now, &admin.email, mail, None).grouped(key, due))
                .await?;
        }
        Ok(())
    }

    /// Tell a member that their role or status in the app changed (not optional).
    pub(super) async fn notify_member(
        &self,
        tx: &mut dyn Queries,
        ctx: &Ctx,
        app: &App,
        member: &Member,
        change: MemberChange,
        by: &str,
    ) -> Result<()> {
        if member.status == MemberStatus::Invited {
            return Ok(());
        }
        tx.enqueue(&OutboxMessage::new(
            ctx.now,
            &member.email,
            Mail::MemberNotice {
                first_name: member.first_name.clone(),
                app_name: app.name.clone(),
                app_id: app.app_id.clone(),
                change,
                by: by.to_string(),
            },
            None,
        ))
        .await?;
        Ok(())
    }

    /// A stateless token naming (app, member, kind), MAC'd under the server key: it can only
    /// turn that one kind off for that one admin.
    pub fn unsubscribe_token(
        &self,
        app_id: &AppId,
        member: MemberId,
        kind: NotificationKind,
    ) -> String {
        let body = format!(
            "{}.{}.{}",
            app_id.as_str(),
            member.0.simple(),
            kind.as_str()
        );
        let mac = self
            .settings
            .secret_key
            .mac(&[b"unsubscribe", body.as_bytes()]);
        format!(
            "{}.{}",
            B64.encode(body),
            B64.encode(&mac[..18.min(mac.len())])
        )
    }

    fn parse_unsubscribe(&self, token: &str) -> Result<(AppId, MemberId, NotificationKind)> {
        let (body, mac) = token.split_once('.').ok_or(Error::LinkInvalid)?;
        let body = B64.decode(body).map_err(|_| Error::LinkInvalid)?;
        let mac = B64.decode(mac).map_err(|_| Error::LinkInvalid)?;
        let expected = self.settings.secret_key.mac(&[b"unsubscribe", &body]);
        if mac.len() != 18 || !constant_time_eq(&mac, &expected[..18.min(expected.len())]) {
            return Err(Error::LinkInvalid);
        }
        let body = String::from_utf8(body).map_err(|_| Error::LinkInvalid)?;
        let mut parts = body.splitn(3, '.');
        let (Some(app), Some(member), Some(kind)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::LinkInvalid);
        };
        let app = AppId::parse(app).map_err(|_| Error::LinkInvalid)?;
        let member = uuid::Uuid::parse_str(member)
            .map(MemberId)
            .map_err(|_| Error::LinkInvalid)?;
        let kind = NotificationKind::parse(kind).ok_or(Error::LinkInvalid)?;
        Ok((app, member, kind))
    }

    /// What an unsubscribe link would turn off (the page shows it before the button).
    pub async fn unsubscribe_info(&self, token: &str) -> Result<Unsubscription> {
        Ok(self.resolve_unsubscribe(token).await?.0)
    }

    async fn resolve_unsubscribe(&self, token: &str) -> Result<(Unsubscription, MemberId)> {
        let (app_id, member_id, kind) = self.parse_unsubscribe(token)?;
        let mut q = self.read().await?;
        let app = q.get_app(&app_id).await?.ok_or(Error::LinkInvalid)?;
        let member = q
            .get_member(&app_id, member_id)
            .await?
            .ok_or(Error::LinkInvalid)?;
        let info = Unsubscription {
            app_name: app.name,
            app_id,
            kind,
            email: member.email.to_string(),
        };
        Ok((info, member_id))
    }

    /// One-click unsubscribe (RFC 8058): turn that kind off for that admin, no login needed.
    pub async fn unsubscribe(&self, ctx: &Ctx, token: &str) -> Result<Unsubscription> {
        let (info, member_id) = self.resolve_unsubscribe(token).await?;
        let mut tx = self.begin().await?;
        tx.set_notification_pref(&info.app_id, member_id, info.kind, false)
            .await?;
        self.audit(
            &mut *tx,
            ctx,
            Some(&info.app_id),
            Actor::Anonymous(&info.email),
            "notifications.unsubscribed",
            Some(info.email.clone()),
            serde_json::json!({"member": member_id, "kind": info.kind.as_str()}),
        )
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// Admin: the caller's own notification choices in the app and the app's reminder setting.
    pub async fn notification_settings(
        &self,
        p: &Principal,
        app_id: &AppId,
    ) -> Result<NotificationSettings> {
        let me = self.require_admin(p, app_id).await?;
        let mut q = self.read().await?;
        let stored = q.notification_prefs(app_id, me.id).await?;
        let kinds = NotificationKind::ALL
            .into_iter()
            .map(|kind| NotificationPref {
                kind,
                enabled: stored
                    .iter()
                    .find(|s| s.kind == kind)
                    .is_none_or(|s| s.enabled),
            })
            .collect();
        Ok(NotificationSettings {
            kinds,
            invitation_reminders: q.invitation_reminders_on(app_id).await?,
        })
    }

    /// Admin: change the caller's own choices (only the kinds named) and, optionally, the
    /// app's invitation reminders.
    pub async fn set_notification_settings(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        kinds: &[(NotificationKind, bool)],
        invitation_reminders: Option<bool>,
    ) -> Result<NotificationSettings> {
        let me = self.require_admin(p, app_id).await?;
        if p.person().is_none() && !kinds.is_empty() {
            return Err(Error::invalid(
                "kinds",
                "A service key gets no notifications; it can change the app's reminder setting only.",
            ));
        }
        let mut tx = self.begin().await?;
        tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        for (kind, on) in kinds {
            tx.set_notification_pref(app_id, me.id, *kind, *on).await?;
        }
        if let Some(on) = invitation_reminders {
            tx.set_invitation_reminders(app_id, on).await?;
        }
        self.audit(
            &mut *tx,
            ctx,
            Some(app_id),
            Actor::Id(p),
            "notifications.changed",
            None,
            serde_json::json!({
                "kinds": kinds.iter().map(|(k, on)| (k.as_str(), *on)).collect::<std::collections::BTreeMap<_, _>>(),
                "invitation_reminders": invitation_reminders,
            }),
        )
        .await?;
        tx.commit().await?;
        self.notification_settings(p, app_id).await
    }

    /// Send the reminders that are due at `now` (each invitation once, about a day before it
    /// expires, with a second link to the same invitation). Safe on several nodes at once.
    pub async fn send_due_reminders(&self, now: OffsetDateTime) -> Result<usize> {
        let mut sent = 0;
        loop {
            let mut tx = self.begin().await?;
            let due = tx
                .due_reminders(now, now + REMIND_BEFORE, now - REMIND_MIN_AGE, 50)
                .await?;
            if due.is_empty() {
                return Ok(sent);
            }
            for inv in &due {
                let token = new_token();
                if !tx.insert_reminder(inv.id, &hash_token(&token), now).await? {
                    continue;
                }
                let Some(app) = tx.get_app(&inv.app_id).await? else {
                    continue;
                };
                let member = tx.get_member(&inv.app_id, inv.member_id).await?;
                tx.enqueue(
                    &OutboxMessage::new(
                        now,
                        &inv.email,
                        Mail::InvitationReminder {
                            kind: inv.kind,
                            app_name: app.name.clone(),
                            app_id: app.app_id.clone(),
                            inviter_name: inv.inviter_name.clone(),
                            invitee_first_name: member.and_then(|m| m.first_name),
                            admin: inv.admin,
                            expires_at: inv.expires_at,
                        },
                        Some(token),
                    )
                    .for_invitation(inv.id),
                )
                .await?;
                sent += 1;
            }
            tx.commit().await?;
            self.mail_kick.notify_one();
        }
    }
}

/// The event of a member, as admins read it.
pub(super) fn event_of(
    m: &Member,
    by: Option<String>,
    change: Option<MemberChange>,
    at: OffsetDateTime,
) -> NotificationEvent {
    let name = match (&m.first_name, &m.last_name) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(f), None) => f.clone(),
        (None, Some(l)) => l.clone(),
        (None, None) => m.email.to_string(),
    };
    NotificationEvent {
        member_name: name,
        member_email: m.email.to_string(),
        by,
        partner: m.kind == MemberKind::Partner,
        change,
        at,
    }
}
