//! API bearer tokens: 32 random bytes shown once, stored only as their SHA-256, each with a name
//! (who it is, in the audit log) and a role.

use chrono::{SecondsFormat, Utc};
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

/// Tokens start with this, so they are recognisable in logs and secret scanners.
const PREFIX: &str = "fw_";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Maintenance {
    /// Creates a token named `name` with `role` and returns it: the only time it is seen.
    /// Names are unique.
    pub async fn create_token(&self, name: &str, role: Role) -> Result<String, MaintenanceError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| MaintenanceError::Random(e.to_string()))?;
        let token = format!("{PREFIX}{}", hex(&bytes));
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        sqlx::query(
            "INSERT INTO api_tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(hash(&token))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// Creates the admin token `admin` when the database holds no token at all (a first start),
    /// in one statement so two instances starting together make one; returns it if made.
    pub async fn bootstrap_admin(&self) -> Result<Option<String>, MaintenanceError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| MaintenanceError::Random(e.to_string()))?;
        let token = format!("{PREFIX}{}", hex(&bytes));
        let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let made = sqlx::query(
            "INSERT INTO api_tokens (name, role, hash, created_at)
             SELECT 'admin', 'admin', $1, $2 WHERE NOT EXISTS (SELECT 1 FROM api_tokens)
             ON CONFLICT DO NOTHING",
        )
        .bind(hash(&token))
        .bind(now)
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

    /// Who holds `token`, if anyone.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Caller>, MaintenanceError> {
        let row = sqlx::query("SELECT name, role FROM api_tokens WHERE hash = $1")
            .bind(hash(token))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| {
            Some(Caller {
                name: r.get(0),
                role: Role::parse(r.get::<&str, _>(1))?,
            })
        }))
    }
}
