-- Issue 12: the operators of Roster (support) and suspended apps.

-- An ID that may open the operator console (with two-step verification set up).
CREATE TABLE operators (
    identity_id BLOB PRIMARY KEY NOT NULL REFERENCES identities (id),
    added_at    INTEGER NOT NULL,
    added_by    TEXT NOT NULL
) STRICT;

-- When set, the app's members cannot use it (pages, API keys, tokens) until it is resumed.
ALTER TABLE apps ADD COLUMN suspended_at INTEGER;
