-- Notes on a ticket (free text, or a technician accepting the job), append-only like the audit log.
CREATE TABLE ticket_notes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    at        TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('note', 'accepted')),
    text      TEXT    NOT NULL
);
CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id, id);
CREATE TRIGGER ticket_notes_no_update BEFORE UPDATE ON ticket_notes
BEGIN SELECT RAISE(ABORT, 'ticket notes are append-only'); END;
CREATE TRIGGER ticket_notes_no_delete BEFORE DELETE ON ticket_notes
BEGIN SELECT RAISE(ABORT, 'ticket notes are append-only'); END;
