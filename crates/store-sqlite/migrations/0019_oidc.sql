-- The OpenID Connect provider: clients, signing keys, grants with their codes and refresh
-- tokens, consents, and back-channel logouts (an outbox of their own). Lists of URIs are JSON
-- arrays of strings; scopes and amr values are joined by single spaces.

-- A relying party registered by the operator. secret_hash NULL: a public client (PKCE).
CREATE TABLE oidc_clients (
    client_id                 TEXT PRIMARY KEY NOT NULL,
    name                      TEXT NOT NULL,
    secret_hash               BLOB,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    first_party               INTEGER NOT NULL CHECK (first_party IN (0, 1)),
    back_channel_logout_uri   TEXT,
    id_token_alg              TEXT NOT NULL CHECK (id_token_alg IN ('RS256', 'EdDSA')),
    created_at                INTEGER NOT NULL
) STRICT;

-- Signing keys; the private part is sealed with the server's secret key.
CREATE TABLE oidc_signing_keys (
    kid            TEXT PRIMARY KEY NOT NULL,
    alg            TEXT NOT NULL CHECK (alg IN ('RS256', 'EdDSA')),
    private_sealed BLOB NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    activates_at   INTEGER NOT NULL
) STRICT;

-- One sign-in of an ID into one app through one client (its id is the sid).
CREATE TABLE oauth_grants (
    id           BLOB PRIMARY KEY NOT NULL,
    client_id    TEXT NOT NULL REFERENCES oidc_clients (client_id),
    identity_id  BLOB NOT NULL REFERENCES identities (id),
    app_id       TEXT NOT NULL REFERENCES apps (app_id),
    member_id    BLOB NOT NULL REFERENCES members (id),
    scopes       TEXT NOT NULL,
    nonce        TEXT,
    auth_time    INTEGER NOT NULL,
    amr          TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
) STRICT;
CREATE INDEX oauth_grants_member ON oauth_grants (app_id, member_id) WHERE revoked_at IS NULL;
CREATE INDEX oauth_grants_identity ON oauth_grants (identity_id) WHERE revoked_at IS NULL;

-- Authorization codes (only their hashes), single use.
CREATE TABLE oauth_codes (
    code_hash      BLOB PRIMARY KEY NOT NULL,
    grant_id       BLOB NOT NULL REFERENCES oauth_grants (id),
    client_id      TEXT NOT NULL REFERENCES oidc_clients (client_id),
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
) STRICT;

-- Refresh tokens (only their hashes), rotated at each use.
CREATE TABLE oauth_refresh_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    grant_id   BLOB NOT NULL REFERENCES oauth_grants (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);

-- What an ID allowed a client to have in one app.
CREATE TABLE oidc_consents (
    identity_id  BLOB NOT NULL REFERENCES identities (id),
    client_id    TEXT NOT NULL REFERENCES oidc_clients (client_id),
    app_id       TEXT NOT NULL REFERENCES apps (app_id),
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    PRIMARY KEY (identity_id, client_id, app_id)
) STRICT;

-- Back-channel logouts to deliver (claimed by a worker until claimed_until).
CREATE TABLE oidc_backchannel_logouts (
    id              BLOB PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oidc_clients (client_id),
    uri             TEXT NOT NULL,
    sub             TEXT NOT NULL,
    sid             BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT,
    claimed_by      TEXT,
    claimed_until   INTEGER
) STRICT;
CREATE INDEX oidc_backchannel_logouts_due ON oidc_backchannel_logouts (next_attempt_at)
    WHERE delivered_at IS NULL;
CREATE INDEX oidc_backchannel_logouts_client ON oidc_backchannel_logouts (client_id, created_at DESC);

-- How each login was made (OpenID Connect amr values, space-separated).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
