-- J7: two-step verification.

-- An authenticator app (TOTP) of an ID: the secret sealed with the server's secret key; active
-- once a first code was entered; the last time step used (a code is never accepted twice).
CREATE TABLE totp_factors (
    identity_id  UUID PRIMARY KEY REFERENCES identities (id),
    secret_enc   BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ,
    last_step    BIGINT NOT NULL DEFAULT 0
);

-- Email codes as a second factor, chosen by the ID.
ALTER TABLE identities ADD COLUMN email_second_factor BOOLEAN NOT NULL DEFAULT FALSE;

-- Single-use backup codes, stored hashed.
CREATE TABLE backup_codes (
    identity_id UUID NOT NULL REFERENCES identities (id),
    code_hash   BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    PRIMARY KEY (identity_id, code_hash)
);

-- A login waiting for its second step (the password was right).
CREATE TABLE login_challenges (
    token_hash       BYTEA PRIMARY KEY,
    identity_id      UUID NOT NULL REFERENCES identities (id),
    app_id           TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    email_code_hash  BYTEA,
    email_code_until TIMESTAMPTZ,
    email_code_tries BIGINT NOT NULL DEFAULT 0,
    used_at          TIMESTAMPTZ
);

-- "Trust this browser for 30 days": a signed-in browser skips the second step; revocable.
CREATE TABLE trusted_devices (
    token_hash  BYTEA PRIMARY KEY,
    identity_id UUID NOT NULL REFERENCES identities (id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX trusted_devices_identity ON trusted_devices (identity_id);

-- Per app: members must use two-step verification.
ALTER TABLE apps ADD COLUMN require_second_factor BOOLEAN NOT NULL DEFAULT FALSE;
