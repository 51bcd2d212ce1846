-- Token expiry, revocation and last use; sessions; one-time sign-in links (see the SQLite
-- migration 0012).
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;

CREATE TABLE sessions (
    hash          TEXT   PRIMARY KEY,
    token_id      BIGINT NOT NULL REFERENCES api_tokens (id),
    created_at_ms BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL,
    ended_at_ms   BIGINT
);
CREATE INDEX sessions_by_token ON sessions (token_id);

CREATE TABLE signin_links (
    hash          TEXT   PRIMARY KEY,
    token_id      BIGINT NOT NULL REFERENCES api_tokens (id),
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT
);
