-- "Ask support for a complimentary seat" (J2): requests an operator grants or declines.
CREATE TABLE seat_requests (
    id           UUID PRIMARY KEY,
    app_id       TEXT NOT NULL REFERENCES apps (app_id),
    requested_by UUID NOT NULL REFERENCES identities (id),
    quantity     BIGINT NOT NULL CHECK (quantity > 0),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'declined')),
    created_at   TIMESTAMPTZ NOT NULL,
    decided_at   TIMESTAMPTZ
);
CREATE INDEX seat_requests_app ON seat_requests (app_id, created_at);
