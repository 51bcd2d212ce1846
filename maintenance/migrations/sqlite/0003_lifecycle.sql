-- The ticket lifecycle: how each ticket was resolved, an append-only audit log of every status
-- change, and the API's bearer tokens (hashed).
ALTER TABLE tickets ADD COLUMN resolution TEXT; -- JSON of the Resolution, once resolved

CREATE TABLE ticket_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    note        TEXT
);
CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, id);

-- Append-only: the database refuses to rewrite history.
CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Tickets opened before this migration get their opening entry.
INSERT INTO ticket_events (ticket_id, at, actor, from_status, to_status, note)
SELECT id, created_at, 'forewarn', NULL, 'new', 'opened from a finding' FROM tickets ORDER BY id;

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    role       TEXT    NOT NULL CHECK (role IN ('viewer', 'technician', 'planner', 'admin')),
    -- SHA-256 of the token, hex: the token itself is shown once and never stored.
    hash       TEXT    NOT NULL UNIQUE,
    created_at TEXT    NOT NULL
);
