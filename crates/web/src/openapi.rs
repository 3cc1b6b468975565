//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use crate::api;
use crate::dto::*;
use crate::openapi_rules::CommonAnswers;
use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Roster API", description = "User administration: apps, members, invitations, seats. Errors are application/problem+json (RFC 9457) with a stable `code`."),
    paths(
        api::healthz, api::ready::readyz, crate::metrics::metrics, api::identity::login, api::identity::logout, api::identity::me, api::account::leave_app, api::account::sessions, api::account::end_session, api::account::end_other_sessions,
        api::members::list_members, api::members::get_member, api::members::patch_member,
        api::invitations::invite, api::invitations::list_invitations, api::invitations::resend,
        api::invitations::revoke, api::notifications::get_settings, api::notifications::patch_settings,
        api::accept::public_invitation, api::accept::accept,
        api::seats::seats, api::seats::buy_seats, api::audit::audit, api::audit::security_activity,
        api::password::forgot, api::password::reset, api::password::change,
        api::login_email::request_change, api::login_email::confirm,
        api::terms::current, api::terms::accept,
        api::two_step::second_factor, api::two_step::email_code, api::two_step::status,
        api::two_step::start_totp, api::two_step::confirm_totp, api::two_step::enable_email,
        api::two_step::backup_codes, api::two_step::disable, api::two_step::forget_browsers,
        api::two_step::app_requirement,
        api::passkeys::list, api::passkeys::remove, api::passkeys::register_start,
        api::passkeys::register_finish, api::passkeys::sign_in_start, api::passkeys::sign_in_finish,
        api::passkeys::second_step_start,
        api::api_keys::create_key, api::api_keys::list_keys, api::api_keys::revoke_key,
        api::bulk::invite_bulk,
        api::webhooks::create_webhook, api::webhooks::list_webhooks, api::webhooks::get_webhook,
        api::webhooks::delete_webhook, api::webhooks::deliveries, api::webhooks::send_test,
        api::seat_requests::ledger, api::seat_requests::list_requests, api::seat_requests::request_seats,
        api::profile::get_profile, api::profile::put_details, api::profile::put_signature, api::profile::get_logo, api::profile::put_logo, api::profile::delete_logo, api::scim_settings::get_settings, api::scim_settings::put_settings, api::invitation_links::new_link
    ),
    components(schemas(
        LoginRequest, SessionResponse, AppSummary, MeResponse, MemberDto, MembersPage, PatchMember,
        InviteBody, InvitationDto, InvitationsPage, DeliveryDto, DeliveryState, api::invitations::ResendBody,
        api::notifications::NotificationKindDto, api::notifications::NotificationSettingsDto, api::notifications::NotificationSettingsBody, PublicInvitation, SecurityQuestionOption, AcceptBody, SeatsDto, BuySeats,
        api::audit::AuditDto, api::audit::AuditPage, Health,
        api::password::ForgotBody, api::password::Accepted, api::password::ResetBody, api::password::ChangePasswordBody,
        api::login_email::EmailChangeBody, api::login_email::ConfirmEmailBody, api::login_email::EmailChanged,
        api::terms::TermsDto, api::terms::AcceptTermsBody,
        api::two_step::SecondFactorBody, api::two_step::ChallengeBody, api::two_step::TwoStepStatus,
        api::two_step::TotpSetup, api::two_step::CodeBody, api::two_step::PasswordBody,
        api::two_step::EnrolledDto, api::two_step::BackupCodes, api::two_step::RequirementBody,
        api::passkeys::CeremonyDto, api::passkeys::RegisterFinishBody, api::passkeys::SignInFinishBody,
        api::passkeys::ChallengeOnly, api::passkeys::PasskeyDto, SessionDto, SessionsPage, SessionsEnded,
        api::api_keys::KeyKindDto, api::api_keys::ScopeDto, api::api_keys::CreateKeyBody, api::api_keys::ApiKeyDto,
        api::api_keys::KeyStateDto, api::api_keys::CreatedKeyDto, api::api_keys::ApiKeysPage,
        api::bulk::BulkRowDto, api::bulk::BulkRowResult, api::bulk::BulkRowStatus, api::bulk::BulkErrorCode, api::bulk::BulkResult,
        api::webhooks::WebhookEventName, api::webhooks::CreateWebhookBody, api::webhooks::WebhookDto, api::webhooks::CreatedWebhookDto,
        api::webhooks::WebhooksList, api::webhooks::WebhookDeliveryState, api::webhooks::WebhookDeliveryDto, api::webhooks::WebhookDeliveries,
        api::seat_requests::LedgerKind, api::seat_requests::LedgerEntryDto, api::seat_requests::LedgerPage, api::seat_requests::RequestStatus,
        api::seat_requests::SeatRequestDto, api::seat_requests::SeatRequestsList, api::seat_requests::SeatRequestBody,
        api::profile::ProfileDto, api::scim_settings::ScimSettings, api::scim_settings::ScimProvisioningDto, api::profile::DetailsBody, api::profile::SignatureBody,
        crate::problem::ProblemDoc, crate::problem::FieldProblem, crate::problem::PasswordRuleDoc,
        crate::problem::SecondFactorMethod, crate::problem::ProblemSeats,
        MemberKindDto, MemberStatusDto, InvitationStatusDto, NotificationKindName, StatusChangeDto,
        QuestionModeDto, HealthStatus, Backend, api::ready::Readiness, api::ready::ReadyStatus,
        api::ready::ReadyCheck, api::ready::ReadyCheckName, api::ready::FailedCheck, api::members::MemberFilterDto, api::password::AcceptedStatus
    )),
    modifiers(&BearerAuth, &CommonAnswers)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Roster-Api-Key"))),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::extract::SESSION_COOKIE,
            ))),
        );
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
