-- Roster schema, PostgreSQL flavour. The same tables, names and constraints as SQLite's.

CREATE TABLE apps (
    app_id              TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    seats_purchased     BIGINT NOT NULL CHECK (seats_purchased >= 0),
    seats_complimentary BIGINT NOT NULL DEFAULT 0 CHECK (seats_complimentary >= 0),
    seats_held          BIGINT NOT NULL DEFAULT 0 CHECK (seats_held >= 0),
    created_at          TIMESTAMPTZ NOT NULL,
    -- the seat invariant, enforced by the database as a last line of defence
    CHECK (seats_held <= seats_purchased + seats_complimentary)
);

CREATE TABLE identities (
    id                   UUID PRIMARY KEY,
    email                TEXT NOT NULL,
    email_norm           TEXT NOT NULL UNIQUE,
    first_name           TEXT NOT NULL,
    last_name            TEXT,
    password_hash        TEXT NOT NULL,
    security_question    TEXT,
    security_answer_hash TEXT,
    terms_version        TEXT,
    terms_accepted_at    TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    failed_count         BIGINT NOT NULL DEFAULT 0,
    window_start         TIMESTAMPTZ,
    lock_level           BIGINT NOT NULL DEFAULT 0,
    locked_until         TIMESTAMPTZ
);

CREATE TABLE seat_ledger (
    id       UUID PRIMARY KEY,
    app_id   TEXT NOT NULL REFERENCES apps (app_id),
    at       TIMESTAMPTZ NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('initial', 'purchase', 'complimentary')),
    quantity BIGINT NOT NULL,
    actor    UUID REFERENCES identities (id)
);
CREATE INDEX seat_ledger_app ON seat_ledger (app_id, at);

CREATE TABLE members (
    id            UUID PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps (app_id),
    identity_id   UUID REFERENCES identities (id),
    email         TEXT NOT NULL,
    email_norm    TEXT NOT NULL,
    first_name    TEXT,
    last_name     TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('user', 'partner')),
    admin         BOOLEAN NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('invited', 'active', 'inactive', 'removed')),
    holds_seat    BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_login_at TIMESTAMPTZ,
    UNIQUE (app_id, email_norm),
    CHECK (NOT holds_seat OR kind = 'user')
);
CREATE UNIQUE INDEX members_app_identity ON members (app_id, identity_id) WHERE identity_id IS NOT NULL;
CREATE INDEX members_identity ON members (identity_id);
CREATE INDEX members_app_status ON members (app_id, status, email_norm);

CREATE TABLE invitations (
    id           UUID PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES apps (app_id),
    member_id    UUID NOT NULL REFERENCES members (id),
    email        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'partner')),
    admin        BOOLEAN NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked', 'expired', 'replaced')),
    inviter_id   UUID REFERENCES identities (id),
    inviter_name TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX invitations_one_pending ON invitations (member_id) WHERE status = 'pending';
CREATE INDEX invitations_app ON invitations (app_id, id);
CREATE INDEX invitations_pending_expiry ON invitations (app_id, expires_at) WHERE status = 'pending';

CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    token_hash   BYTEA NOT NULL UNIQUE,
    identity_id  UUID NOT NULL REFERENCES identities (id),
    app_id       TEXT REFERENCES apps (app_id),
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    client_addr  TEXT
);
CREATE INDEX sessions_identity ON sessions (identity_id);

CREATE TABLE audit_log (
    id          UUID PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    app_id      TEXT,
    actor_id    UUID,
    actor_label TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    client_addr TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX audit_app ON audit_log (app_id, at);

CREATE TABLE outbox (
    id              UUID PRIMARY KEY,
    created_at      TIMESTAMPTZ NOT NULL,
    to_addr         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    secret          TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_created ON outbox (created_at);
