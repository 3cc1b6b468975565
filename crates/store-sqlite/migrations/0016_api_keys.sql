-- Issue 10: API keys (personal and service), Idempotency-Key answers, bulk invitation runs.

-- An API key of an app; only the SHA-256 of its secret is kept.
CREATE TABLE api_keys (
    id             BLOB PRIMARY KEY NOT NULL,
    app_id         TEXT NOT NULL REFERENCES apps (app_id),
    kind           TEXT NOT NULL CHECK (kind IN ('personal', 'service')),
    member_id      BLOB REFERENCES members (id),
    name           TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    key_hash       BLOB NOT NULL UNIQUE,
    scopes         TEXT NOT NULL,
    created_by     BLOB REFERENCES identities (id),
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    revoked_at     INTEGER,
    last_used_at   INTEGER,
    last_used_addr TEXT,
    CHECK ((kind = 'personal') = (member_id IS NOT NULL))
) STRICT;
CREATE INDEX api_keys_app ON api_keys (app_id, kind, created_at DESC, id DESC);
CREATE INDEX api_keys_member ON api_keys (member_id) WHERE member_id IS NOT NULL;

-- The addresses each key was used from (a new one is audited).
CREATE TABLE api_key_addresses (
    key_id     BLOB NOT NULL REFERENCES api_keys (id),
    addr       TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (key_id, addr)
) STRICT;

-- Answers of requests sent with an Idempotency-Key, per credential (scope), kept a day.
-- status NULL: the first request is still running.
CREATE TABLE idempotency_keys (
    scope        BLOB NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    status       INTEGER,
    content_type TEXT,
    headers      TEXT NOT NULL DEFAULT '',
    body         BLOB,
    PRIMARY KEY (scope, key)
) STRICT;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- A bulk invitation run from the page: progress while it runs, then its report (JSON).
CREATE TABLE bulk_jobs (
    id         BLOB PRIMARY KEY NOT NULL,
    app_id     TEXT NOT NULL REFERENCES apps (app_id),
    created_by BLOB REFERENCES identities (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    done       INTEGER NOT NULL DEFAULT 0,
    state      TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    report     TEXT
) STRICT;
