-- Issue 10: API keys (personal and service), Idempotency-Key answers, bulk invitation runs.

-- An API key of an app; only the SHA-256 of its secret is kept.
CREATE TABLE api_keys (
    id             UUID PRIMARY KEY,
    app_id         TEXT NOT NULL REFERENCES apps (app_id),
    kind           TEXT NOT NULL CHECK (kind IN ('personal', 'service')),
    member_id      UUID REFERENCES members (id),
    name           TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    key_hash       BYTEA NOT NULL UNIQUE,
    scopes         TEXT NOT NULL,
    created_by     UUID REFERENCES identities (id),
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ,
    last_used_at   TIMESTAMPTZ,
    last_used_addr TEXT,
    CHECK ((kind = 'personal') = (member_id IS NOT NULL))
);
CREATE INDEX api_keys_app ON api_keys (app_id, kind, created_at DESC, id DESC);
CREATE INDEX api_keys_member ON api_keys (member_id) WHERE member_id IS NOT NULL;

-- The addresses each key was used from (a new one is audited).
CREATE TABLE api_key_addresses (
    key_id     UUID NOT NULL REFERENCES api_keys (id),
    addr       TEXT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key_id, addr)
);

-- Answers of requests sent with an Idempotency-Key, per credential (scope), kept a day.
-- status NULL: the first request is still running.
CREATE TABLE idempotency_keys (
    scope        BYTEA NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    status       INTEGER,
    content_type TEXT,
    headers      TEXT NOT NULL DEFAULT '',
    body         BYTEA,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- A bulk invitation run from the page: progress while it runs, then its report (JSON).
CREATE TABLE bulk_jobs (
    id         UUID PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (app_id),
    created_by UUID REFERENCES identities (id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    total      BIGINT NOT NULL,
    done       BIGINT NOT NULL DEFAULT 0,
    state      TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    report     TEXT
);
