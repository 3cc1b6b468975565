//! Journey: profile — the initial setup in an app: details, email signature, logo, and the
//! Account Information email at the end. Details and signature belong to the ID (set once, the
//! same in every app); the logo belongs to the member in that app.

use super::{Ctx, Principal, Services, collect, invalid};
use crate::error::{Error, FieldError, Result};
use crate::model::*;
use crate::types::*;

/// The IANA time zones offered in the profile (from the tz database's zone1970.tab, plus UTC).
pub fn time_zones() -> &'static [&'static str] {
    static ZONES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        include_str!("../../data/time-zones.txt")
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

/// The steps of one app's initial setup, in order (1 details, 2 signature, 3 logo).
///
/// In the ID's first app all three are asked. Once the ID finished the setup in another app,
/// the details and signature steps are asked only if still missing (they belong to the ID); the
/// logo step belongs to the app and always ends the setup (it sends the Account Information
/// email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupPlan {
    pub steps: Vec<u8>,
}

impl SetupPlan {
    pub const ALL: [u8; 3] = [1, 2, 3];

    fn for_member(id: &IdentityProfile, setup_done_elsewhere: bool) -> Self {
        let mut steps = Vec::with_capacity(3);
        if !setup_done_elsewhere || id.details_missing() {
            steps.push(1);
        }
        if !setup_done_elsewhere || id.signature_missing() {
            steps.push(2);
        }
        steps.push(3);
        SetupPlan { steps }
    }

    pub fn contains(&self, step: u8) -> bool {
        self.steps.contains(&step)
    }

    /// The first step of the plan at or after `step` (the logo step always ends a plan).
    pub fn from_step(&self, step: u8) -> u8 {
        self.steps.iter().copied().find(|s| *s >= step).unwrap_or(3)
    }

    /// The plan's step after `step`, `None` after the last one.
    pub fn after(&self, step: u8) -> Option<u8> {
        self.steps.iter().copied().find(|s| *s > step)
    }

    /// `step`'s place in the plan, counted from 1, and the number of steps.
    pub fn position(&self, step: u8) -> (usize, usize) {
        let n = self.steps.iter().take_while(|s| **s < step).count() + 1;
        (n.min(self.steps.len()), self.steps.len())
    }
}

/// Everything the profile and setup pages show for the caller in one app.
#[derive(Debug, Clone)]
pub struct ProfileView {
    pub member: Member,
    /// The ID's own profile (name, phone, time zone, signature): the same in every app.
    pub id: IdentityProfile,
    /// This app's part: logo, setup finished.
    pub app: MemberProfile,
    /// The steps this app's initial setup asks.
    pub setup: SetupPlan,
}

impl Services {
    /// The caller's membership, the ID's profile and the app's part of it (empty before setup).
    pub async fn profile(&self, ctx: &Ctx, p: &Principal, app_id: &AppId) -> Result<ProfileView> {
        let mut r = self.read().await?;
        let member = Self::member_in(&mut *r, p, app_id).await?;
        let id = r
            .get_identity_profile(p.identity_id)
            .await?
            .ok_or(Error::NotFound)?;
        let app = r
            .get_profile(member.id)
            .await?
            .unwrap_or_else(|| MemberProfile::empty(member.id, ctx.now));
        let setup = if app.setup_done {
            SetupPlan {
                steps: SetupPlan::ALL.to_vec(),
            }
        } else {
            let elsewhere = r.setup_done_elsewhere(p.identity_id, member.id).await?;
            SetupPlan::for_member(&id, elsewhere)
        };
        Ok(ProfileView {
            member,
            id,
            app,
            setup,
        })
    }

