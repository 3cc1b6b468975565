-- Member list and search served by indexes (issue: member search and filters must use indexes).
--
-- One ordered index per filter, so each filter (and its `email_norm > cursor`) is one range scan
-- in the page order: Active+Invited and Partners get partial indexes; Inactive uses
-- members_app_status (app_id, status, email_norm).
CREATE INDEX members_app_current ON members (app_id, email_norm) WHERE status IN ('invited', 'active');
CREATE INDEX members_app_partners ON members (app_id, email_norm) WHERE kind = 'partner' AND status <> 'removed';

-- Substring search (`q`) through trigram indexes over the same text the list searched before.
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
-- fastupdate = off: no pending list, so a search never scans a list of unmerged entries and the
-- planner's estimate does not depend on when (auto)vacuum last ran (inserts cost a little more).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX members_email_trgm ON members USING gin (email_norm gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX members_name_trgm ON members
    USING gin ((lower(coalesce(first_name, '') || ' ' || coalesce(last_name, ''))) gin_trgm_ops)
    WITH (fastupdate = off);

-- Bookkeeping of data migrations run by `migrate()` after the SQL ones (e.g. `email_norm_v2`).
CREATE TABLE roster_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Rows the email renormalisation could not change (collision with another row of the same
-- scope, or an address that no longer parses): left as they are, listed by `roster migrate`.
CREATE TABLE email_norm_conflicts (
    id          BIGSERIAL PRIMARY KEY,
    detected_at TIMESTAMPTZ NOT NULL,
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    scope       TEXT,
    email       TEXT NOT NULL,
    email_norm  TEXT NOT NULL,
    canonical   TEXT,
    reason      TEXT NOT NULL
);
