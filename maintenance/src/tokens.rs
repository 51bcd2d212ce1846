//! API bearer tokens: 32 random bytes shown once, stored only as their SHA-256, each with a name
//! (who it is, in the audit log), a role, an optional expiry and a revocation. A revoked or
//! expired token is refused by the next request: nothing about a token is cached.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Maintenance, MaintenanceError, Role};

/// Whoever presented a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// What is known of a token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// Who holds it.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it stops working, if ever.
    pub expires_at: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// When it was last presented (to the minute).
    pub last_used_at: Option<String>,
}

impl TokenInfo {
    /// Whether it is accepted now.
    pub fn active_now(&self) -> bool {
        self.active(&stamp(Utc::now()))
    }

    /// Whether it is still accepted at `now` (RFC 3339, as stored).
    pub fn active(&self, now: &str) -> bool {
        self.state(now) == TokenInfo::STATES[0]
    }

    /// The states a token can be in, as `/metrics` labels them.
    pub const STATES: [&'static str; 3] = ["active", "expired", "revoked"];

    /// `active`, `expired` or `revoked` at `now` (RFC 3339, as stored).
    pub fn state(&self, now: &str) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.as_deref().is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        }
    }
}

/// Tokens start with this, so they are recognisable in logs and secret scanners.
const PREFIX: &str = "fw_";
/// `last_used_at` is rewritten only when older than this: a busy client must not turn every
/// read into a write.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a secret, hex: what is stored in its place.
pub(crate) fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A new random secret with the token prefix.
pub(crate) fn secret() -> Result<String, MaintenanceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| MaintenanceError::Random(e.to_string()))?;
    Ok(format!("{PREFIX}{}", hex(&bytes)))
}

/// A wall-clock time as stored: RFC 3339, UTC, milliseconds (so text order is time order).
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Maintenance {
    /// Creates a token named `name` with `role` that never expires and returns it: the only
    /// time it is seen. Names are unique.
    pub async fn create_token(&self, name: &str, role: Role) -> Result<String, MaintenanceError> {
        self.create_token_expiring(name, role, None).await
    }

    /// Creates a token that stops working `expires_in` from now (never when `None`).
    pub async fn create_token_expiring(
        &self,
        name: &str,
        role: Role,
        expires_in: Option<chrono::Duration>,
    ) -> Result<String, MaintenanceError> {
        let token = secret()?;
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO api_tokens (name, role, hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(hash(&token))
        .bind(stamp(now))
        .bind(expires_in.map(|d| stamp(now + d)))
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// Creates the admin token `admin` when the database holds no token at all (a first start),
    /// in one statement so two instances starting together make one; returns it if made.
    pub async fn bootstrap_admin(&self) -> Result<Option<String>, MaintenanceError> {
        let token = secret()?;
        let made = sqlx::query(
            "INSERT INTO api_tokens (name, role, hash, created_at)
             SELECT 'admin', 'admin', $1, $2 WHERE NOT EXISTS (SELECT 1 FROM api_tokens)
             ON CONFLICT DO NOTHING",
        )
        .bind(hash(&token))
        .bind(stamp(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok((made.rows_affected() > 0).then_some(token))
    }

    /// Whether a token of that name exists.
    pub async fn token_name_taken(&self, name: &str) -> Result<bool, MaintenanceError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM api_tokens WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// How many tokens each role has in each state now, every combination (zeros too): what
    /// `/metrics` shows, so token creation and revocation by the CLI are visible there.
    pub async fn token_counts(&self) -> Result<Vec<(Role, &'static str, i64)>, MaintenanceError> {
        let now = stamp(Utc::now());
        let tokens = self.tokens().await?;
        let mut counts = Vec::new();
        for role in Role::ALL {
            for state in TokenInfo::STATES {
                let n = tokens
                    .iter()
                    .filter(|t| t.role == role && t.state(&now) == state)
                    .count();
                counts.push((role, state, n as i64));
            }
        }
        Ok(counts)
    }

    /// Every token, without its secret, by name.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, MaintenanceError> {
        let rows = sqlx::query(
            "SELECT name, role, created_at, expires_at, revoked_at, last_used_at
             FROM api_tokens ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(TokenInfo {
                    name: r.get(0),
                    role: Role::parse(r.get::<&str, _>(1))?,
                    created_at: r.get(2),
                    expires_at: r.get(3),
                    revoked_at: r.get(4),
                    last_used_at: r.get(5),
                })
            })
            .collect())
    }

    /// Revokes the token named `name` and ends its sessions; false if no such token is active.
    pub async fn revoke_token(&self, name: &str) -> Result<bool, MaintenanceError> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(stamp(now))
        .bind(name)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE sessions SET ended_at_ms = $1 WHERE ended_at_ms IS NULL
             AND token_id IN (SELECT id FROM api_tokens WHERE name = $2)",
        )
        .bind(now.timestamp_millis())
        .bind(name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Who holds `token`, if it is known, not revoked and not expired; records its use.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Caller>, MaintenanceError> {
        Ok(self
            .active_token(&hash(token))
            .await?
            .map(|(_, caller)| caller))
    }

    /// The active token stored under `hash`: its id and holder. Its `last_used_at` is brought
    /// up to date (to the minute).
    pub(crate) async fn active_token(
        &self,
        hash: &str,
    ) -> Result<Option<(i64, Caller)>, MaintenanceError> {
        let now = Utc::now();
        let row = sqlx::query(
            "SELECT id, name, role, last_used_at FROM api_tokens
             WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(hash)
        .bind(stamp(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let id: i64 = r.get(0);
        let stale = stamp(now - chrono::Duration::milliseconds(LAST_USED_RESOLUTION_MS));
        if r.get::<Option<String>, _>(3).is_none_or(|t| t < stale) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(stamp(now))
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        let Some(role) = Role::parse(r.get::<&str, _>(2)) else {
            return Ok(None);
        };
        Ok(Some((
            id,
            Caller {
                name: r.get(1),
                role,
            },
        )))
    }
}