    /// The ID's own profile (name, phone, time zone, email signature), whatever the app.
    pub async fn identity_profile(&self, p: &Principal) -> Result<IdentityProfile> {
        self.read()
            .await?
            .get_identity_profile(p.identity_id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// The time zone the ID chose (IANA name, e.g. "Europe/Berlin"), for showing times to it;
    /// `None` if it has not chosen one.
    pub async fn identity_time_zone(&self, p: &Principal) -> Result<Option<String>> {
        Ok(self.identity_profile(p).await?.time_zone)
    }

    /// Change the ID's profile, from inside one of its apps (the caller must be an Active member).
    async fn update_identity_profile(
        &self,
        ctx: &Ctx,
        p: &Principal,
        app_id: &AppId,
        change: impl FnOnce(&mut IdentityProfile),
    ) -> Result<IdentityProfile> {
        let mut tx = self.begin().await?;
        Self::member_in(&mut *tx, p, app_id).await?;
        let mut profile = tx
            .get_identity_profile(p.identity_id)
            .await?
            .ok_or(Error::NotFound)?;
        change(&mut profile);
        profile.updated_at = Some(ctx.now);
        tx.save_identity_profile(&profile).await?;
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
    ) -> Result<IdentityProfile> {
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
        self.update_identity_profile(ctx, p, app_id, move |prof| {
            prof.first_name = first.to_string();
            prof.last_name = last.map(String::from);
            prof.phone = phone;
            prof.time_zone = tz;
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
    ) -> Result<IdentityProfile> {
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
        self.update_identity_profile(ctx, p, app_id, move |prof| {
            prof.signature_html = Some(html).filter(|s| !s.trim().is_empty());
            prof.signature_text = Some(text).filter(|s| !s.trim().is_empty());
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
    ) -> Result<MemberProfile> {
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(Error::invalid("logo", "The image is larger than 2 MB."));
        }
        let Some(mime) = sniff_image(&bytes) else {
            return Err(Error::invalid(
                "logo",
                "Upload a PNG, JPEG or WebP image (SVG and other files are not accepted).",
            ));
        };
        let mut tx = self.begin().await?;
        let m = Self::member_in(&mut *tx, p, app_id).await?;
        let mut profile = tx
            .get_profile(m.id)
            .await?
            .unwrap_or_else(|| MemberProfile::empty(m.id, ctx.now));
        profile.logo = Some(Logo {
            mime: mime.to_string(),
            bytes,
        });
        profile.updated_at = ctx.now;
        tx.save_profile(&profile).await?;
        tx.commit().await?;
        Ok(profile)
    }

    /// Take the logo away (nothing happens when there is none).
    pub async fn remove_logo(&self, ctx: &Ctx, p: &Principal, app_id: &AppId) -> Result<()> {
        let mut tx = self.begin().await?;
        let m = Self::member_in(&mut *tx, p, app_id).await?;
        if let Some(mut profile) = tx.get_profile(m.id).await?
            && profile.logo.is_some()
        {
            profile.logo = None;
            profile.updated_at = ctx.now;
            tx.save_profile(&profile).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The end of the initial setup: marks it done and, the first time, sends the Account
    /// Information email.
    pub async fn finish_setup(&self, ctx: &Ctx, p: &Principal, app_id: &AppId) -> Result<()> {
        let mut tx = self.begin().await?;
        let m = Self::member_in(&mut *tx, p, app_id).await?;
        let mut profile = tx
            .get_profile(m.id)
            .await?
            .unwrap_or_else(|| MemberProfile::empty(m.id, ctx.now));
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
                first_name: p.first_name.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn id(tz: Option<&str>, sig: Option<&str>) -> IdentityProfile {
        IdentityProfile {
            identity_id: IdentityId::new(),
            first_name: "Lee".into(),
            last_name: None,
            phone: None,
            time_zone: tz.map(String::from),
            signature_html: None,
            signature_text: sig.map(String::from),
            updated_at: None,
        }
    }

    #[test]
    fn the_first_app_asks_all_three_steps_even_if_the_id_has_a_profile() {
        let plan = SetupPlan::for_member(&id(Some("UTC"), Some("Lee")), false);
        assert_eq!(plan.steps, vec![1, 2, 3]);
        assert_eq!(plan.position(2), (2, 3));
        assert_eq!(plan.after(1), Some(2));
        assert_eq!(plan.after(3), None);
    }

    #[test]
    fn a_later_app_asks_only_what_is_missing_and_always_the_logo() {
        let only_logo = SetupPlan::for_member(&id(Some("UTC"), Some("Lee")), true);
        assert_eq!(only_logo.steps, vec![3]);
        assert_eq!(only_logo.from_step(1), 3);
        assert_eq!(only_logo.position(3), (1, 1));
        let no_tz = SetupPlan::for_member(&id(None, Some("Lee")), true);
        assert_eq!(no_tz.steps, vec![1, 3]);
        assert_eq!(no_tz.after(1), Some(3));
        assert_eq!(no_tz.from_step(2), 3);
        assert_eq!(no_tz.position(3), (2, 2));
    }
}
