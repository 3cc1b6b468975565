-- Issue 10: SCIM direct provisioning. An app may have its identity provider's new users made
-- Active members at once (with a Roster ID made for them if none exists) instead of invited.

CREATE TABLE app_scim_settings (
    app_id       TEXT PRIMARY KEY NOT NULL REFERENCES apps (app_id),
    provisioning TEXT NOT NULL CHECK (provisioning IN ('invite', 'active'))
) STRICT;

-- IDs made by provisioning whose owner has not chosen a password yet (the row goes when they do).
CREATE TABLE unclaimed_identities (
    identity_id BLOB PRIMARY KEY NOT NULL REFERENCES identities (id),
    app_id      TEXT NOT NULL REFERENCES apps (app_id),
    created_at  INTEGER NOT NULL
) STRICT;
