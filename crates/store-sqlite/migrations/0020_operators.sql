-- Issue 12: the operators of Roster (support) and suspended apps.

-- An ID that may open the operator console (with two-step verification set up).
CREATE TABLE operators (
    identity_id BLOB PRIMARY KEY NOT NULL REFERENCES identities (id),
    added_at    INTEGER NOT NULL,
    added_by    TEXT NOT NULL
) STRICT;

-- When set, the app's members cannot use it (pages, API keys, tokens) until it is resumed.
ALTER TABLE apps ADD COLUMN suspended_at INTEGER;

-- An invitation to become an operator, for a person without a Roster ID yet (token hashed).
CREATE TABLE operator_invites (
    token_hash BLOB PRIMARY KEY NOT NULL,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

-- Housekeeping forgets revoked sign-ins (issue 11) without reading every grant.
CREATE INDEX oauth_grants_revoked ON oauth_grants (revoked_at) WHERE revoked_at IS NOT NULL;
