//! Journey: SCIM 2.0 provisioning (RFC 7643/7644) — an identity provider (Okta, Entra ID)
//! holding a service key with the `scim` scope creates users (as invitations: each takes a
//! seat under the same rules and lock as every other way in), looks them up by filter, changes
//! names and addresses, deactivates (`active: false` frees the seat and ends sessions) and
//! deletes them, and moves them in and out of the app's two groups, Admins and Users.

use super::{Ctx, Principal, Services, StatusChange};
use crate::error::{Error, Result, StoreError};
use crate::model::*;
use crate::scim_filter::{Filter, Value};
use crate::types::*;

/// A member as SCIM shows it.
#[derive(Debug, Clone)]
pub struct ScimUser {
    pub member: Member,
    pub external_id: Option<String>,
}

impl ScimUser {
    /// `meta.version`: the member's version and its externalId together.
    pub fn version(&self) -> String {
        use sha2::{Digest, Sha256};
        let h = Sha256::new()
            .chain_update(self.member.etag().as_bytes())
            .chain_update([0])
            .chain_update(self.external_id.as_deref().unwrap_or("").as_bytes())
            .finalize();
        h[..12].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a create, PUT or PATCH sets (`None`: leave as it is).
#[derive(Debug, Clone, Default)]
pub struct ScimUserInput {
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    pub active: Option<bool>,
}

/// The app's two groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimGroup {
    /// Members with the admin flag: adding makes an admin, removing takes the flag away.
    Admins,
    /// Every member: adding changes nothing (users are made with POST /Users), removing
    /// deactivates.
    Users,
}

impl ScimGroup {
    pub fn id(self) -> &'static str {
        match self {
            ScimGroup::Admins => "admins",
            ScimGroup::Users => "users",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            ScimGroup::Admins => "Admins",
            ScimGroup::Users => "Users",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        match id {
            "admins" => Some(ScimGroup::Admins),
            "users" => Some(ScimGroup::Users),
            _ => None,
        }
    }
}

/// Whether SCIM calls this member active (Invited counts: it holds its seat and will be).
pub fn scim_active(m: &Member) -> bool {
    matches!(m.status, MemberStatus::Active | MemberStatus::Invited)
}

fn attr(u: &ScimUser, path: &str) -> Vec<Value> {
    let m = &u.member;
    let s = |v: &str| vec![Value::Str(v.to_string())];
    match path {
        "id" => s(&m.id.to_string()),
        "username" | "emails.value" | "emails" | "emails[type eq \"work\"].value" => {
            s(m.email.as_str())
        }
        "externalid" => u.external_id.as_deref().map(s).unwrap_or_default(),
        "active" => vec![Value::Bool(scim_active(m))],
        "name.givenname" => m.first_name.as_deref().map(s).unwrap_or_default(),
        "name.familyname" => m.last_name.as_deref().map(s).unwrap_or_default(),
        "displayname" | "name.formatted" => s(&display_name(m)),
        "meta.created" | "meta.lastmodified" => s(&m.created_at.unix_timestamp().to_string()),
        _ => Vec::new(),
    }
}

pub fn display_name(m: &Member) -> String {
    match (&m.first_name, &m.last_name) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(f), None) => f.clone(),
        _ => m.email.to_string(),
    }
}

impl Services {
    fn require_scim(p: &Principal) -> Result<()> {
        match &p.key {
            Some(k) if k.has(ApiScope::Scim) => Ok(()),
            _ => Err(Error::InsufficientScope("scim")),
        }
    }

