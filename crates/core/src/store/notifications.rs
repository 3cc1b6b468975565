//! Admin notification preferences, the app's mail settings and invitation reminders.

use super::StoreResult;
use crate::model::*;
use crate::types::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait NotificationQueries: Send {
    /// The member's stored choices in the app (a kind not listed is on).
    async fn notification_prefs(
        &mut self,
        app_id: &AppId,
        member: MemberId,
    ) -> StoreResult<Vec<NotificationPref>>;
    async fn set_notification_pref(
        &mut self,
        app_id: &AppId,
        member: MemberId,
        kind: NotificationKind,
        enabled: bool,
    ) -> StoreResult<()>;
    /// Members of the app who turned `kind` off.
    async fn notifications_off(
        &mut self,
        app_id: &AppId,
        kind: NotificationKind,
    ) -> StoreResult<Vec<MemberId>>;
    /// Whether the app sends invitation reminders (default: yes).
    async fn invitation_reminders_on(&mut self, app_id: &AppId) -> StoreResult<bool>;
    async fn set_invitation_reminders(&mut self, app_id: &AppId, on: bool) -> StoreResult<()>;
    /// Pending invitations that expire in `(now, until]`, were made at least `min_age` before
    /// `made_before`, have no reminder yet and whose app sends reminders; locked for
    /// the caller where the backend can (others skip them).
    async fn due_reminders(
        &mut self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        made_before: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<Invitation>>;
    /// Record the reminder of an invitation with its second token; false if it had one already.
    async fn insert_reminder(
        &mut self,
        invitation: InvitationId,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
}
