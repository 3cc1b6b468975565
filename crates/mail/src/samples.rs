//! One sample of every message (two where a template has branches worth checking), for
//! `roster mail preview` and for checking templates when the server starts.

use roster_core::model::*;
use roster_core::types::{AppId, Email, MemberKind};
use time::{Duration, OffsetDateTime};

fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn msg(to: &str, mail: Mail, secret: Option<&str>) -> Option<OutboxMessage> {
    let to = Email::parse(to).ok()?;
    Some(OutboxMessage::new(
        at(),
        &to,
        mail,
        secret.map(String::from),
    ))
}

fn event(name: &str, email: &str, change: Option<MemberChange>) -> NotificationEvent {
    NotificationEvent {
        member_name: name.into(),
        member_email: email.into(),
        by: Some("Mike Weiss".into()),
        partner: false,
        change,
        at: at(),
    }
}

/// The names of the messages (as `mail preview` takes them).
pub fn names() -> Vec<&'static str> {
    let mut v: Vec<_> = all().into_iter().map(|(n, _)| n).collect();
    v.dedup();
    v
}

/// (template name, sample message), every message at least once.
pub fn all() -> Vec<(&'static str, OutboxMessage)> {
    let Ok(app_id) = AppId::parse("ab123") else {
        return Vec::new();
    };
    let app = || app_id.clone();
    let invitation = |kind, admin| Mail::Invitation {
        kind,
        app_name: "Acme Plumbing".into(),
        app_id: app(),
        inviter_name: "Mike Weiss".into(),
        invitee_first_name: Some("Rohit".into()),
        admin,
        expires_at: at() + Duration::days(7),
    };
    let notification = |kind, events: Vec<NotificationEvent>, more| Mail::AdminNotification {
        app_name: "Acme Plumbing".into(),
        app_id: app(),
        kind,
        events,
        more,
        unsubscribe: "sample-token".into(),
    };
    let mut v: Vec<(&'static str, Option<OutboxMessage>)> = vec![
        (
            "invitation",
            msg(
                "rohit@example.com",
                invitation(MemberKind::User, true),
                Some("sample-token"),
            ),
        ),
        (
            "invitation",
            msg(
                "pat@example.com",
                invitation(MemberKind::Partner, false),
                Some("sample-token"),
            ),
        ),
        (
            "invitation_reminder",
            msg(
                "rohit@example.com",
                Mail::InvitationReminder {
                    kind: MemberKind::User,
                    app_name: "Acme Plumbing".into(),
                    app_id: app(),
                    inviter_name: "Mike Weiss".into(),
                    invitee_first_name: None,
                    admin: false,
                    expires_at: at() + Duration::days(1),
                },
                Some("sample-token"),
            ),
        ),
        (
            "account_info",
            msg(
                "mike@example.com",
                Mail::AccountInformation {
                    first_name: "Mike".into(),
                    email: "mike@example.com".into(),
                    app_name: "Acme Plumbing".into(),
                    app_id: app(),
                },
                None,
            ),
        ),
    ];
    for kind in NotificationKind::ALL {
        let change = match kind {
            NotificationKind::AdminChanged => Some(MemberChange::MadeAdmin),
            NotificationKind::StatusChanged => Some(MemberChange::Deactivated),
            _ => None,
        };
        v.push((
            "admin_notification",
            msg(
                "mike@example.com",
                notification(
                    kind,
                    vec![event("Rohit Rao", "rohit@example.com", change)],
                    0,
                ),
                None,
            ),
        ));
    }
    v.push((
        "admin_notification",
        msg(
            "mike@example.com",
            notification(
                NotificationKind::Invited,
                vec![
                    event("Rohit Rao", "rohit@example.com", None),
                    event("Ana Silva", "ana@example.com", None),
                ],
                498,
            ),
            None,
        ),
    ));
    for change in [
        MemberChange::MadeAdmin,
        MemberChange::AdminRemoved,
        MemberChange::Deactivated,
        MemberChange::Reactivated,
    ] {
        v.push((
            "member_notice",
            msg(
                "rohit@example.com",
                Mail::MemberNotice {
                    first_name: Some("Rohit".into()),
                    app_name: "Acme Plumbing".into(),
                    app_id: app(),
                    change,
                    by: "Mike Weiss".into(),
                },
                None,
            ),
        ));
    }
    for (set_password_until, secret) in [
        (
            Some(at() + Duration::days(14)),
            Some("Zq3kXw9mP2tLr8vN4bY6cH1dF5gJ7aS0eU2iO4qW6xE"),
        ),
        (None, None),
    ] {
        v.push((
            "provisioned",
            msg(
                "rohit@example.com",
                Mail::Provisioned {
                    first_name: Some("Rohit".into()),
                    app_name: "Acme Plumbing".into(),
                    app_id: app(),
                    set_password_until,
                },
                secret,
            ),
        ));
    }
    v.push((
        "operator_invitation",
        msg(
            "sam@roster.example",
            Mail::OperatorInvitation {
                expires_at: at() + Duration::days(7),
            },
            Some("Zq3kXw9mP2tLr8vN4bY6cH1dF5gJ7aS0eU2iO4qW6xE"),
        ),
    ));
    for (granted, note) in [
        (Some(2), None),
        (
            None,
            Some("Your plan includes 10 seats; buy more on the Users page."),
        ),
    ] {
        v.push((
            "seat_request_answered",
            msg(
                "mike@example.com",
                Mail::SeatRequestAnswered {
                    first_name: "Mike".into(),
                    app_name: "Acme Plumbing".into(),
                    app_id: app(),
                    asked: 2,
                    granted,
                    note: note.map(str::to_string),
                },
                None,
            ),
        ));
    }
    v.push((
        "seat_receipt",
        msg(
            "mike@example.com",
            Mail::SeatReceipt {
                first_name: "Mike".into(),
                app_name: "Acme Plumbing".into(),
                app_id: app(),
                quantity: 3,
                seats_total: 8,
                reference: "0190a1b2c3d4".into(),
                at: at(),
            },
            None,
        ),
    ));
    for locked in [false, true] {
        v.push((
            "password_reset",
            msg(
                "rohit@example.com",
                Mail::PasswordReset {
                    first_name: "Rohit".into(),
                    expires_at: at() + Duration::minutes(30),
                    locked,
                },
                Some("sample-token 12345678"),
            ),
        ));
    }
    v.push((
        "email_change",
        msg(
            "rohit@new.example",
            Mail::EmailChange {
                first_name: "Rohit".into(),
                new_email: "rohit@new.example".into(),
                expires_at: at() + Duration::hours(24),
            },
            Some("sample-token"),
        ),
    ));
    for event in [
        SecurityEvent::PasswordChanged,
        SecurityEvent::PasswordReset,
        SecurityEvent::EmailChangeRequested,
        SecurityEvent::EmailChanged,
        SecurityEvent::SecondFactorEnabled,
        SecurityEvent::SecondFactorDisabled,
        SecurityEvent::SecondFactorsReset,
        SecurityEvent::NewSignIn,
    ] {
        v.push((
            "security_notice",
            msg(
                "rohit@example.com",
                Mail::SecurityNotice {
                    first_name: "Rohit".into(),
                    event,
                    detail: Some("rohit@new.example".into()),
                },
                None,
            ),
        ));
    }
    v.push((
        "login_code",
        msg(
            "rohit@example.com",
            Mail::LoginCode {
                first_name: "Rohit".into(),
            },
            Some("123456"),
        ),
    ));
    v.into_iter()
        .filter_map(|(n, m)| m.map(|m| (n, m)))
        .collect()
}
