-- Tickets and the parts each one needs.
CREATE TABLE tickets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id        TEXT    NOT NULL,
    failure_mode    TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'new',
    severity        TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    -- Wall-clock times of the ticket itself (RFC 3339, UTC).
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    -- Device time of the finding that opened it, and of the latest one attached (ms since epoch).
    detected_at_ms  INTEGER NOT NULL,
    last_alert_ms   INTEGER NOT NULL,
    alert_count     INTEGER NOT NULL DEFAULT 1,
    -- The finding that opened the ticket, as JSON.
    evidence        TEXT    NOT NULL
);

-- The dedup rule lives in the database so it holds across restarts, concurrent writers and
-- instances: at most one open ticket per asset and failure mode.
CREATE UNIQUE INDEX tickets_one_open_per_asset_mode
    ON tickets (asset_id, failure_mode)
    WHERE status NOT IN ('resolved', 'closed', 'cancelled');

CREATE INDEX tickets_by_status ON tickets (status, id);

CREATE TABLE ticket_parts (
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
    part_number  TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (ticket_id, part_number)
);
