//! Validated value types ("parse, don't validate"): once constructed, a value is known good.

use crate::error::Error;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address: what the person typed (trimmed, NFC) for display, and one canonical form for
/// lookups and uniqueness, so that one mailbox is one member and one seat.
///
/// Canonical form: Unicode NFC, local part lower-cased, domain in its ASCII (IDNA/UTS #46,
/// punycode) form. `idn@bücher.example`, `idn@xn--bcher-kva.example` and the decomposed `u` +
/// U+0308 spelling are the same address. Refused: invisible and format characters (U+200B,
/// U+FEFF, bidi controls, variation selectors...), compatibility look-alikes in the local part
/// (full-width letters, ligatures), quoted local parts and anything else outside RFC 5321/6531.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct Email {
    display: String,
    normalized: String,
}

/// Characters no person means to put in an address: controls, format characters (zero-width
/// space, bidi marks, BOM), separators, private-use and unassigned code points, variation selectors.
fn invisible(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        G::Control
            | G::Format
            | G::SpaceSeparator
            | G::LineSeparator
            | G::ParagraphSeparator
            | G::PrivateUse
            | G::Surrogate
            | G::Unassigned
    ) || c.is_whitespace()
        || matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Error> {
        use unicode_normalization::UnicodeNormalization;
        let bad = |m: &str| Error::invalid("email", m.to_string());
        let s: String = raw.trim().nfc().collect();
        if s.is_empty() {
            return Err(bad("Enter an email address."));
        }
        if s.len() > Self::MAX_LEN {
            return Err(bad("An email address can have at most 254 characters."));
        }
        if s.chars().any(|c| c == ' ' || c == '\t') {
            return Err(bad("An email address cannot contain spaces."));
        }
        if s.chars().any(invisible) {
            return Err(bad(
                "The address contains an invisible or control character; type it again by hand.",
            ));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(bad(
                "An email address needs an @ and a domain, like name@example.com.",
            ));
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(bad("The part before the @ is not valid."));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad("The part before the @ is not valid."));
        }
        // RFC 5322 atext (plus dots) in ASCII; other scripts are allowed (RFC 6531).
        if local.chars().any(|c| {
            c.is_ascii() && !(c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        }) {
            return Err(bad(
                "The part before the @ has a character that is not allowed.",
            ));
        }
        // Full-width letters, ligatures, superscripts...: they look like other characters.
        if !local.chars().eq(local.nfkc()) {
            return Err(bad(
                "The part before the @ has look-alike characters (such as full-width letters); type it in ordinary letters.",
            ));
        }
        let ascii_domain = idna::domain_to_ascii_strict(domain)
            .map_err(|_| bad("The domain after the @ is not valid, like example.com."))?;
        let labels: Vec<&str> = ascii_domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && ascii_domain.len() <= 253
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| {
                tld.starts_with("xn--")
                    || (tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
            });
        if !domain_ok {
            return Err(bad(
                "The domain after the @ is not valid, like example.com.",
            ));
        }
        let normalized = format!("{}@{}", local.to_lowercase(), ascii_domain);
        if normalized.len() > Self::MAX_LEN {
            return Err(bad("An email address can have at most 254 characters."));
        }
        Ok(Email {
            display: s,
            normalized,
        })
    }

    /// An address read back from Roster's own database, where only parsed addresses are
    /// written. ASCII addresses (nearly all) are rebuilt without the Unicode checks, which cost
    /// ~15 % of the CPU of a member list page (issue 13); any other is parsed again.
    pub fn from_stored(s: &str) -> Result<Self, Error> {
        if s.is_ascii()
            && let Some((local, domain)) = s.rsplit_once('@')
            && !local.is_empty()
            && !domain.is_empty()
            && s.trim() == s
        {
            return Ok(Email {
                display: s.to_string(),
                normalized: format!(
                    "{}@{}",
                    local.to_ascii_lowercase(),
                    domain.to_ascii_lowercase()
                ),
            });
        }
        Self::parse(s)
    }

    /// As entered (trimmed, NFC); use for display.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The canonical form; use for lookups and uniqueness.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The address to send to: the local part as typed, the domain in its ASCII form (what every
    /// mail server accepts without SMTPUTF8 for the domain).
    pub fn mailbox(&self) -> String {
        let local = self.display.rsplit_once('@').map(|(l, _)| l).unwrap_or("");
        let domain = self
            .normalized
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("");
        format!("{local}@{domain}")
    }

    pub fn local_part(&self) -> &str {
        self.normalized
            .rsplit_once('@')
            .map(|(l, _)| l)
            .unwrap_or(&self.normalized)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.display
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.display)
    }
}

/// The short public code of an app: two lowercase letters and at least three digits (`ab123`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AppId(String);

impl AppId {
    pub const MAX_LEN: usize = 12;

