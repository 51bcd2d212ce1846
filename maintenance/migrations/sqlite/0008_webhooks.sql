-- Webhooks: subscriptions, the queue of their deliveries (one row per subscription and outbox
-- event, so what is not delivered survives restarts), and a log of every attempt.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    url        TEXT    NOT NULL,
    secret     TEXT    NOT NULL,               -- HMAC-SHA256 key (needed to sign, so kept)
    events     TEXT    NOT NULL DEFAULT '["*"]', -- JSON: kinds or prefixes like "ticket.*"
    active     INTEGER NOT NULL DEFAULT 1,
    created_at TEXT    NOT NULL,
    cursor     INTEGER NOT NULL DEFAULT 0      -- last outbox id queued for it
);

CREATE TABLE webhook_queue (
    webhook_id INTEGER NOT NULL REFERENCES webhooks (id),
    outbox_id  INTEGER NOT NULL REFERENCES outbox (id),
    ticket_id  INTEGER,
    state      TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (webhook_id, outbox_id)
);
CREATE INDEX webhook_queue_pending ON webhook_queue (state, webhook_id, ticket_id, outbox_id);

CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id),
    outbox_id   INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    status      INTEGER,          -- the HTTP status, when there was a response
    error       TEXT,             -- why it failed, when it did
    duration_ms INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries (webhook_id, id);
