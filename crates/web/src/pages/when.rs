//! Times as the viewer reads them: in their profile's IANA time zone if they chose one; else in
//! the UTC offset their browser reported (the `tz_offset` cookie set by /static/roster.js); else
//! in UTC. The zone is always named ("23 Nov 2026, 14:05 Europe/Berlin", "… UTC+01:00").

use crate::AppState;
use crate::cookies::read_exact;
use axum::http::HeaderMap;
use roster_core::Principal;
use time::OffsetDateTime;

pub const TZ_OFFSET_COOKIE: &str = "tz_offset";

/// The zone times are shown in.
pub enum Zone {
    Iana(jiff::tz::TimeZone, String),
    /// Minutes east of UTC.
    Offset(i32),
    Utc,
}

impl Zone {
    /// A zone by IANA name, from the bundled time-zone database.
    pub fn named(name: &str) -> Option<Zone> {
        jiff::tz::db()
            .get(name)
            .ok()
            .map(|tz| Zone::Iana(tz, name.to_string()))
    }

    fn from_offset_cookie(headers: &HeaderMap) -> Option<Zone> {
        let m: i32 = read_exact(headers, TZ_OFFSET_COOKIE)?.trim().parse().ok()?;
        (-14 * 60..=14 * 60).contains(&m).then_some(Zone::Offset(m))
    }

    /// "23 Nov 2026, 14:05 Europe/Berlin".
    pub fn format(&self, t: OffsetDateTime) -> String {
        match self {
            Zone::Iana(tz, name) => match jiff::Timestamp::from_second(t.unix_timestamp()) {
                Ok(ts) => format!(
                    "{} {name}",
                    ts.to_zoned(tz.clone()).strftime("%-d %b %Y, %H:%M")
                ),
                Err(_) => Zone::Utc.format(t),
            },
            Zone::Offset(0) | Zone::Utc => format!("{} UTC", plain(t)),
            Zone::Offset(m) => {
                let off =
                    time::UtcOffset::from_whole_seconds(m * 60).unwrap_or(time::UtcOffset::UTC);
                let sign = if *m < 0 { '-' } else { '+' };
                let a = m.unsigned_abs();
                format!(
                    "{} UTC{sign}{:02}:{:02}",
                    plain(t.to_offset(off)),
                    a / 60,
                    a % 60
                )
            }
        }
    }
}

fn plain(t: OffsetDateTime) -> String {
    t.format(&time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute]"
    ))
    .unwrap_or_default()
}

/// The viewer's zone. The one place that reads the profile's time zone (the profile may move to
/// the ID: only this function changes then).
pub async fn viewer_zone(state: &AppState, headers: &HeaderMap, p: &Principal) -> Zone {
    if let Ok(Some(name)) = state.services.identity_time_zone(p).await
        && let Some(z) = Zone::named(&name)
    {
        return z;
    }
    Zone::from_offset_cookie(headers).unwrap_or(Zone::Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_named_by_their_zone() {
        let t = OffsetDateTime::from_unix_timestamp(1_795_439_100).unwrap(); // 2026-11-23 13:05 UTC
        assert_eq!(Zone::Utc.format(t), "23 Nov 2026, 13:05 UTC");
        assert_eq!(
            Zone::named("Europe/Berlin").unwrap().format(t),
            "23 Nov 2026, 14:05 Europe/Berlin"
        );
        assert_eq!(Zone::Offset(60).format(t), "23 Nov 2026, 14:05 UTC+01:00");
        assert_eq!(Zone::Offset(-330).format(t), "23 Nov 2026, 07:35 UTC-05:30");
        assert!(Zone::named("Mars/Olympus").is_none());
    }
}
