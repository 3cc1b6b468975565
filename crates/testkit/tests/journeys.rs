//! End-to-end journeys through the real HTTP API on a fresh SQLite file.

#[path = "journeys/accept.rs"]
mod accept;
#[path = "journeys/account.rs"]
mod account;
#[path = "journeys/api_keys.rs"]
mod api_keys;
#[path = "journeys/bulk.rs"]
mod bulk;
#[path = "journeys/coverage.rs"]
mod coverage;
#[path = "journeys/identity.rs"]
mod identity;
#[path = "journeys/invitations.rs"]
mod invitations;
#[path = "journeys/isolation.rs"]
mod isolation;
#[path = "journeys/mail.rs"]
mod mail;
#[path = "journeys/members.rs"]
mod members;
#[path = "journeys/notifications.rs"]
mod notifications;
#[path = "journeys/openapi.rs"]
mod openapi;
#[path = "journeys/password.rs"]
mod password;
#[path = "journeys/scim.rs"]
mod scim;
#[path = "journeys/scim_provision.rs"]
mod scim_provision;
#[path = "journeys/seats.rs"]
mod seats;
#[path = "journeys/terms_audit.rs"]
mod terms_audit;
#[path = "journeys/two_step.rs"]
mod two_step;
#[path = "journeys/webhooks.rs"]
mod webhooks;

use accept::*;
use account::*;
use api_keys::*;
use bulk::*;
use coverage::*;
use identity::*;
use invitations::*;
use isolation::*;
use mail::*;
use members::*;
use notifications::*;
use openapi::*;
use password::*;
use scim::*;
use scim_provision::*;
use seats::*;
use terms_audit::*;
use two_step::*;
use webhooks::*;

roster_testkit::on_every_backend!(
    the_seed_journey_rohit_as_admin_and_mike_as_partner,
    third_user_without_a_seat_is_refused_until_a_seat_is_bought,
    an_id_of_app_a_joins_app_b_with_its_password_and_keeps_a,
    a_logged_in_id_cannot_use_up_someone_elses_invitation,
    unusable_tokens_each_get_their_own_code,
    password_rules_are_reported_by_name_and_all_at_once,
    the_security_answer_is_never_returned,
    fifty_concurrent_invitations_against_ten_free_seats,
    deactivation_frees_the_seat_and_ends_sessions_reactivation_needs_one,
    the_last_admin_cannot_be_demoted_or_deactivated,
    a_member_of_app_a_gets_404_on_every_app_b_route,
    bad_input_gets_4xx_problem_json_never_500,
    a_failed_delivery_is_retried_and_later_delivered,
    a_restart_delivers_what_was_pending,
    parallel_wrong_passwords_cannot_bypass_the_lockout,
    health_and_openapi_are_served,
    security_questions_are_published_as_a_list_and_an_enum,
    logout_ends_the_session,
    a_member_leaves_an_app_its_seat_is_freed_and_its_admins_are_told,
    an_id_sees_its_sessions_and_ends_them,
    sessions_expire_when_idle,
    members_list_filters_searches_and_pages,
    control_characters_in_searches_are_dropped,
    inviting_twice_or_a_member_is_a_clear_error,
    idn_spellings_of_one_address_are_one_invitation,
    parallel_correct_logins_are_never_refused,
    unknown_email_locks_like_a_real_id,
    forgot_password_answers_the_same_and_a_reset_works_once,
    the_emailed_code_works_and_five_wrong_codes_void_it,
    a_locked_owner_gets_back_in_with_the_emailed_reset,
    changing_the_password_ends_other_sessions_and_renews_this_one,
    the_login_email_changes_only_when_the_new_address_confirms,
    forgot_password_is_throttled_per_client_address,
    a_new_terms_version_must_be_agreed_to_before_going_on,
    admins_filter_and_page_the_audit_log_and_see_members_failed_logins,
    an_authenticator_app_guards_the_login_and_its_codes_work_once,
    wrong_second_steps_count_towards_the_lockout,
    email_codes_and_a_trusted_browser,
    an_app_that_requires_two_step_walks_members_through_enrolment,
    the_operator_resets_second_factors,
    a_known_password_does_not_reset_the_count_of_wrong_codes,
    a_hundred_parallel_wrong_passwords_verify_exactly_five,
    accepting_an_invitation_with_a_password_needs_the_second_step,
    second_steps_change_only_soon_after_a_login,
    a_permanent_refusal_stops_at_once_with_the_servers_reply,
    a_stopping_worker_finishes_the_message_in_hand_and_hands_back_the_rest,
    admins_are_told_grouped_and_each_chooses_what_they_get,
    members_are_told_of_their_role_and_buyers_get_a_receipt,
    an_unanswered_invitation_is_reminded_once_and_both_links_work,
    an_invitation_shows_what_became_of_its_email,
    a_sign_in_from_a_new_browser_is_told_to_the_owner,
    a_personal_key_can_do_exactly_what_its_member_can,
    revoked_expired_and_deactivated_members_keys_get_401_at_once,
    a_service_key_acts_as_admin_in_its_app_only,
    an_idempotency_key_replays_the_first_answer,
    twenty_concurrent_posts_with_one_key_create_one_invitation,
    a_stale_if_match_gets_412,
    a_bulk_list_invites_each_row_on_its_own_in_list_order,
    webhooks_report_every_change_signed_and_retried,
    a_delivery_that_keeps_failing_is_given_up_and_logged,
    an_identity_provider_provisions_people_over_scim,
    scim_can_make_active_members_and_ids_their_owners_claim,
    the_api_has_the_ledger_seat_requests_profile_and_copy_link,
    the_openapi_document_is_exact,
    every_operation_answers_only_what_it_documents,
);
