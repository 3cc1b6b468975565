-- Lockout bookkeeping for emails that have no ID (keyed by a hash of the email), run through
-- the same rules as a real ID's so that locks reveal nothing about which emails exist.
CREATE TABLE phantom_lockouts (
    key          TEXT PRIMARY KEY NOT NULL,
    failed_count INTEGER NOT NULL DEFAULT 0,
    window_start INTEGER,
    lock_level   INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    in_flight    INTEGER NOT NULL DEFAULT 0,
    in_flight_at INTEGER
) STRICT;
