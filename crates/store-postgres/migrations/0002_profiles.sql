-- A member's profile in an app (initial setup, J4): phone, time zone, email signature, logo.
CREATE TABLE profiles (
    member_id      UUID PRIMARY KEY REFERENCES members (id),
    phone          TEXT,
    time_zone      TEXT,
    signature_html TEXT,
    signature_text TEXT,
    logo_mime      TEXT,
    logo           BYTEA,
    setup_done     BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at     TIMESTAMPTZ NOT NULL
);
