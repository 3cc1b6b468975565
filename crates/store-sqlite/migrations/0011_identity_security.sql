-- J7: the ID secured and self-served.

-- Login attempts being verified right now (reserved, not yet failed): bounded so that parallel
-- guesses cannot exceed the failure limit, and never counted as failures.
ALTER TABLE identities ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;
ALTER TABLE identities ADD COLUMN in_flight_at INTEGER;
ALTER TABLE identities ADD COLUMN password_changed_at INTEGER;

-- Single-use links sent to an ID's mailbox: password resets (with an 8-digit code) and login
-- email changes (to the new address). Only hashes are stored.
CREATE TABLE identity_tokens (
    id             BLOB PRIMARY KEY NOT NULL,
    identity_id    BLOB NOT NULL REFERENCES identities (id),
    purpose        TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_change')),
    token_hash     BLOB NOT NULL UNIQUE,
    code_hash      BLOB,
    new_email      TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    tries          INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX identity_tokens_identity ON identity_tokens (identity_id, purpose, created_at);

-- The ID's previous password hashes (a new password may not be one of the last 4).
CREATE TABLE password_history (
    identity_id   BLOB NOT NULL REFERENCES identities (id),
    password_hash TEXT NOT NULL,
    replaced_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX password_history_identity ON password_history (identity_id, replaced_at);

-- Fixed-window request counters per client address and action, shared by every node.
CREATE TABLE throttle (
    key          TEXT PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL
) STRICT;

-- Published terms of use, and every agreement to them.
CREATE TABLE terms_versions (
    version      TEXT PRIMARY KEY NOT NULL,
    body_html    TEXT NOT NULL,
    published_at INTEGER NOT NULL
) STRICT;
CREATE TABLE terms_acceptances (
    identity_id BLOB NOT NULL REFERENCES identities (id),
    version     TEXT NOT NULL,
    accepted_at INTEGER NOT NULL,
    PRIMARY KEY (identity_id, version)
) STRICT;

-- Every audit event records the requester's User-Agent; the ID's own activity is found by actor.
ALTER TABLE audit_log ADD COLUMN user_agent TEXT;
CREATE INDEX audit_actor ON audit_log (actor_id, at);
