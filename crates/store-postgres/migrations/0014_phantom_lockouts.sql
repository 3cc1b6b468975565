-- Lockout bookkeeping for emails that have no ID (keyed by a hash of the email), run through
-- the same rules as a real ID's so that locks reveal nothing about which emails exist.
CREATE TABLE phantom_lockouts (
    key          TEXT PRIMARY KEY,
    failed_count BIGINT NOT NULL DEFAULT 0,
    window_start TIMESTAMPTZ,
    lock_level   BIGINT NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    in_flight    BIGINT NOT NULL DEFAULT 0,
    in_flight_at TIMESTAMPTZ
);
