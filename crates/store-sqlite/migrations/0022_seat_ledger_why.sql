-- Issue 12: the seat ledger says why seats changed — the operator's note, and the seat request
-- a grant answered. Both nullable: older rows and purchases have neither (expand only).
ALTER TABLE seat_ledger ADD COLUMN note TEXT;
ALTER TABLE seat_ledger ADD COLUMN request_id BLOB REFERENCES seat_requests (id);
