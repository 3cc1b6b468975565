-- Issue 12: the operators of Roster (support) and suspended apps.

-- An ID that may open the operator console (with two-step verification set up).
CREATE TABLE operators (
    identity_id UUID PRIMARY KEY REFERENCES identities (id),
    added_at    TIMESTAMPTZ NOT NULL,
    added_by    TEXT NOT NULL
);

-- When set, the app's members cannot use it (pages, API keys, tokens) until it is resumed.
ALTER TABLE apps ADD COLUMN suspended_at TIMESTAMPTZ;

-- An invitation to become an operator, for a person without a Roster ID yet (token hashed).
CREATE TABLE operator_invites (
    token_hash BYTEA PRIMARY KEY,
    email      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

-- Housekeeping forgets revoked sign-ins (issue 11) without reading every grant.
CREATE INDEX oauth_grants_revoked ON oauth_grants (revoked_at) WHERE revoked_at IS NOT NULL;
