-- Dispatch and service levels: technicians, who a ticket is assigned to and why, the skills its
-- repair needs, the priority its service level follows, and the warnings and breaches raised.

CREATE TABLE technicians (
    id          TEXT PRIMARY KEY,
    name        TEXT    NOT NULL DEFAULT '',
    skills      TEXT    NOT NULL DEFAULT '[]', -- JSON array of skill names
    site        TEXT,                          -- home base site, if any
    lat         REAL CHECK (lat BETWEEN -90 AND 90),
    lon         REAL CHECK (lon BETWEEN -180 AND 180),
    -- Working hours in the technician's local time: minutes after midnight, days as a
    -- comma-separated list (mon,tue,...), and the local offset from UTC in minutes.
    shift_start INTEGER NOT NULL DEFAULT 420 CHECK (shift_start BETWEEN 0 AND 1439),
    shift_end   INTEGER NOT NULL DEFAULT 960 CHECK (shift_end BETWEEN 1 AND 1440),
    work_days   TEXT    NOT NULL DEFAULT 'mon,tue,wed,thu,fri',
    utc_offset  INTEGER NOT NULL DEFAULT 0 CHECK (utc_offset BETWEEN -840 AND 840),
    active      INTEGER NOT NULL DEFAULT 1
);

ALTER TABLE tickets ADD COLUMN skills TEXT NOT NULL DEFAULT '[]'; -- JSON: what the repair needs
ALTER TABLE tickets ADD COLUMN assignee TEXT;                      -- a technician id
ALTER TABLE tickets ADD COLUMN dispatch TEXT;                      -- JSON: the choice and why
-- The priority whose service level applies: set at opening, raised by worse findings, not by
-- the escalation of a breach (which must not move the goalposts).
ALTER TABLE tickets ADD COLUMN sla_priority TEXT;
UPDATE tickets SET sla_priority = priority;
CREATE INDEX tickets_by_assignee ON tickets (assignee, status);

-- Each warning and breach once per ticket and clock.
CREATE TABLE sla_events (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    clock     TEXT    NOT NULL CHECK (clock IN ('response', 'resolution')),
    kind      TEXT    NOT NULL CHECK (kind IN ('warning', 'breach')),
    at        TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, clock, kind)
);
