-- The asset's own timeline on tickets, in device time (ms since the epoch on the asset's clock):
-- when the deviation behind the ticket began, when the ticket left the open statuses, and when a
-- repair took effect with the mode it found. A deviation that began before a repair belongs to
-- the finished ticket; the cooldown runs from `finished_ms`. `kind`: predictive (opened from a
-- finding before a failure) or corrective (a breakdown reported by hand).
ALTER TABLE tickets ADD COLUMN began_ms INTEGER;
ALTER TABLE tickets ADD COLUMN finished_ms INTEGER;
ALTER TABLE tickets ADD COLUMN repaired_at_ms INTEGER;
ALTER TABLE tickets ADD COLUMN found_mode TEXT;
ALTER TABLE tickets ADD COLUMN kind TEXT NOT NULL DEFAULT 'predictive'
    CHECK (kind IN ('predictive', 'corrective'));
-- Each status change also records the asset's device time, for repair times in device time.
ALTER TABLE ticket_events ADD COLUMN device_ms INTEGER;
-- Tickets from before: their last alert is the best device time known.
UPDATE tickets SET began_ms = detected_at_ms;
UPDATE tickets SET finished_ms = last_alert_ms WHERE status IN ('resolved', 'closed', 'cancelled');
UPDATE tickets SET repaired_at_ms = last_alert_ms, found_mode = failure_mode
    WHERE status IN ('resolved', 'closed') AND (resolution IS NULL OR resolution LIKE '%"confirmed"%');
CREATE INDEX tickets_by_asset_finished ON tickets (asset_id, finished_ms);
