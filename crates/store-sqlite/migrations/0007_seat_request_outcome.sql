-- An operator's answer to a seat request: `decided_at` (exists) and the seats granted.
ALTER TABLE seat_requests ADD COLUMN granted_quantity INTEGER
    CHECK (granted_quantity IS NULL OR granted_quantity > 0);
CREATE INDEX seat_requests_created ON seat_requests (created_at);
