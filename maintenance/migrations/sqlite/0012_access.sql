-- Tokens that end: an expiry, a revocation, and when each was last used (at most a minute
-- stale: the write is skipped while the stored time is that fresh).
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;

-- Dashboard sessions: the browser's cookie holds a random session id, never the token; only
-- its SHA-256 is kept. A session ends when idle too long, when too old, when signed out, or
-- when its token is revoked or expires.
CREATE TABLE sessions (
    hash          TEXT    PRIMARY KEY,
    token_id      INTEGER NOT NULL REFERENCES api_tokens (id),
    created_at_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL,
    ended_at_ms   INTEGER
);
CREATE INDEX sessions_by_token ON sessions (token_id);

-- One-time sign-in links (the demo prints one): used once, within minutes.
CREATE TABLE signin_links (
    hash          TEXT    PRIMARY KEY,
    token_id      INTEGER NOT NULL REFERENCES api_tokens (id),
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
);
