-- Authenticated GitHub deliveries are stored with their envelope before they are published, and marked
-- when the correlator has applied them; start-up replays the rest, so nothing GitHub was told is accepted
-- can be lost. Deliveries recorded before this migration were published already: count them as applied.
ALTER TABLE github_deliveries ADD COLUMN envelope TEXT;
ALTER TABLE github_deliveries ADD COLUMN processed_at TEXT;
UPDATE github_deliveries SET processed_at = received_at;
CREATE INDEX github_deliveries_unprocessed ON github_deliveries (received_at) WHERE processed_at IS NULL;
