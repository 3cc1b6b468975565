-- One-time first-run links (`roster serve` on an empty database prints one).
CREATE TABLE setup_tokens (
    token_hash BYTEA PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
