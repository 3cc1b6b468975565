//! Entities as the services see them. Backends map rows to these and back.

use crate::error::Error;
use crate::types::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

mod api_keys;
mod bulk;
mod mail;
mod oidc;
mod security;
mod webhooks;
pub use api_keys::*;
pub use bulk::*;
pub use mail::*;
pub use oidc::*;
pub use security::*;
pub use webhooks::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub app_id: AppId,
    pub name: String,
    pub seats_purchased: i64,
    pub seats_complimentary: i64,
    /// Seats held right now (Active users + pending, unexpired user invitations).
    pub seats_held: i64,
    pub created_at: OffsetDateTime,
}

impl App {
    pub fn seats_total(&self) -> i64 {
        self.seats_purchased + self.seats_complimentary
    }
    pub fn seats_available(&self) -> i64 {
        (self.seats_total() - self.seats_held).max(0)
    }
    /// Seat accounting: may one more seat be held?
    pub fn check_seat_free(&self) -> Result<(), Error> {
        if self.seats_held < self.seats_total() {
            Ok(())
        } else {
            Err(Error::SeatUnavailable {
                total: self.seats_total(),
                held: self.seats_held,
            })
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatSummary {
    pub purchased: i64,
    pub complimentary: i64,
    pub total: i64,
    pub used: i64,
    pub available: i64,
}

impl From<&App> for SeatSummary {
    fn from(a: &App) -> Self {
        SeatSummary {
            purchased: a.seats_purchased,
            complimentary: a.seats_complimentary,
            total: a.seats_total(),
            used: a.seats_held,
            available: a.seats_available(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatEntryKind {
    Initial,
    Purchase,
    Complimentary,
}

impl SeatEntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SeatEntryKind::Initial => "initial",
            SeatEntryKind::Purchase => "purchase",
            SeatEntryKind::Complimentary => "complimentary",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "initial" => Some(Self::Initial),
            "purchase" => Some(Self::Purchase),
            "complimentary" => Some(Self::Complimentary),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatLedgerEntry {
    pub id: uuid::Uuid,
    pub app_id: AppId,
    pub at: OffsetDateTime,
    pub kind: SeatEntryKind,
    pub quantity: i64,
    pub actor: Option<IdentityId>,
    /// Why, in the operator's words (a grant's note).
    pub note: Option<String>,
    /// The seat request this grant answered.
    pub request: Option<SeatRequestId>,
}

/// A person's global ID.
#[derive(Debug, Clone)]
pub struct Identity {
    pub id: IdentityId,
    pub email: Email,
    pub first_name: String,
    pub last_name: Option<String>,
    pub password_hash: String,
    pub security_question: Option<SecurityQuestion>,
    pub security_answer_hash: Option<String>,
    pub terms_version: Option<String>,
    pub terms_accepted_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub lockout: Lockout,
}

/// What a SCIM create makes in an app (an app setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScimProvisioning {
    /// An invitation, emailed; the person accepts it with their ID (or makes one).
    #[default]
    Invite,
    /// An Active member at once, linked to the ID with that email; when there is none, an ID
    /// is made whose owner chooses a password through an emailed link.
    Active,
}

impl ScimProvisioning {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invite => "invite",
            Self::Active => "active",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invite" => Some(Self::Invite),
            "active" => Some(Self::Active),
            _ => None,
        }
    }
}

/// Failed-login bookkeeping of one ID (see `crate::lockout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lockout {
    pub failed_count: i64,
    pub window_start: Option<OffsetDateTime>,
    pub level: i64,
    pub locked_until: Option<OffsetDateTime>,
    /// Attempts reserved and being verified right now (never counted as failures).
    pub in_flight: i64,
    /// When the oldest reservation in flight was made (stale ones, from a crashed node, expire).
    pub in_flight_at: Option<OffsetDateTime>,
}

/// A member with what else decides its access to the app, read in one round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccess {
    pub member: Member,
    pub app_suspended: bool,
    pub app_requires_second_factor: bool,
}

/// An ID's place in one app (also an invited email before it has an ID there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub app_id: AppId,
    pub identity_id: Option<IdentityId>,
    pub email: Email,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub kind: MemberKind,
    pub admin: bool,
    pub status: MemberStatus,
    pub holds_seat: bool,
    pub created_at: OffsetDateTime,
    pub last_login_at: Option<OffsetDateTime>,
}

impl Member {
    /// The version of this member as the API shows it (`ETag`): changes whenever any field a
    /// client sees changes.
    pub fn etag(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            self.id.to_string(),
            self.identity_id.map(|i| i.to_string()).unwrap_or_default(),
            self.email.to_string(),
            self.first_name.clone().unwrap_or_default(),
            self.last_name.clone().unwrap_or_default(),
            self.kind.as_str().to_string(),
            self.admin.to_string(),
            self.status.as_str().to_string(),
            self.holds_seat.to_string(),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        h.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether this member, in this status, should hold a seat.
    pub fn should_hold_seat(kind: MemberKind, status: MemberStatus) -> bool {
        kind == MemberKind::User && matches!(status, MemberStatus::Invited | MemberStatus::Active)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
    /// Voided because the invitation was sent again with a new link.
    Replaced,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Replaced => "replaced",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "revoked" => Some(Self::Revoked),
            "expired" => Some(Self::Expired),
            "replaced" => Some(Self::Replaced),
            _ => None,
        }
    }

