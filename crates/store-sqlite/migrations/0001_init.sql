-- Roster schema, SQLite flavour. Times are Unix milliseconds (UTC); ids are UUID v7 blobs.

CREATE TABLE apps (
    app_id              TEXT PRIMARY KEY NOT NULL,
    name                TEXT NOT NULL,
    seats_purchased     INTEGER NOT NULL CHECK (seats_purchased >= 0),
    seats_complimentary INTEGER NOT NULL DEFAULT 0 CHECK (seats_complimentary >= 0),
    seats_held          INTEGER NOT NULL DEFAULT 0 CHECK (seats_held >= 0),
    created_at          INTEGER NOT NULL,
    -- the seat invariant, enforced by the database as a last line of defence
    CHECK (seats_held <= seats_purchased + seats_complimentary)
) STRICT;

CREATE TABLE identities (
    id                   BLOB PRIMARY KEY NOT NULL,
    email                TEXT NOT NULL,
    email_norm           TEXT NOT NULL UNIQUE,
    first_name           TEXT NOT NULL,
    last_name            TEXT,
    password_hash        TEXT NOT NULL,
    security_question    TEXT,
    security_answer_hash TEXT,
    terms_version        TEXT,
    terms_accepted_at    INTEGER,
    created_at           INTEGER NOT NULL,
    failed_count         INTEGER NOT NULL DEFAULT 0,
    window_start         INTEGER,
    lock_level           INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER
) STRICT;

CREATE TABLE seat_ledger (
    id       BLOB PRIMARY KEY NOT NULL,
    app_id   TEXT NOT NULL REFERENCES apps (app_id),
    at       INTEGER NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('initial', 'purchase', 'complimentary')),
    quantity INTEGER NOT NULL,
    actor    BLOB REFERENCES identities (id)
) STRICT;
CREATE INDEX seat_ledger_app ON seat_ledger (app_id, at);

CREATE TABLE members (
    id            BLOB PRIMARY KEY NOT NULL,
    app_id        TEXT NOT NULL REFERENCES apps (app_id),
    identity_id   BLOB REFERENCES identities (id),
    email         TEXT NOT NULL,
    email_norm    TEXT NOT NULL,
    first_name    TEXT,
    last_name     TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('user', 'partner')),
    admin         INTEGER NOT NULL CHECK (admin IN (0, 1)),
    status        TEXT NOT NULL CHECK (status IN ('invited', 'active', 'inactive', 'removed')),
    holds_seat    INTEGER NOT NULL CHECK (holds_seat IN (0, 1)),
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER,
    UNIQUE (app_id, email_norm),
    CHECK (holds_seat = 0 OR kind = 'user')
) STRICT;
CREATE UNIQUE INDEX members_app_identity ON members (app_id, identity_id) WHERE identity_id IS NOT NULL;
CREATE INDEX members_identity ON members (identity_id);
CREATE INDEX members_app_status ON members (app_id, status, email_norm);

CREATE TABLE invitations (
    id           BLOB PRIMARY KEY NOT NULL,
    app_id       TEXT NOT NULL REFERENCES apps (app_id),
    member_id    BLOB NOT NULL REFERENCES members (id),
    email        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'partner')),
    admin        INTEGER NOT NULL CHECK (admin IN (0, 1)),
    token_hash   BLOB NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked', 'expired', 'replaced')),
    inviter_id   BLOB REFERENCES identities (id),
    inviter_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER
) STRICT;
-- at most one pending invitation per (app, email): one member row per (app, email), one pending per member
CREATE UNIQUE INDEX invitations_one_pending ON invitations (member_id) WHERE status = 'pending';
CREATE INDEX invitations_app ON invitations (app_id, id);
CREATE INDEX invitations_pending_expiry ON invitations (app_id, expires_at) WHERE status = 'pending';

CREATE TABLE sessions (
    id           BLOB PRIMARY KEY NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    identity_id  BLOB NOT NULL REFERENCES identities (id),
    app_id       TEXT REFERENCES apps (app_id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    client_addr  TEXT
) STRICT;
CREATE INDEX sessions_identity ON sessions (identity_id);

CREATE TABLE audit_log (
    id          BLOB PRIMARY KEY NOT NULL,
    at          INTEGER NOT NULL,
    app_id      TEXT,
    actor_id    BLOB,
    actor_label TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT,
    client_addr TEXT,
    details     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_app ON audit_log (app_id, at);

CREATE TABLE outbox (
    id              BLOB PRIMARY KEY NOT NULL,
    created_at      INTEGER NOT NULL,
    to_addr         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    secret          TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_created ON outbox (created_at);