    pub fn parse(raw: &str) -> Result<Self, Error> {
        let b = raw.as_bytes();
        let ok = b.len() >= 5
            && b.len() <= Self::MAX_LEN
            && b[..2].iter().all(|c| c.is_ascii_lowercase())
            && b[2..].iter().all(|c| c.is_ascii_digit());
        if ok {
            Ok(AppId(raw.to_string()))
        } else {
            Err(Error::invalid(
                "app_id",
                "An App ID is two lowercase letters and at least three digits, like ab123.",
            ))
        }
    }

    /// A random App ID with `digits` digits (3 or more).
    pub fn random(rng: &mut impl Rng, digits: usize) -> Self {
        let digits = digits.clamp(3, Self::MAX_LEN - 2);
        let mut s = String::with_capacity(2 + digits);
        for _ in 0..2 {
            s.push(char::from(b'a' + rng.random_range(0..26u8)));
        }
        for _ in 0..digits {
            s.push(char::from(b'0' + rng.random_range(0..10u8)));
        }
        AppId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AppId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        AppId::parse(&s)
    }
}

impl From<AppId> for String {
    fn from(a: AppId) -> String {
        a.0
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppId({})", self.0)
    }
}

/// A first or last name, an app name: trimmed, 1..=100 characters, no control characters.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug)]
#[serde(into = "String")]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Error> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Error::invalid(field, "This cannot be empty."));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(Error::invalid(field, "At most 100 characters."));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err(Error::invalid(field, "Control characters are not allowed."));
        }
        Ok(Name(s.to_string()))
    }

    /// `None` for a missing or blank value, otherwise validated.
    pub fn parse_optional(field: &'static str, raw: Option<&str>) -> Result<Option<Self>, Error> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => Name::parse(field, s).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Trusted construction from storage.
    pub fn from_trusted(s: String) -> Self {
        Name(s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! typed_id {
    ($name:ident) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                $name(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                uuid::Uuid::parse_str(s)
                    .map($name)
                    .map_err(|_| Error::NotFound)
            }
        }
    };
}

typed_id!(IdentityId);
typed_id!(MemberId);
typed_id!(InvitationId);
typed_id!(SessionId);
typed_id!(MessageId);
typed_id!(SeatRequestId);

/// Whether a member is a seat-holding user or a seat-free partner.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    User,
    Partner,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "user",
            MemberKind::Partner => "partner",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(MemberKind::User),
            "partner" => Some(MemberKind::Partner),
            _ => None,
        }
    }
}

/// A member's status. `Removed` is an invitation revoked before it was ever accepted, or a member
/// that left; such rows keep history but are hidden from member lists.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Invited,
    Active,
    Inactive,
    Removed,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Invited => "invited",
            MemberStatus::Active => "active",
            MemberStatus::Inactive => "inactive",
            MemberStatus::Removed => "removed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invited" => Some(MemberStatus::Invited),
            "active" => Some(MemberStatus::Active),
            "inactive" => Some(MemberStatus::Inactive),
            "removed" => Some(MemberStatus::Removed),
            _ => None,
        }
    }
}

/// The seven security questions of the seed product.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityQuestion {
    HighSchoolMascot,
    FirstChildMiddleName,
    HoneymoonDestination,
    FirstCar,
    FirstPetName,
    StreetGrewUpOn,
    MotherMaidenName,
}

impl SecurityQuestion {
    pub const ALL: [SecurityQuestion; 7] = [
        SecurityQuestion::HighSchoolMascot,
        SecurityQuestion::FirstChildMiddleName,
        SecurityQuestion::HoneymoonDestination,
        SecurityQuestion::FirstCar,
        SecurityQuestion::FirstPetName,
        SecurityQuestion::StreetGrewUpOn,
        SecurityQuestion::MotherMaidenName,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SecurityQuestion::HighSchoolMascot => "high_school_mascot",
            SecurityQuestion::FirstChildMiddleName => "first_child_middle_name",
            SecurityQuestion::HoneymoonDestination => "honeymoon_destination",
            SecurityQuestion::FirstCar => "first_car",
            SecurityQuestion::FirstPetName => "first_pet_name",
            SecurityQuestion::StreetGrewUpOn => "street_grew_up_on",
            SecurityQuestion::MotherMaidenName => "mother_maiden_name",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            SecurityQuestion::HighSchoolMascot => "What was your high school mascot?",
            SecurityQuestion::FirstChildMiddleName => "What is your first child's middle name?",
            SecurityQuestion::HoneymoonDestination => "Where did you go on your honeymoon?",
            SecurityQuestion::FirstCar => "What was the make of your first car?",
            SecurityQuestion::FirstPetName => "What was your first pet's name?",
            SecurityQuestion::StreetGrewUpOn => "What street did you grow up on?",
            SecurityQuestion::MotherMaidenName => "What is your mother's maiden name?",
        }
    }

    pub fn parse(code: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|q| q.code() == code)
            .ok_or_else(|| Error::invalid("security_question", "Choose one of the questions."))
    }
}

