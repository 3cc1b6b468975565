-- Searches of 1–2 characters match the start of the email, the first name or the last name
-- (docs/decisions.md, "Member search and list"): prefix ranges of (app_id, email_norm) — the
-- table's UNIQUE index — and of these two. `lower()` exactly as the member list writes it.
CREATE INDEX members_app_first_name ON members (app_id, lower(first_name));
CREATE INDEX members_app_last_name ON members (app_id, lower(last_name));
