//! JSON shapes of the API (documented in the OpenAPI document).

use roster_core::model::{Invitation, InvitationStatus, Member, NotificationKind, SeatSummary};
use roster_core::types::{MemberKind, MemberStatus, SecurityQuestion};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A schema enum mirroring a core enum (same variants, snake_case on the wire), both ways.
macro_rules! mirror {
    ($(#[$m:meta])* $dto:ident <=> $core:ident { $($(#[$vm:meta])* $v:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        #[serde(rename_all = "snake_case")]
        pub enum $dto { $($(#[$vm])* $v),* }

        impl From<$core> for $dto {
            fn from(v: $core) -> Self {
                match v { $($core::$v => $dto::$v),* }
            }
        }

        impl From<$dto> for $core {
            fn from(v: $dto) -> Self {
                match v { $($dto::$v => $core::$v),* }
            }
        }
    };
}
pub(crate) use mirror;

mirror! {
    /// `user` (holds a seat) or `partner` (an outside person: no seat, a "P" badge in lists).
    MemberKindDto <=> MemberKind { User, Partner }
}

mirror! {
    /// A membership's state (`removed` only for members taken out of the app entirely).
    MemberStatusDto <=> MemberStatus { Invited, Active, Inactive, Removed }
}

mirror! {
    /// An invitation's state as of now.
    InvitationStatusDto <=> InvitationStatus { Pending, Accepted, Revoked, Expired, Replaced }
}

mirror! {
    /// A kind of email an admin gets about their app.
    NotificationKindName <=> NotificationKind { Invited, Joined, AdminChanged, StatusChanged, Left }
}

pub fn ts(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@acme.example", "password": "Blue-Kettle-42", "app_id": "ab123"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Log straight into this app (the session is then bound to it).
    pub app_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    /// The session token: send it as `Authorization: Bearer <token>` (the cookie carries it too).
    pub token: String,
    pub expires_at: String,
    pub app_id: Option<String>,
    /// Where the browser goes next.
    pub location: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AppSummary {
    pub app_id: String,
    pub name: String,
    pub admin: bool,
    pub kind: MemberKindDto,
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    /// The terms version this ID must agree to (POST /api/v1/me/terms) before going on.
    pub terms_pending: Option<String>,
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub apps: Vec<AppSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberDto {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub kind: MemberKindDto,
    pub admin: bool,
    pub status: MemberStatusDto,
    pub holds_seat: bool,
    pub last_login_at: Option<String>,
}

impl From<Member> for MemberDto {
    fn from(m: Member) -> Self {
        MemberDto {
            id: m.id.to_string(),
            email: m.email.to_string(),
            first_name: m.first_name,
            last_name: m.last_name,
            kind: m.kind.into(),
            admin: m.admin,
            status: m.status.into(),
            holds_seat: m.holds_seat,
            last_login_at: m.last_login_at.map(ts),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MembersPage {
    pub items: Vec<MemberDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A change of status asked for: `active` reactivates, `inactive` deactivates.
#[derive(Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StatusChangeDto {
    Active,
    Inactive,
}

/// Send `admin`, `status` or both.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "inactive", "records_to": "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"}))]
pub struct PatchMember {
    pub admin: Option<bool>,
    pub status: Option<StatusChangeDto>,
    /// On deactivation: the member who receives the deactivated member's records.
    pub records_to: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "rohit@example.com", "first_name": "Rohit", "last_name": "Gupta", "admin": true, "kind": "user"}))]
pub struct InviteBody {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default)]
    pub admin: bool,
    /// Default `user`.
    #[serde(default = "default_kind")]
    #[schema(default = "user")]
    pub kind: MemberKindDto,
}

fn default_kind() -> MemberKindDto {
    MemberKindDto::User
}

#[derive(Serialize, ToSchema)]
pub struct InvitationDto {
    pub id: String,
    pub member_id: String,
    pub email: String,
    pub kind: MemberKindDto,
    pub admin: bool,
    pub status: InvitationStatusDto,
    pub inviter_name: String,
    pub created_at: String,
    pub expires_at: String,
    pub ended_at: Option<String>,
    /// The accept link: only in the answer to create and resend (the token is not stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_url: Option<String>,
    /// What became of the invitation email (in lists; absent when no email was sent, e.g. a
    /// copied link).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryDto>,
}

/// What became of an email: `queued`, `delivered` (with `at`), `retrying` (with
/// `next_attempt_at` and the server's `error`) or `undeliverable` (with the server's `error`).
#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    #[schema(example = "undeliverable")]
    pub state: DeliveryState,
    pub at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Queued,
    Delivered,
    Retrying,
    Undeliverable,
}

impl From<&roster_core::model::Delivery> for DeliveryDto {
    fn from(d: &roster_core::model::Delivery) -> Self {
        use roster_core::model::Delivery as D;
        match d {
            D::Queued => DeliveryDto {
                state: DeliveryState::Queued,
                at: None,
                next_attempt_at: None,
                error: None,
            },
            D::Delivered { at } => DeliveryDto {
                state: DeliveryState::Delivered,
                at: Some(ts(*at)),
                next_attempt_at: None,
                error: None,
            },
            D::Retrying {
                next_attempt_at,
                error,
            } => DeliveryDto {
                state: DeliveryState::Retrying,
                at: None,
                next_attempt_at: Some(ts(*next_attempt_at)),
                error: Some(error.clone()),
            },
            D::Undeliverable { error } => DeliveryDto {
                state: DeliveryState::Undeliverable,
                at: None,
                next_attempt_at: None,
                error: Some(error.clone()),
            },
        }
    }
}

impl InvitationDto {
    pub fn new(i: Invitation, now: OffsetDateTime, accept_url: Option<String>) -> Self {
        let status: InvitationStatus = i.effective_status(now);
        InvitationDto {
            id: i.id.to_string(),
            member_id: i.member_id.to_string(),
            email: i.email.to_string(),
            kind: i.kind.into(),
            admin: i.admin,
            status: status.into(),
            inviter_name: i.inviter_name,
            created_at: ts(i.created_at),
            expires_at: ts(i.expires_at),
            ended_at: i.ended_at.map(ts),
            accept_url,
            delivery: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InvitationsPage {
    pub items: Vec<InvitationDto>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PublicInvitation {
    pub app_name: String,
    pub app_id: String,
    pub inviter_name: String,
    pub email: String,
    pub kind: MemberKindDto,
    pub admin: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Whether an ID already exists for the invited email ("log in" rather than "create").
    pub id_exists: bool,
    pub expires_at: String,
    pub security_question_mode: QuestionModeDto,
    /// The security questions to choose from when creating an ID (send `key` as
    /// `security_question`).
    pub security_questions: Vec<SecurityQuestionOption>,
}

/// Whether creating an ID asks a security question.
#[derive(Serialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QuestionModeDto {
    Required,
    Optional,
    Off,
}

/// One security question: its stable key and the question as shown to a person.
#[derive(Serialize, ToSchema)]
pub struct SecurityQuestionOption {
    #[schema(schema_with = security_question_schema)]
    pub key: String,
    pub label: String,
}

impl SecurityQuestionOption {
    pub fn all() -> Vec<SecurityQuestionOption> {
        SecurityQuestion::ALL
            .iter()
            .map(|q| SecurityQuestionOption {
                key: q.code().to_string(),
                label: q.text().to_string(),
            })
            .collect()
    }
}

/// The security question keys as an enum in the schema, from the one list in core.
fn security_question_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(SecurityQuestion::ALL.iter().map(|q| q.code())))
        .description(Some(
            "A security question key; `GET /api/v1/invitations/{token}` lists them with their labels.",
        ))
        .build()
}

/// Either a new ID (first_name, password, security question and answer, accept_terms) or an
/// existing one (password only, or an existing session for the invited ID).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"first_name": "Ada", "last_name": "Admin", "password": "Blue-Kettle-42",
    "security_question": "first_pet_name", "security_answer": "Rex", "accept_terms": true}))]
