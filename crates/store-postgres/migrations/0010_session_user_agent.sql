-- The browser or program a session was started from (its User-Agent, at most 256 characters),
-- shown on the ID's sessions page.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
