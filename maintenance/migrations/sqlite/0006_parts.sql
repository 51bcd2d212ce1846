-- Spare parts: a catalog, warehouses with locations, stock per warehouse, a ledger of every
-- movement, reservations for tickets and requisitions for what no warehouse had. Also the sites'
-- locations (to find the nearest warehouse and technician) and the outbox of events for webhooks.

-- Where a site is. Assets name their site; a site without coordinates is near only the
-- warehouses and technicians at that same site.
CREATE TABLE sites (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    lat  REAL CHECK (lat BETWEEN -90 AND 90),
    lon  REAL CHECK (lon BETWEEN -180 AND 180)
);

CREATE TABLE parts (
    part_number TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    unit        TEXT NOT NULL DEFAULT 'pcs',
    unit_cost   REAL CHECK (unit_cost >= 0)
);

CREATE TABLE warehouses (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    site TEXT, -- the site it stands at, if any
    lat  REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon  REAL NOT NULL CHECK (lon BETWEEN -180 AND 180)
);

-- on_hand is on the shelf; reserved of it is held for tickets; available = on_hand - reserved.
-- The checks are the last line of defence: stock never negative, never more reserved than held.
CREATE TABLE stock (
    warehouse_id  TEXT    NOT NULL REFERENCES warehouses (id),
    part_number   TEXT    NOT NULL REFERENCES parts (part_number),
    on_hand       INTEGER NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved      INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    reorder_point INTEGER NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
    bin           TEXT    NOT NULL DEFAULT '', -- shelf location inside the warehouse
    PRIMARY KEY (warehouse_id, part_number)
);
CREATE INDEX stock_by_part ON stock (part_number);

-- Every movement, append-only: quantities are signed changes of on_hand and reserved.
CREATE TABLE stock_ledger (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    warehouse_id   TEXT    NOT NULL,
    part_number    TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('receive', 'reserve', 'release', 'issue', 'consume', 'return', 'transfer_out', 'transfer_in', 'adjust')),
    on_hand_delta  INTEGER NOT NULL,
    reserved_delta INTEGER NOT NULL,
    on_hand_after  INTEGER NOT NULL,
    reserved_after INTEGER NOT NULL,
    ticket_id      INTEGER REFERENCES tickets (id),
    note           TEXT
);
CREATE INDEX stock_ledger_by_part ON stock_ledger (part_number, id);
CREATE TRIGGER stock_ledger_no_update BEFORE UPDATE ON stock_ledger
BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;
CREATE TRIGGER stock_ledger_no_delete BEFORE DELETE ON stock_ledger
BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;

-- Parts held (reserved), handed out (issued) or used (consumed) for a ticket, per warehouse.
CREATE TABLE reservations (
    ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
    warehouse_id TEXT    NOT NULL REFERENCES warehouses (id),
    part_number  TEXT    NOT NULL REFERENCES parts (part_number),
    reserved     INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    issued       INTEGER NOT NULL DEFAULT 0 CHECK (issued >= 0),
    consumed     INTEGER NOT NULL DEFAULT 0 CHECK (consumed >= 0),
    returned     INTEGER NOT NULL DEFAULT 0 CHECK (returned >= 0),
    PRIMARY KEY (ticket_id, warehouse_id, part_number)
);

-- What no warehouse could supply when the ticket opened: to be bought or transferred.
CREATE TABLE requisitions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    part_number TEXT    NOT NULL REFERENCES parts (part_number),
    quantity    INTEGER NOT NULL CHECK (quantity > 0), -- asked for
    outstanding INTEGER NOT NULL CHECK (outstanding >= 0 AND outstanding <= quantity),
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fulfilled', 'cancelled')),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX requisitions_open ON requisitions (part_number, status, id);

-- Low-stock alerts: available fell below the reorder point.
CREATE TABLE stock_alerts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT    NOT NULL,
    warehouse_id  TEXT    NOT NULL,
    part_number   TEXT    NOT NULL,
    available     INTEGER NOT NULL,
    reorder_point INTEGER NOT NULL
);

-- Events for webhooks, written in the same transaction as the change they tell of.
CREATE TABLE outbox (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    ticket_id INTEGER,
    payload   TEXT    NOT NULL
);

-- The asset's site when the ticket opened: where its parts and technician should come from.
ALTER TABLE tickets ADD COLUMN site TEXT;
