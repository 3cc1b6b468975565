-- Secrets every node shares (e.g. the flash-message signing key), created on first use.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
