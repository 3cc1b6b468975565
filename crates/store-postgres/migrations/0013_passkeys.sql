-- J7: passkeys (WebAuthn), as a second step and to sign in without a password.

-- A registered passkey: its credential id, and the verified credential as webauthn-rs keeps it
-- (public key, counter, flags) in JSON.
CREATE TABLE passkeys (
    cred_id      BYTEA PRIMARY KEY,
    identity_id  UUID NOT NULL REFERENCES identities (id),
    name         TEXT NOT NULL,
    credential   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX passkeys_identity ON passkeys (identity_id);

-- A WebAuthn ceremony in progress (its server-side state), used once.
CREATE TABLE webauthn_ceremonies (
    token_hash  BYTEA PRIMARY KEY,
    identity_id UUID,
    purpose     TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in', 'second_factor')),
    state       TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