/// Normalise a security answer: case-folded, inner whitespace collapsed, trimmed.
pub fn normalize_security_answer(raw: &str) -> Result<String, Error> {
    let s = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if s.is_empty() {
        return Err(Error::invalid("security_answer", "Enter an answer."));
    }
    if s.chars().count() > 200 {
        return Err(Error::invalid("security_answer", "At most 200 characters."));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_trimmed_and_compared_case_insensitively() {
        let e = Email::parse("  Rohit.G@ClientEngagementAcademy.com ").unwrap();
        assert_eq!(e.as_str(), "Rohit.G@ClientEngagementAcademy.com");
        assert_eq!(e.normalized(), "rohit.g@clientengagementacademy.com");
        assert_eq!(e.local_part(), "rohit.g");
    }

    #[test]
    fn stored_emails_read_back_as_parsed_in_any_script() {
        for raw in [
            "Rohit.G@ClientEngagementAcademy.com",
            "Jörg@Bücher.example",
            "ä@xn--bcher-kva.example",
        ] {
            let e = Email::parse(raw).unwrap();
            assert_eq!(Email::from_stored(e.as_str()).unwrap(), e);
        }
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a b@c.com",
            "a@b..com",
            "a@-b.com",
            ".a@b.com",
            "a@b.c0m",
            "a@@b.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse(&format!("{}@x.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn one_mailbox_has_one_canonical_form() {
        let u = Email::parse("idn@bücher.example").unwrap();
        let puny = Email::parse("idn@xn--bcher-kva.example").unwrap();
        let decomposed = Email::parse("idn@bu\u{0308}cher.example").unwrap();
        let upper = Email::parse(" IDN@BÜCHER.EXAMPLE ").unwrap();
        let wide_domain = Email::parse("idn@ｂüｃｈｅｒ.example").unwrap();
        for e in [&puny, &decomposed, &upper, &wide_domain] {
            assert_eq!(e.normalized(), "idn@xn--bcher-kva.example");
        }
        assert_eq!(u.normalized(), "idn@xn--bcher-kva.example");
        // What the person typed stays for display; sending uses the ASCII domain.
        assert_eq!(u.as_str(), "idn@bücher.example");
        assert_eq!(upper.mailbox(), "IDN@xn--bcher-kva.example");
        // Precomposed and decomposed local parts are one address too.
        let a = Email::parse("jürgen@example.com").unwrap();
        let b = Email::parse("ju\u{0308}rgen@example.com").unwrap();
        assert_eq!(a.normalized(), b.normalized());
        assert_eq!(a.as_str(), b.as_str());
    }

    #[test]
    fn invisible_and_look_alike_characters_are_refused() {
        for bad in [
            "ada\u{200B}@acme.example",
            "ada@ac\u{200B}me.example",
            "\u{FEFF}ada@acme.example",
            "ada\u{202E}@acme.example",
            "ada\u{00AD}@acme.example",
            "ada\u{FE0F}@acme.example",
            "ａｄａ@acme.example",
            "ﬁle@acme.example",
            "\"ada\"@acme.example",
            "ada\u{0007}@acme.example",
            "ada@acme.exam_ple",
        ] {
            let err = Email::parse(bad).expect_err(bad);
            assert!(err.to_string().len() > 5, "{bad:?}: {err}");
        }
    }

    #[test]
    fn app_ids_follow_the_pattern() {
        for ok in ["ab123", "zz0001", "qq1234567890"] {
            assert!(AppId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "AB123",
            "a1234",
            "ab12",
            "abc123",
            "ab12a",
            "ab1234567890x",
            "",
        ] {
            assert!(AppId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn security_answers_are_normalised() {
        assert_eq!(
            normalize_security_answer("  Elm   STREET ").unwrap(),
            "elm street"
        );
        assert!(normalize_security_answer("   ").is_err());
    }

    proptest! {
        #[test]
        fn random_app_ids_always_parse(seed in any::<u64>(), digits in 3usize..9) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let id = AppId::random(&mut rng, digits);
            prop_assert!(AppId::parse(id.as_str()).is_ok());
            prop_assert_eq!(id.as_str().len(), 2 + digits);
        }

        #[test]
        fn email_parse_never_panics(s in ".{0,300}") {
            let _ = Email::parse(&s);
        }

        #[test]
        fn parsed_emails_roundtrip(local in "[a-z0-9._%+-]{1,20}", dom in "[a-z]{1,10}\\.[a-z]{2,5}") {
            prop_assume!(!local.starts_with('.') && !local.ends_with('.') && !local.contains(".."));
            let raw = format!("{local}@{dom}");
            let e = Email::parse(&raw).unwrap();
            prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
        }

        #[test]
        fn stored_emails_read_back_as_parsed(
            local in "[A-Za-z0-9._%+-]{1,20}",
            dom in "[A-Za-z]{1,10}\\.[A-Za-z]{2,5}",
        ) {
            let Ok(e) = Email::parse(&format!("{local}@{dom}")) else { return Ok(()) };
            prop_assert_eq!(Email::from_stored(e.as_str()).unwrap(), e);
        }
    }
}
