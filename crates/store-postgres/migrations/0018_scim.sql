-- Issue 10: SCIM — the externalId an identity provider gave each member (unique per app).

CREATE TABLE scim_external_ids (
    member_id   UUID PRIMARY KEY REFERENCES members (id),
    app_id      TEXT NOT NULL REFERENCES apps (app_id),
    external_id TEXT NOT NULL,
    UNIQUE (app_id, external_id)
);
