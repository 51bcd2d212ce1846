-- Every finding the analytics made, whatever became of it: the planner sees what was seen and
-- not ticketed (no failure mode matched, or absorbed by a finished ticket). A restart replays
-- history and emits the same findings again: (asset, device time, kind) keeps one of each.
CREATE TABLE findings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id TEXT NOT NULL,
    detected_at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('machine', 'instrumentation')),
    failure_mode TEXT,
    classified_by TEXT,
    outcome TEXT NOT NULL,
    ticket_id INTEGER REFERENCES tickets (id),
    severity TEXT NOT NULL,
    score REAL NOT NULL,
    ttf_hours REAL,
    ttf_low REAL,
    ttf_high REAL,
    body TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (asset_id, detected_at_ms, kind)
);
CREATE INDEX findings_by_time ON findings (detected_at_ms);
CREATE INDEX findings_by_ticket ON findings (ticket_id);
-- A ticket's remaining-life estimate, kept current by each finding that joins it (device time of
-- the estimate in ttf_at_ms); its history is in `findings`.
ALTER TABLE tickets ADD COLUMN ttf_hours REAL;
ALTER TABLE tickets ADD COLUMN ttf_low REAL;
ALTER TABLE tickets ADD COLUMN ttf_high REAL;
ALTER TABLE tickets ADD COLUMN ttf_at_ms INTEGER;
