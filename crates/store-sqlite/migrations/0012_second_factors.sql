-- J7: two-step verification.

-- An authenticator app (TOTP) of an ID: the secret sealed with the server's secret key; active
-- once a first code was entered; the last time step used (a code is never accepted twice).
CREATE TABLE totp_factors (
    identity_id  BLOB PRIMARY KEY NOT NULL REFERENCES identities (id),
    secret_enc   BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Email codes as a second factor, chosen by the ID.
ALTER TABLE identities ADD COLUMN email_second_factor INTEGER NOT NULL DEFAULT 0;

-- Single-use backup codes, stored hashed.
CREATE TABLE backup_codes (
    identity_id BLOB NOT NULL REFERENCES identities (id),
    code_hash   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (identity_id, code_hash)
) STRICT;

-- A login waiting for its second step (the password was right).
CREATE TABLE login_challenges (
    token_hash       BLOB PRIMARY KEY NOT NULL,
    identity_id      BLOB NOT NULL REFERENCES identities (id),
    app_id           TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    email_code_hash  BLOB,
    email_code_until INTEGER,
    email_code_tries INTEGER NOT NULL DEFAULT 0,
    used_at          INTEGER
) STRICT;

-- "Trust this browser for 30 days": a signed-in browser skips the second step; revocable.
CREATE TABLE trusted_devices (
    token_hash  BLOB PRIMARY KEY NOT NULL,
    identity_id BLOB NOT NULL REFERENCES identities (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX trusted_devices_identity ON trusted_devices (identity_id);

-- Per app: members must use two-step verification.
ALTER TABLE apps ADD COLUMN require_second_factor INTEGER NOT NULL DEFAULT 0;
