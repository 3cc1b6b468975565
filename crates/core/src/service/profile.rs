//! Journey: profile — a member's initial setup in an app: details, email signature, logo, and
//! the Account Information email at the end.

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
