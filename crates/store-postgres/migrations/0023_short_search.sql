-- Searches of 1–2 characters match the start of the email, the first name or the last name
-- (docs/decisions.md, "Member search and list"): prefix ranges in code point order ("C"
-- collation, whatever the database's), written exactly as the member list compares them.
CREATE INDEX members_app_email_prefix ON members (app_id, (email_norm COLLATE "C"));
CREATE INDEX members_app_first_name ON members (app_id, (lower(first_name) COLLATE "C"));
CREATE INDEX members_app_last_name ON members (app_id, (lower(last_name) COLLATE "C"));
