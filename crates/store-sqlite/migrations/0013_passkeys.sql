-- J7: passkeys (WebAuthn), as a second step and to sign in without a password.

-- A registered passkey: its credential id, and the verified credential as webauthn-rs keeps it
-- (public key, counter, flags) in JSON.
CREATE TABLE passkeys (
    cred_id      BLOB PRIMARY KEY NOT NULL,
    identity_id  BLOB NOT NULL REFERENCES identities (id),
    name         TEXT NOT NULL,
    credential   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;
CREATE INDEX passkeys_identity ON passkeys (identity_id);

-- A WebAuthn ceremony in progress (its server-side state), used once.
CREATE TABLE webauthn_ceremonies (
    token_hash  BLOB PRIMARY KEY NOT NULL,
    identity_id BLOB,
    purpose     TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in', 'second_factor')),
    state       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