pub struct AcceptBody {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password: Option<String>,
    #[schema(schema_with = security_question_schema)]
    pub security_question: Option<String>,
    pub security_answer: Option<String>,
    pub accept_terms: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct SeatsDto {
    pub purchased: i64,
    pub complimentary: i64,
    pub total: i64,
    pub used: i64,
    pub available: i64,
}

impl From<SeatSummary> for SeatsDto {
    fn from(s: SeatSummary) -> Self {
        SeatsDto {
            purchased: s.purchased,
            complimentary: s.complimentary,
            total: s.total,
            used: s.used,
            available: s.available,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quantity": 1}))]
pub struct BuySeats {
    pub quantity: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: HealthStatus,
    pub backend: Backend,
}

/// Always `ok` (a failing database answers 503 instead).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
}

/// The database behind this node.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One of the ID's sessions.
#[derive(Serialize, ToSchema)]
pub struct SessionDto {
    pub id: String,
    /// The browser and system, read from the User-Agent ("Firefox on Linux").
    pub device: String,
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
    /// The app the session was started through, if any.
    pub app_id: Option<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    /// The session this request came with.
    pub current: bool,
}

impl From<roster_core::service::SessionInfo> for SessionDto {
    fn from(i: roster_core::service::SessionInfo) -> Self {
        let s = i.session;
        SessionDto {
            id: s.id.to_string(),
            device: crate::device::describe(s.user_agent.as_deref()),
            user_agent: s.user_agent,
            client_addr: s.client_addr,
            app_id: s.app_id.map(|a| a.to_string()),
            created_at: ts(s.created_at),
            last_seen_at: ts(s.last_seen_at),
            expires_at: ts(s.expires_at),
            current: i.current,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionsPage {
    pub items: Vec<SessionDto>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionsEnded {
    pub ended: u64,
}
