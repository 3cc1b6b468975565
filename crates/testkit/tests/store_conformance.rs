//! The store conformance suite against every backend (PostgreSQL ones are ignored unless ROSTER_TEST_POSTGRES_URL is set).

mod sqlite {
    roster_testkit::conformance_tests!(
        sqlite,
        apps_and_seats,
        rollback_leaves_nothing,
        identities_are_unique_by_email,
        members_list_filter_search_and_page,
        invitations_tokens_and_expiry,
        sessions,
        outbox_claim_lease_complete_retry,
        audit_is_listed_per_app,
        profiles_seat_requests_and_setup_links,
        identity_profile_is_one_per_id,
        seat_requests_are_answered_once,
        server_secrets_are_made_once_and_shared,
        identity_tokens_are_single_use,
        password_history_and_login_email_change,
        throttle_counts_in_fixed_windows,
        terms_versions_and_agreements,
        audit_filters_and_pages,
        second_factors_challenges_and_trusted_browsers,
        outbox_leases_are_renewed_and_run_out,
        outbox_pages_through_everything_by_status,
        a_restarted_node_takes_back_its_own_claims,
        waiting_messages_merge_until_claimed,
        notification_choices_and_reminder_setting,
        ; with_url:
        member_list_uses_indexes_at_scale,
        email_norm_renormalisation_reports_collisions,
    );
}

mod postgres {
    roster_testkit::conformance_tests!(
        postgres,
        apps_and_seats,
        rollback_leaves_nothing,
        identities_are_unique_by_email,
        members_list_filter_search_and_page,
        invitations_tokens_and_expiry,
        sessions,
        outbox_claim_lease_complete_retry,
        audit_is_listed_per_app,
        profiles_seat_requests_and_setup_links,
        identity_profile_is_one_per_id,
        seat_requests_are_answered_once,
        server_secrets_are_made_once_and_shared,
        identity_tokens_are_single_use,
        password_history_and_login_email_change,
        throttle_counts_in_fixed_windows,
        terms_versions_and_agreements,
        audit_filters_and_pages,
        second_factors_challenges_and_trusted_browsers,
        outbox_leases_are_renewed_and_run_out,
        outbox_pages_through_everything_by_status,
        a_restarted_node_takes_back_its_own_claims,
        waiting_messages_merge_until_claimed,
        notification_choices_and_reminder_setting,
        ; with_url:
        member_list_uses_indexes_at_scale,
        email_norm_renormalisation_reports_collisions,
    );
}
