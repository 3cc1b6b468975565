-- A member's profile in an app (initial setup, J4): phone, time zone, email signature, logo.
CREATE TABLE profiles (
    member_id      BLOB PRIMARY KEY NOT NULL REFERENCES members (id),
    phone          TEXT,
    time_zone      TEXT,
    signature_html TEXT,
    signature_text TEXT,
    logo_mime      TEXT,
    logo           BLOB,
    setup_done     INTEGER NOT NULL DEFAULT 0 CHECK (setup_done IN (0, 1)),
    updated_at     INTEGER NOT NULL
) STRICT;
