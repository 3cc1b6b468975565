-- "Ask support for a complimentary seat" (J2): requests an operator grants or declines.
CREATE TABLE seat_requests (
    id           BLOB PRIMARY KEY NOT NULL,
    app_id       TEXT NOT NULL REFERENCES apps (app_id),
    requested_by BLOB NOT NULL REFERENCES identities (id),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'declined')),
    created_at   INTEGER NOT NULL,
    decided_at   INTEGER
) STRICT;
CREATE INDEX seat_requests_app ON seat_requests (app_id, created_at);