    /// The invitation state machine: Pending → Accepted | Revoked | Expired, nothing else.
    pub fn transition(self, to: InvitationStatus) -> Result<InvitationStatus, Error> {
        match (self, to) {
            (Self::Pending, Self::Accepted | Self::Revoked | Self::Expired | Self::Replaced) => {
                Ok(to)
            }
            (Self::Accepted, _) => Err(Error::InvitationUsed),
            (Self::Revoked, _) => Err(Error::InvitationRevoked),
            (Self::Expired, _) => Err(Error::InvitationExpired),
            (Self::Replaced, _) => Err(Error::InvitationReplaced),
            (Self::Pending, Self::Pending) => Err(Error::InvalidTransition("pending → pending")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub app_id: AppId,
    pub member_id: MemberId,
    pub email: Email,
    pub kind: MemberKind,
    pub admin: bool,
    pub token_hash: Vec<u8>,
    pub status: InvitationStatus,
    pub inviter_id: Option<IdentityId>,
    pub inviter_name: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
}

impl Invitation {
    /// The status as of `now`: a pending invitation past its expiry is Expired.
    pub fn effective_status(&self, now: OffsetDateTime) -> InvitationStatus {
        if self.status == InvitationStatus::Pending && now >= self.expires_at {
            InvitationStatus::Expired
        } else {
            self.status
        }
    }

    /// Ok when the invitation can still be accepted at `now`, else the error that says why not.
    pub fn check_usable(&self, now: OffsetDateTime) -> Result<(), Error> {
        self.effective_status(now)
            .transition(InvitationStatus::Accepted)
            .map(|_| ())
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub token_hash: Vec<u8>,
    pub identity_id: IdentityId,
    pub app_id: Option<AppId>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub client_addr: Option<String>,
    /// The User-Agent it was started from (at most 256 characters).
    pub user_agent: Option<String>,
    /// How the login was made (OpenID Connect `amr` values: `pwd`, `otp`, `hwk`, `mfa`...).
    pub amr: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub id: uuid::Uuid,
    pub at: OffsetDateTime,
    pub app_id: Option<AppId>,
    pub actor_id: Option<IdentityId>,
    pub actor_label: String,
    pub action: String,
    pub target: Option<String>,
    pub client_addr: Option<String>,
    /// The requester's User-Agent (at most 256 characters).
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeatRequestStatus {
    Pending,
    Granted,
    Declined,
}

impl SeatRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Granted => "granted",
            Self::Declined => "declined",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "granted" => Some(Self::Granted),
            "declined" => Some(Self::Declined),
            _ => None,
        }
    }
}

/// An admin's request to support for complimentary seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatRequest {
    pub id: SeatRequestId,
    pub app_id: AppId,
    pub requested_by: IdentityId,
    pub quantity: i64,
    pub status: SeatRequestStatus,
    pub created_at: OffsetDateTime,
    /// When an operator answered (granted or declined); `None` while pending.
    pub decided_at: Option<OffsetDateTime>,
    /// Seats the operator granted in answer (may differ from `quantity`); `None` unless granted.
    pub granted_quantity: Option<i64>,
}

/// The ID's own profile, the same in every app it belongs to (J4 steps 1 and 2): its name
/// (kept on the identity), phone, time zone and email signature. Set once, shown everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProfile {
    pub identity_id: IdentityId,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub time_zone: Option<String>,
    pub signature_html: Option<String>,
    pub signature_text: Option<String>,
    /// When phone, time zone or signature were last saved; `None` if never.
    pub updated_at: Option<OffsetDateTime>,
}

impl IdentityProfile {
    /// Whether the details step (name, phone, time zone) still has something to ask: the time
    /// zone (the name always exists; the phone is optional).
    pub fn details_missing(&self) -> bool {
        self.time_zone.is_none()
    }

    /// Whether the ID has no email signature yet.
    pub fn signature_missing(&self) -> bool {
        self.signature_html.is_none() && self.signature_text.is_none()
    }
}

/// What belongs to one member in one app: its logo or photo (J4 step 3) and whether the app's
/// initial setup is finished (which sends that app's Account Information email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberProfile {
    pub member_id: MemberId,
    pub logo: Option<Logo>,
    pub setup_done: bool,
    pub updated_at: OffsetDateTime,
}

impl MemberProfile {
    pub fn empty(member_id: MemberId, now: OffsetDateTime) -> Self {
        MemberProfile {
            member_id,
            logo: None,
            setup_done: false,
            updated_at: now,
        }
    }
}

/// A validated logo or photo (PNG, JPEG or WebP, checked by content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// Which members a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberFilter {
    #[default]
    ActiveInvited,
    Inactive,
    Partners,
}

