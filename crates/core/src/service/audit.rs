//! Journey: audit — an app's audit log for its admins, and an ID's own security activity.

use super::{Principal, Services};
use crate::error::Result;
use crate::model::*;
use crate::types::*;

/// Most events one page lists.
pub const AUDIT_PAGE_MAX: u32 = 200;

impl Services {
    /// Admin: the app's events (and its Active members' failed logins and locks), newest
    /// first, narrowed by `filter`.
    pub async fn list_audit(
        &self,
        p: &Principal,
        app_id: &AppId,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEvent>> {
        self.require_admin(p, app_id).await?;
        Ok(self
            .read()
            .await?
            .list_audit(app_id, filter, limit.clamp(1, AUDIT_PAGE_MAX))
            .await?)
    }

    /// The caller's own ID's events in every app (its logins, failures, resets, second
    /// factors, email changes, sessions ended), newest first.
    pub async fn security_activity(
        &self,
        p: &Principal,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEvent>> {
        let mut f = filter.clone();
        f.actor = Some(p.identity_id);
        Ok(self
            .read()
            .await?
            .list_identity_audit(&f, limit.clamp(1, AUDIT_PAGE_MAX))
            .await?)
    }
}
