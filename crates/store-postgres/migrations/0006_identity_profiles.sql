-- The ID's own profile (J4 steps 1 and 2): one row per identity, the same in every app.
-- Name stays on `identities`; phone, time zone and email signature move here from `profiles`,
-- which keeps what belongs to one member in one app: the logo and whether setup is finished.
CREATE TABLE identity_profiles (
    identity_id    UUID PRIMARY KEY REFERENCES identities (id),
    phone          TEXT,
    time_zone      TEXT,
    signature_html TEXT,
    signature_text TEXT,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- Each ID takes its most recently updated member profile that has any of these fields (a newer
-- profile whose steps were all skipped does not wipe what was set in another app).
CREATE TEMP TABLE _newest_profile AS
SELECT identity_id, member_id, phone, time_zone, signature_html, signature_text, updated_at
FROM (
    SELECT m.identity_id, p.member_id, p.phone, p.time_zone, p.signature_html, p.signature_text,
           p.updated_at,
           ROW_NUMBER() OVER (PARTITION BY m.identity_id
                              ORDER BY p.updated_at DESC, p.member_id DESC) AS rn
    FROM profiles p JOIN members m ON m.id = p.member_id
    WHERE m.identity_id IS NOT NULL
      AND (p.phone IS NOT NULL OR p.time_zone IS NOT NULL
           OR p.signature_html IS NOT NULL OR p.signature_text IS NOT NULL)
) ranked
WHERE rn = 1;

INSERT INTO identity_profiles (identity_id, phone, time_zone, signature_html, signature_text, updated_at)
SELECT identity_id, phone, time_zone, signature_html, signature_text, updated_at FROM _newest_profile;

-- The name typed in that profile's details step (kept on the member row until now) becomes the ID's.
UPDATE identities i SET first_name = m.first_name, last_name = m.last_name
FROM _newest_profile n JOIN members m ON m.id = n.member_id
WHERE n.identity_id = i.id AND trim(coalesce(m.first_name, '')) <> '';

-- Every membership of an ID shows the ID's name.
UPDATE members m SET first_name = i.first_name, last_name = i.last_name
FROM identities i WHERE i.id = m.identity_id;

DROP TABLE _newest_profile;

-- Logos (and setup_done) stay where they are, per member.
ALTER TABLE profiles DROP COLUMN phone;
ALTER TABLE profiles DROP COLUMN time_zone;
ALTER TABLE profiles DROP COLUMN signature_html;
ALTER TABLE profiles DROP COLUMN signature_text;
