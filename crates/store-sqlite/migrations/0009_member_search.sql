-- Member list and search served by indexes (issue: member search and filters must use indexes).
--
-- One ordered index per filter, so each filter (and its `email_norm > cursor`) is one range scan
-- in the page order: Active+Invited and Partners get partial indexes; Inactive uses
-- members_app_status (app_id, status, email_norm).
CREATE INDEX members_app_current ON members (app_id, email_norm) WHERE status IN ('invited', 'active');
CREATE INDEX members_app_partners ON members (app_id, email_norm) WHERE kind = 'partner' AND status <> 'removed';

-- Substring search (`q`, 3 characters or more) through an FTS5 trigram index over the same text
-- the list searched before: the normalised email and lower(first_name || ' ' || last_name).
-- The FTS table indexes `member_search`, a copy kept by triggers, whose INTEGER PRIMARY KEY is
-- stable across VACUUM (a plain table's implicit rowid is not).
CREATE TABLE member_search (
    seq        INTEGER PRIMARY KEY,
    member_id  BLOB NOT NULL UNIQUE REFERENCES members (id),
    email_norm TEXT NOT NULL,
    name       TEXT NOT NULL
) STRICT;
CREATE VIRTUAL TABLE member_search_fts USING fts5 (
    email_norm, name,
    content = 'member_search', content_rowid = 'seq',
    tokenize = 'trigram case_sensitive 1'
);

CREATE TRIGGER member_search_ai AFTER INSERT ON member_search BEGIN
    INSERT INTO member_search_fts (rowid, email_norm, name) VALUES (new.seq, new.email_norm, new.name);
END;
CREATE TRIGGER member_search_ad AFTER DELETE ON member_search BEGIN
    INSERT INTO member_search_fts (member_search_fts, rowid, email_norm, name)
    VALUES ('delete', old.seq, old.email_norm, old.name);
END;
CREATE TRIGGER member_search_au AFTER UPDATE ON member_search BEGIN
    INSERT INTO member_search_fts (member_search_fts, rowid, email_norm, name)
    VALUES ('delete', old.seq, old.email_norm, old.name);
    INSERT INTO member_search_fts (rowid, email_norm, name) VALUES (new.seq, new.email_norm, new.name);
END;

CREATE TRIGGER members_search_ai AFTER INSERT ON members BEGIN
    INSERT INTO member_search (member_id, email_norm, name)
    VALUES (new.id, new.email_norm, lower(coalesce(new.first_name, '') || ' ' || coalesce(new.last_name, '')));
END;
CREATE TRIGGER members_search_au AFTER UPDATE OF email_norm, first_name, last_name ON members
WHEN old.email_norm IS NOT new.email_norm OR old.first_name IS NOT new.first_name
  OR old.last_name IS NOT new.last_name
BEGIN
    UPDATE member_search SET
        email_norm = new.email_norm,
        name = lower(coalesce(new.first_name, '') || ' ' || coalesce(new.last_name, ''))
    WHERE member_id = new.id;
END;
CREATE TRIGGER members_search_ad AFTER DELETE ON members BEGIN
    DELETE FROM member_search WHERE member_id = old.id;
END;

INSERT INTO member_search (member_id, email_norm, name)
SELECT id, email_norm, lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) FROM members;

-- Bookkeeping of data migrations run by `migrate()` after the SQL ones (e.g. `email_norm_v2`).
CREATE TABLE roster_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- Rows the email renormalisation could not change (collision with another row of the same
-- scope, or an address that no longer parses): left as they are, listed by `roster migrate`.
CREATE TABLE email_norm_conflicts (
    id          INTEGER PRIMARY KEY,
    detected_at INTEGER NOT NULL,
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    scope       TEXT,
    email       TEXT NOT NULL,
    email_norm  TEXT NOT NULL,
    canonical   TEXT,
    reason      TEXT NOT NULL
) STRICT;
