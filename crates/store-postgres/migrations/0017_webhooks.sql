-- Issue 10: webhooks — an app's endpoints, and their deliveries as a transactional outbox.

CREATE TABLE webhook_endpoints (
    id            UUID PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps (app_id),
    url           TEXT NOT NULL,
    secret_sealed BYTEA NOT NULL,
    events        TEXT NOT NULL,
    created_by    UUID REFERENCES identities (id),
    created_at    TIMESTAMPTZ NOT NULL,
    deleted_at    TIMESTAMPTZ
);
CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id) WHERE deleted_at IS NULL;

-- One message to one endpoint (its id is the webhook-id), written in the change's transaction.
CREATE TABLE webhook_deliveries (
    id               UUID PRIMARY KEY,
    endpoint_id      UUID NOT NULL REFERENCES webhook_endpoints (id),
    app_id           TEXT NOT NULL,
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    claimed_by       TEXT,
    claimed_until    TIMESTAMPTZ,
    last_status      INTEGER,
    last_error       TEXT,
    last_duration_ms BIGINT,
    delivered_at     TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);

-- Every attempt of a delivery (the delivery log).
CREATE TABLE webhook_attempts (
    delivery_id UUID NOT NULL REFERENCES webhook_deliveries (id),
    at          TIMESTAMPTZ NOT NULL,
    status      INTEGER,
    error       TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, at);
