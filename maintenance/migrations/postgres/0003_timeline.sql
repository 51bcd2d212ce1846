-- The asset's own timeline on tickets, in device time (see the SQLite migration 0010).
ALTER TABLE tickets ADD COLUMN began_ms BIGINT;
ALTER TABLE tickets ADD COLUMN finished_ms BIGINT;
ALTER TABLE tickets ADD COLUMN repaired_at_ms BIGINT;
ALTER TABLE tickets ADD COLUMN found_mode TEXT;
ALTER TABLE tickets ADD COLUMN kind TEXT NOT NULL DEFAULT 'predictive'
    CHECK (kind IN ('predictive', 'corrective'));
ALTER TABLE ticket_events ADD COLUMN device_ms BIGINT;
UPDATE tickets SET began_ms = detected_at_ms;
UPDATE tickets SET finished_ms = last_alert_ms WHERE status IN ('resolved', 'closed', 'cancelled');
UPDATE tickets SET repaired_at_ms = last_alert_ms, found_mode = failure_mode
    WHERE status IN ('resolved', 'closed') AND (resolution IS NULL OR resolution LIKE '%"confirmed"%');
CREATE INDEX tickets_by_asset_finished ON tickets (asset_id, finished_ms);
