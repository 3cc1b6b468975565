//! The store conformance suite against every backend (PostgreSQL when ROSTER_TEST_POSTGRES_URL is set).

mod sqlite {
    roster_testkit::conformance_tests!(
        roster_testkit::Backend::Sqlite,
        apps_and_seats,
        rollback_leaves_nothing,
        identities_are_unique_by_email,
        members_list_filter_search_and_page,
        invitations_tokens_and_expiry,
        sessions,
        outbox_claim_lease_complete_retry,
        audit_is_listed_per_app,
        profiles_seat_requests_and_setup_links,
        ; with_url:
        member_list_uses_indexes_at_scale,
        email_norm_renormalisation_reports_collisions,
    );
}

mod postgres {
    roster_testkit::conformance_tests!(
        roster_testkit::Backend::Postgres,
        apps_and_seats,
        rollback_leaves_nothing,
        identities_are_unique_by_email,
        members_list_filter_search_and_page,
        invitations_tokens_and_expiry,
        sessions,
        outbox_claim_lease_complete_retry,
        audit_is_listed_per_app,
        profiles_seat_requests_and_setup_links,
        ; with_url:
        member_list_uses_indexes_at_scale,
        email_norm_renormalisation_reports_collisions,
    );
}
