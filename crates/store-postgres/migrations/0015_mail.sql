-- Mail (issue 9): notifications grouped per admin and kind, each admin's notification choices,
-- the app's reminder setting, invitation reminders with their own link, and which invitation
-- a message is about (its delivery state shows there).
ALTER TABLE outbox ADD COLUMN group_key TEXT;
-- the worker (node) that claimed a pending message: a restarted node takes its own claims back
-- at once instead of waiting for their lease to run out
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN invitation_id UUID;
CREATE INDEX outbox_waiting_group ON outbox (group_key) WHERE status = 'pending' AND attempts = 0 AND group_key IS NOT NULL;
CREATE INDEX outbox_claimed_by ON outbox (claimed_by) WHERE status = 'pending' AND claimed_by IS NOT NULL;
CREATE INDEX outbox_invitation ON outbox (invitation_id, created_at) WHERE invitation_id IS NOT NULL;

CREATE TABLE notification_prefs (
    member_id UUID NOT NULL REFERENCES members (id),
    kind      TEXT NOT NULL,
    app_id    TEXT NOT NULL REFERENCES apps (app_id),
    enabled   BOOLEAN NOT NULL,
    PRIMARY KEY (member_id, kind)
);
CREATE INDEX notification_prefs_app ON notification_prefs (app_id, kind) WHERE NOT enabled;

CREATE TABLE app_mail_settings (
    app_id               TEXT PRIMARY KEY REFERENCES apps (app_id),
    invitation_reminders BOOLEAN NOT NULL
);

CREATE TABLE invitation_reminders (
    invitation_id UUID PRIMARY KEY REFERENCES invitations (id),
    token_hash    BYTEA NOT NULL UNIQUE,
    sent_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX invitations_pending_expires ON invitations (expires_at) WHERE status = 'pending';