#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    pub filter: MemberFilter,
    pub search: Option<String>,
    /// Exclusive lower bound on the normalised email (the cursor).
    pub after: Option<String>,
    pub limit: u32,
}

impl MemberQuery {
    /// Searches of at least this many characters match anywhere in the email or the name (a
    /// substring, served by trigram indexes). Shorter ones have no trigram: they match the
    /// **start** of the email, of the first name or of the last name (prefix ranges of ordinary
    /// indexes), so that a search for two letters nobody's name starts with is as fast as any.
    pub const INDEXED_SEARCH_MIN_CHARS: usize = 3;

    /// A search term with about this many matches or more is "broad": sorting all of its matches
    /// costs more than reading the filter's index in page order and checking each row (a page
    /// fills quickly). The stores count before choosing, each count capped here: a short term's
    /// three prefix ranges in the app, added up (a member found by two counts twice); on SQLite,
    /// a long term's FTS matches in all apps (the FTS index has no app).
    pub const BROAD_MATCHES: i64 = 1_000;

    /// The search, if any (an empty one is none), and whether it is long enough for the trigram
    /// index.
    pub fn search_shape(&self) -> Option<(&str, bool)> {
        self.search
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| (s, s.chars().count() >= Self::INDEXED_SEARCH_MIN_CHARS))
    }

    /// For a short search (fewer than `INDEXED_SEARCH_MIN_CHARS`): the range `[from, to)` of
    /// text that starts with it, in code point order (= UTF-8 byte order, SQLite's `BINARY` and
    /// PostgreSQL's `"C"` collation). `None` for no search, a long one, or a term made only of
    /// U+10FFFF (a noncharacter): the strings that start with it have no upper bound, and the
    /// stores then match nothing (docs/decisions.md).
    pub fn prefix_range(&self) -> Option<(String, String)> {
        let (s, long) = self.search_shape()?;
        if long {
            return None;
        }
        prefix_upper_bound(s).map(|to| (s.to_string(), to))
    }
}

/// The least string greater than every string that starts with `s` (code point order): `s`
/// with its last character that can be incremented, incremented, and what follows it dropped.
pub fn prefix_upper_bound(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match u32::from(last) {
            0xD7FF => Some('\u{E000}'),
            n => n.checked_add(1).and_then(char::from_u32),
        };
        if let Some(c) = next {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[derive(Debug, Clone, Default)]
pub struct InvitationQuery {
    /// Exclusive upper bound on the invitation id (ids are time-ordered; newest first).
    pub before: Option<InvitationId>,
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use InvitationStatus::*;

    #[test]
    fn prefix_ranges_cover_exactly_the_strings_that_start_with_the_term() {
        assert_eq!(prefix_upper_bound("zq").as_deref(), Some("zr"));
        assert_eq!(prefix_upper_bound("a").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        let q = |s: &str| MemberQuery {
            search: Some(s.into()),
            ..MemberQuery::default()
        };
        let (from, to) = q("ab").prefix_range().unwrap();
        for inside in ["ab", "ab\u{10FFFF}\u{10FFFF}", "abz", "ab@x.test"] {
            assert!(from.as_str() <= inside && inside < to.as_str(), "{inside}");
        }
        for outside in ["a", "aa", "ac", "b", "zab"] {
            assert!(
                !(from.as_str() <= outside && outside < to.as_str()),
                "{outside}"
            );
        }
        assert_eq!(q("abc").prefix_range(), None);
        assert_eq!(MemberQuery::default().prefix_range(), None);
    }

    #[test]
    fn only_pending_invitations_move() {
        for to in [Accepted, Revoked, Expired, Replaced] {
            assert_eq!(Pending.transition(to).unwrap(), to);
        }
        assert!(matches!(
            Accepted.transition(Revoked),
            Err(Error::InvitationUsed)
        ));
        assert!(matches!(
            Revoked.transition(Accepted),
            Err(Error::InvitationRevoked)
        ));
        assert!(matches!(
            Expired.transition(Accepted),
            Err(Error::InvitationExpired)
        ));
        assert!(matches!(
            Replaced.transition(Accepted),
            Err(Error::InvitationReplaced)
        ));
        assert!(Pending.transition(Pending).is_err());
    }

    #[test]
    fn seats() {
        let mut a = App {
            app_id: AppId::parse("ab123").unwrap(),
            name: "Acme".into(),
            seats_purchased: 2,
            seats_complimentary: 1,
            seats_held: 2,
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(a.seats_available(), 1);
        assert!(a.check_seat_free().is_ok());
        a.seats_held = 3;
        assert!(matches!(
            a.check_seat_free(),
            Err(Error::SeatUnavailable { total: 3, held: 3 })
        ));
        assert!(Member::should_hold_seat(
            MemberKind::User,
            MemberStatus::Invited
        ));
        assert!(!Member::should_hold_seat(
            MemberKind::Partner,
            MemberStatus::Active
        ));
        assert!(!Member::should_hold_seat(
            MemberKind::User,
            MemberStatus::Inactive
        ));
    }
}
