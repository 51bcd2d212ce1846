-- Every finding and the tickets' current estimates (see the SQLite migration 0011).
CREATE TABLE findings (
    id BIGSERIAL PRIMARY KEY,
    asset_id TEXT NOT NULL,
    detected_at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('machine', 'instrumentation')),
    failure_mode TEXT,
    classified_by TEXT,
    outcome TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets (id),
    severity TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    ttf_hours DOUBLE PRECISION,
    ttf_low DOUBLE PRECISION,
    ttf_high DOUBLE PRECISION,
    body TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (asset_id, detected_at_ms, kind)
);
CREATE INDEX findings_by_time ON findings (detected_at_ms);
CREATE INDEX findings_by_ticket ON findings (ticket_id);
ALTER TABLE tickets ADD COLUMN ttf_hours DOUBLE PRECISION;
ALTER TABLE tickets ADD COLUMN ttf_low DOUBLE PRECISION;
ALTER TABLE tickets ADD COLUMN ttf_high DOUBLE PRECISION;
ALTER TABLE tickets ADD COLUMN ttf_at_ms BIGINT;