    /// Users matching `filter`, sorted by `sort_by` (a SCIM attribute path), then one page:
    /// `start` is 1-based. Returns the total number of matches and the page.
    #[allow(clippy::too_many_arguments)]
    pub async fn scim_list_users(
        &self,
        p: &Principal,
        app_id: &AppId,
        filter: Option<&Filter>,
        sort_by: Option<&str>,
        descending: bool,
        start: usize,
        count: usize,
    ) -> Result<(usize, Vec<ScimUser>)> {
        Self::require_scim(p)?;
        self.require_admin(p, app_id).await?;
        let mut r = self.read().await?;
        // the lookups identity providers make before every create go straight to an index
        let mut users: Vec<ScimUser> = match filter.and_then(|f| f.as_eq()) {
            Some(("username" | "emails.value", v)) => match Email::parse(v) {
                Ok(e) => r
                    .find_member_by_email(app_id, e.normalized())
                    .await?
                    .filter(|m| m.status != MemberStatus::Removed)
                    .into_iter()
                    .map(|member| ScimUser {
                        member,
                        external_id: None,
                    })
                    .collect(),
                Err(_) => Vec::new(),
            },
            _ => r
                .scim_members(app_id)
                .await?
                .into_iter()
                .map(|(member, external_id)| ScimUser {
                    member,
                    external_id,
                })
                .collect(),
        };
        for u in users.iter_mut().filter(|u| u.external_id.is_none()) {
            u.external_id = r.external_id(app_id, u.member.id).await?;
        }
        if let Some(f) = filter {
            users.retain(|u| f.matches(&|a| attr(u, a)));
        }
        if let Some(key) = sort_by.map(str::to_ascii_lowercase) {
            let sort_key = |u: &ScimUser| match attr(u, &key).into_iter().next() {
                Some(Value::Str(s)) => s.to_lowercase(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => String::new(),
            };
            users.sort_by_cached_key(sort_key);
            if descending {
                users.reverse();
            }
        }
        let total = users.len();
        let page = users
            .into_iter()
            .skip(start.saturating_sub(1))
            .take(count)
            .collect();
        Ok((total, page))
    }

    pub async fn scim_get_user(
        &self,
        p: &Principal,
        app_id: &AppId,
        id: MemberId,
    ) -> Result<ScimUser> {
        Self::require_scim(p)?;
        self.require_admin(p, app_id).await?;
        let mut r = self.read().await?;
        let member = r
            .get_member(app_id, id)
            .await?
            .filter(|m| m.status != MemberStatus::Removed)
            .ok_or(Error::NotFound)?;
        let external_id = r.external_id(app_id, id).await?;
        Ok(ScimUser {
            member,
            external_id,
        })
    }

    /// Create a user: an invitation (emailed), which takes a seat now; or, when the app's
    /// setting says `active`, an Active member at once (`scim_provision`).
    pub async fn scim_create_user(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        input: ScimUserInput,
    ) -> Result<ScimUser> {
        Self::require_scim(p)?;
        self.require_admin(p, app_id).await?;
        if input.active == Some(false) {
            return Err(Error::invalid(
                "active",
                "Create users active; set active to false afterwards to deactivate.",
            ));
        }
        let email = Email::parse(input.email.as_deref().unwrap_or(""))?;
        let first = Name::parse("first_name", input.given_name.as_deref().unwrap_or(""))?;
        let last =
            Name::parse_optional("last_name", input.family_name.clone().flatten().as_deref())?;
        let external_id = input.external_id.clone().flatten();
        let unclaimed = match self.read().await?.scim_provisioning(app_id).await? {
            ScimProvisioning::Active => Some(self.prepare_unclaimed_id().await?),
            ScimProvisioning::Invite => None,
        };
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        // the setting as it is now, under the app's lock (an admin may just have changed it)
        let mode = tx.scim_provisioning(app_id).await?;
        if let Some(x) = &external_id
            && tx.member_by_external_id(app_id, x).await?.is_some()
        {
            return Err(Error::AlreadyMember);
        }
        let (first, last) = (first.to_string(), last.map(|l| l.to_string()));
        let member = match mode {
            ScimProvisioning::Invite => {
                self.issue_invitation(
                    &mut *tx,
                    ctx,
                    &mut app,
                    Some(p),
                    &p.display_name(),
                    email,
                    Some(first),
                    last,
                    false,
                    MemberKind::User,
                    true,
                    false,
                )
                .await?
                .member
            }
            ScimProvisioning::Active => {
                // switched to `active` a moment ago: no hash was made; the retry makes one
                let unclaimed = unclaimed.ok_or_else(super::scim_provision::made_meanwhile)?;
                self.provision_active(&mut *tx, ctx, p, &mut app, email, first, last, unclaimed)
                    .await?
            }
        };
        if let Some(x) = &external_id {
            tx.set_external_id(app_id, member.id, Some(x))
                .await
                .map_err(|e| match e {
                    StoreError::Unique => Error::AlreadyMember,
                    e => e.into(),
                })?;
        }
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(ScimUser {
            member,
            external_id,
        })
    }

    /// PUT and PATCH: names and externalId, then the address (an invitation not yet accepted
    /// is sent again to the new one; an accepted member's address is their ID's login and
    /// changes in Roster), then `active`.
    pub async fn scim_update_user(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: MemberId,
        input: ScimUserInput,
    ) -> Result<ScimUser> {
        let current = self.scim_get_user(p, app_id, id).await?;
        let m = &current.member;
        let first = match &input.given_name {
            Some(g) => Some(Name::parse("first_name", g)?.to_string()),
            None => None,
        };
        let last = match &input.family_name {
            Some(Some(f)) => {
                Some(Name::parse_optional("last_name", Some(f))?.map(|n| n.to_string()))
            }
            Some(None) => Some(None),
            None => None,
        };
        let new_email = match &input.email {
            Some(e) => {
                let e = Email::parse(e)?;
                (e.normalized() != m.email.normalized()).then_some(e)
            }
            None => None,
        };
        if new_email.is_some() && m.identity_id.is_some() {
            return Err(Error::invalid(
                "emails",
                "This member's address is the login of their Roster ID; they change it themselves.",
            ));
        }
        if first.is_some() || last.is_some() || input.external_id.is_some() {
            let mut tx = self.begin().await?;
            tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
            let mut mm = tx
                .get_member(app_id, id)
                .await?
                .filter(|x| x.status != MemberStatus::Removed)
                .ok_or(Error::NotFound)?;
            if let Some(f) = first {
                mm.first_name = Some(f);
            }
            if let Some(l) = last {
                mm.last_name = l;
            }
            tx.update_member(&mm).await?;
            if let Some(x) = &input.external_id {
                tx.set_external_id(app_id, id, x.as_deref())
                    .await
                    .map_err(|e| match e {
                        StoreError::Unique => Error::AlreadyMember,
                        e => e.into(),
                    })?;
            }
            tx.commit().await?;
        }
        if let Some(e) = new_email {
            // not accepted yet: the invitation goes to the new address (same member, new link)
            let reinvite = m.status == MemberStatus::Invited || input.active == Some(true);
            self.reinvite(ctx, p, app_id, id, Some(e), reinvite).await?;
        }
        if let Some(active) = input.active {
            let m = self.scim_get_user(p, app_id, id).await?.member;
            match (m.status, active) {
                (MemberStatus::Active, false) => {
                    self.set_status(ctx, p, app_id, id, StatusChange::Deactivate, None)
                        .await?;
                }
                (MemberStatus::Inactive, true) if m.identity_id.is_some() => {
                    self.set_status(ctx, p, app_id, id, StatusChange::Reactivate, None)
                        .await?;
                }
                // never accepted: invited again (a seat is needed)
                (MemberStatus::Inactive, true) => {
                    self.reinvite(ctx, p, app_id, id, None, true).await?;
                }
                (MemberStatus::Invited, false) => {
                    if let Some(inv) = self.read().await?.find_pending_invitation(id).await? {
                        self.revoke(ctx, p, app_id, inv.id).await?;
                    }
                    // a revoked invitation leaves nothing to show; keep it as inactive
                    let mut tx = self.begin().await?;
                    tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
                    if let Some(mut mm) = tx.get_member(app_id, id).await? {
                        mm.status = MemberStatus::Inactive;
                        tx.update_member(&mm).await?;
                    }
                    tx.commit().await?;
                }
                _ => {}
            }
        }
        self.scim_get_user(p, app_id, id).await
    }

    /// A member who never accepted: change the address (`email`) and, with `invite`, send a
    /// new invitation (taking a seat). The member keeps its id.
    async fn reinvite(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: MemberId,
        email: Option<Email>,
        invite: bool,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut app = tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        let mut m = tx
            .get_member(app_id, id)
            .await?
            .filter(|m| m.identity_id.is_none() && m.status != MemberStatus::Removed)
            .ok_or(Error::NotFound)?;
        if let Some(e) = &email {
            if tx
                .find_member_by_email(app_id, e.normalized())
                .await?
                .is_some()
            {
                return Err(Error::AlreadyMember);
            }
            m.email = e.clone();
        }
        if let Some(inv) = tx.find_pending_invitation(id).await? {
            tx.set_invitation_status(inv.id, inv.status, InvitationStatus::Replaced, ctx.now)
                .await?;
        }
        let was = m.status;
        // issue_invitation invites a Removed member afresh, keeping its row
        m.status = MemberStatus::Removed;
        self.hold_seat_if_needed(&mut app, &mut m)?;
        tx.update_member(&m).await?;
        if invite {
            self.issue_invitation(
                &mut *tx,
                ctx,
                &mut app,
                Some(p),
                &p.display_name(),
                m.email.clone(),
                m.first_name.clone(),
                m.last_name.clone(),
                m.admin,
                m.kind,
                true,
                false,
            )
            .await?;
        } else {
            m.status = was;
            tx.update_member(&m).await?;
        }
        tx.update_app_seats(&app).await?;
        tx.commit().await?;
        self.mail_kick.notify_one();
        Ok(())
    }

    /// DELETE: deactivate (or withdraw the invitation), then the member is gone for SCIM.
    pub async fn scim_delete_user(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        id: MemberId,
    ) -> Result<()> {
        let u = self
            .scim_update_user(
                ctx,
                p,
                app_id,
                id,
                ScimUserInput {
                    active: Some(false),
                    ..ScimUserInput::default()
                },
            )
            .await?;
        let mut tx = self.begin().await?;
        tx.lock_app(app_id).await?.ok_or(Error::NotFound)?;
        if let Some(mut m) = tx.get_member(app_id, u.member.id).await?
            && m.status == MemberStatus::Inactive
        {
            m.status = MemberStatus::Removed;
            tx.update_member(&m).await?;
            tx.set_external_id(app_id, m.id, None).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A group's members (Active and Invited).
    pub async fn scim_group_members(
        &self,
        p: &Principal,
        app_id: &AppId,
        group: ScimGroup,
    ) -> Result<Vec<Member>> {
        Self::require_scim(p)?;
        self.require_admin(p, app_id).await?;
        Ok(self
            .read()
            .await?
            .scim_members(app_id)
            .await?
            .into_iter()
            .map(|(m, _)| m)
            .filter(|m| scim_active(m) && (group == ScimGroup::Users || m.admin))
            .collect())
    }

    /// Add members to a group or remove them.
    pub async fn scim_group_change(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        group: ScimGroup,
        add: bool,
        members: &[MemberId],
    ) -> Result<()> {
        Self::require_scim(p)?;
        for id in members {
            self.scim_get_user(p, app_id, *id).await?;
            match (group, add) {
                (ScimGroup::Admins, admin) => {
                    self.set_admin(ctx, p, app_id, *id, admin).await?;
                }
                (ScimGroup::Users, true) => {}
                (ScimGroup::Users, false) => {
                    self.scim_update_user(
                        ctx,
                        p,
                        app_id,
                        *id,
                        ScimUserInput {
                            active: Some(false),
                            ..ScimUserInput::default()
                        },
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }
}
