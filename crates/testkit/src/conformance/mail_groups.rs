//! Conformance stories for mail: a restarted node takes back its own claims (not another
//! node's); a message waiting in its group can be merged into until it is claimed; admin
//! notification choices and the app's reminder setting.

use super::t0;
use roster_core::model::*;
use roster_core::store::Store;
use roster_core::types::*;
use std::sync::Arc;
use time::Duration;

fn info(app: &str) -> Mail {
    Mail::AccountInformation {
        first_name: "Ada".into(),
        email: "claims@example.com".into(),
        app_name: "A".into(),
        app_id: AppId::parse(app).expect("id"),
    }
}

pub async fn a_restarted_node_takes_back_its_own_claims(store: Arc<dyn Store>) {
    let to = Email::parse("claims@example.com").expect("email");
    let mut tx = store.begin().await.expect("begin");
    for _ in 0..4 {
        tx.enqueue(&OutboxMessage::new(t0(), &to, info("cl123"), None))
            .await
            .expect("enqueue");
    }
    tx.commit().await.expect("commit");
    let lease = t0() + Duration::seconds(45);
    let mut tx = store.begin().await.expect("begin");
    let mine = tx
        .claim_outbox_as("node-a", t0(), lease, 2)
        .await
        .expect("claim");
    let theirs = tx
        .claim_outbox_as("node-b", t0(), lease, 2)
        .await
        .expect("claim");
    tx.commit().await.expect("commit");
    assert_eq!((mine.len(), theirs.len()), (2, 2));
    // node-a dies and restarts: its two are due at once, node-b's keep their lease
    let later = t0() + Duration::seconds(5);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.release_claims("node-a", later).await.expect("release"),
        2
    );
    let again = tx.claim_outbox(later, lease, 10).await.expect("claim");
    tx.commit().await.expect("commit");
    let mut ids: Vec<_> = again.iter().map(|m| m.id).collect();
    ids.sort_by_key(|i| i.0);
    let mut want: Vec<_> = mine.iter().map(|m| m.id).collect();
    want.sort_by_key(|i| i.0);
    assert_eq!(ids, want);
    // a message that failed and waits for its retry is nobody's claim any more
    let mut tx = store.begin().await.expect("begin");
    tx.fail_outbox(theirs[0].id, "451 later", Some(t0() + Duration::hours(1)))
        .await
        .expect("fail");
    assert_eq!(
        tx.release_claims("node-b", later).await.expect("release"),
        1
    );
    tx.commit().await.expect("commit");
}

pub async fn waiting_messages_merge_until_claimed(store: Arc<dyn Store>) {
    let to = Email::parse("group@example.com").expect("email");
    let key = "notify:test:invited".to_string();
    let due = t0() + Duration::seconds(30);
    let m = OutboxMessage::new(t0(), &to, info("gr123"), None).grouped(key.clone(), due);
    let mut tx = store.begin().await.expect("begin");
    tx.enqueue(&m).await.expect("enqueue");
    let w = tx
        .waiting_in_group(&key)
        .await
        .expect("find")
        .expect("waiting");
    assert_eq!(w.id, m.id);
    assert_eq!(w.group_key.as_deref(), Some(key.as_str()));
    assert!(
        tx.update_waiting_mail(m.id, &info("gr456"))
            .await
            .expect("merge")
    );
    tx.commit().await.expect("commit");
    // not due before its window ends; then claimed, and no longer open for merging
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.claim_outbox(t0(), t0() + Duration::seconds(45), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let got = tx
        .claim_outbox(due, due + Duration::seconds(45), 10)
        .await
        .expect("claim");
    assert_eq!(got.len(), 1);
    assert!(
        matches!(&got[0].mail, Mail::AccountInformation { app_id, .. } if app_id.as_str() == "gr456")
    );
    assert!(tx.waiting_in_group(&key).await.expect("find").is_none());
    assert!(
        !tx.update_waiting_mail(m.id, &info("gr789"))
            .await
            .expect("merge")
    );
    tx.commit().await.expect("commit");
}

pub async fn notification_choices_and_reminder_setting(store: Arc<dyn Store>) {
    let app_id = AppId::parse("np123").expect("id");
    let mut tx = store.begin().await.expect("begin");
    tx.insert_app(&App {
        app_id: app_id.clone(),
        name: "Prefs".into(),
        seats_purchased: 1,
        seats_complimentary: 0,
        seats_held: 0,
        created_at: t0(),
    })
    .await
    .expect("app");
    let member = Member {
        id: MemberId::new(),
        app_id: app_id.clone(),
        identity_id: None,
        email: Email::parse("np@example.com").expect("email"),
        first_name: None,
        last_name: None,
        kind: MemberKind::Partner,
        admin: true,
        status: MemberStatus::Invited,
        holds_seat: false,
        created_at: t0(),
        last_login_at: None,
    };
    tx.insert_member(&member).await.expect("member");
    assert!(
        tx.notification_prefs(&app_id, member.id)
            .await
            .expect("prefs")
            .is_empty()
    );
    assert!(tx.invitation_reminders_on(&app_id).await.expect("on"));
    tx.set_notification_pref(&app_id, member.id, NotificationKind::Joined, false)
        .await
        .expect("set");
    tx.set_notification_pref(&app_id, member.id, NotificationKind::Joined, false)
        .await
        .expect("set twice");
    tx.set_notification_pref(&app_id, member.id, NotificationKind::Left, true)
        .await
        .expect("set");
    tx.set_invitation_reminders(&app_id, false)
        .await
        .expect("off");
    tx.commit().await.expect("commit");
    let mut r = store.read().await.expect("read");
    let mut prefs = r
        .notification_prefs(&app_id, member.id)
        .await
        .expect("prefs");
    prefs.sort_by_key(|p| p.kind.as_str());
    assert_eq!(
        prefs,
        vec![
            NotificationPref {
                kind: NotificationKind::Joined,
                enabled: false
            },
            NotificationPref {
                kind: NotificationKind::Left,
                enabled: true
            },
        ]
    );
    assert_eq!(
        r.notifications_off(&app_id, NotificationKind::Joined)
            .await
            .expect("off"),
        vec![member.id]
    );
    assert!(
        r.notifications_off(&app_id, NotificationKind::Left)
            .await
            .expect("off")
            .is_empty()
    );
    assert!(!r.invitation_reminders_on(&app_id).await.expect("on"));
}
