-- One-time first-run links (`roster serve` on an empty database prints one).
CREATE TABLE setup_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
