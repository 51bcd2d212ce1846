//! Dashboard sessions and one-time sign-in links. Signing in with a token starts a session: the
//! browser's cookie holds a random session id, never the token, and only the id's SHA-256 is
//! stored. A session ends when idle for [`SESSION_IDLE_MS`], at [`SESSION_MAX_MS`] after it
//! began, when signed out, or when its token is revoked or expires (checked on every request).
//! A one-time link (the demo prints one) starts a session once, within [`LINK_TTL_MS`].

use chrono::Utc;
use sqlx::Row;

use crate::tokens::{hash, secret};
use crate::{Caller, Maintenance, MaintenanceError};

/// A session unused this long (wall clock) has ended: a shift's break, not a night.
pub const SESSION_IDLE_MS: i64 = 8 * 3_600_000;
/// No session outlives this, however busy: sign in again weekly.
pub const SESSION_MAX_MS: i64 = 7 * 24 * 3_600_000;
/// A one-time sign-in link works this long.
pub const LINK_TTL_MS: i64 = 15 * 60_000;
/// `last_seen_ms` is rewritten only when older than this (each page is not a write).
const SEEN_RESOLUTION_MS: i64 = 60_000;

impl Maintenance {
    /// Starts a session for the holder of `token`, if it is active: the session id (for the
    /// cookie, seen this once) and who it is.
    pub async fn start_session(
        &self,
        token: &str,
    ) -> Result<Option<(String, Caller)>, MaintenanceError> {
        let Some((token_id, caller)) = self.active_token(&hash(token)).await? else {
            return Ok(None);
        };
        let id = self.new_session(token_id).await?;
        Ok(Some((id, caller)))
    }

    async fn new_session(&self, token_id: i64) -> Result<String, MaintenanceError> {
        let id = secret()?;
        let now = Utc::now().timestamp_millis();
        sqlx::query(
            "INSERT INTO sessions (hash, token_id, created_at_ms, last_seen_ms)
             VALUES ($1, $2, $3, $3)",
        )
        .bind(hash(&id))
        .bind(token_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Who the session `id` belongs to, if it is still open and its token still active; keeps
    /// it alive (to the minute).
    pub async fn session(&self, id: &str) -> Result<Option<Caller>, MaintenanceError> {
        let now = Utc::now().timestamp_millis();
        let row = sqlx::query(
            "SELECT s.last_seen_ms, t.hash FROM sessions s JOIN api_tokens t ON t.id = s.token_id
             WHERE s.hash = $1 AND s.ended_at_ms IS NULL
               AND s.last_seen_ms > $2 AND s.created_at_ms > $3",
        )
        .bind(hash(id))
        .bind(now - SESSION_IDLE_MS)
        .bind(now - SESSION_MAX_MS)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let token_hash: String = r.get(1);
        let Some((_, caller)) = self.active_token(&token_hash).await? else {
            return Ok(None);
        };
        if r.get::<i64, _>(0) < now - SEEN_RESOLUTION_MS {
            sqlx::query("UPDATE sessions SET last_seen_ms = $1 WHERE hash = $2")
                .bind(now)
                .bind(hash(id))
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(caller))
    }

    /// Ends the session `id` (signing out): the cookie is worthless from now on.
    pub async fn end_session(&self, id: &str) -> Result<(), MaintenanceError> {
        sqlx::query("UPDATE sessions SET ended_at_ms = $1 WHERE hash = $2")
            .bind(Utc::now().timestamp_millis())
            .bind(hash(id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A one-time sign-in code for the holder of `token` (the demo's printed link).
    pub async fn signin_link(&self, token: &str) -> Result<Option<String>, MaintenanceError> {
        let Some((token_id, _)) = self.active_token(&hash(token)).await? else {
            return Ok(None);
        };
        let code = secret()?;
        sqlx::query("INSERT INTO signin_links (hash, token_id, expires_at_ms) VALUES ($1, $2, $3)")
            .bind(hash(&code))
            .bind(token_id)
            .bind(Utc::now().timestamp_millis() + LINK_TTL_MS)
            .execute(&self.pool)
            .await?;
        Ok(Some(code))
    }

    /// Uses a one-time code: a new session (as [`Maintenance::start_session`]) the first time
    /// within its life, nothing after.
    pub async fn use_signin_link(
        &self,
        code: &str,
    ) -> Result<Option<(String, Caller)>, MaintenanceError> {
        let now = Utc::now().timestamp_millis();
        let used = sqlx::query(
            "UPDATE signin_links SET used_at_ms = $1
             WHERE hash = $2 AND used_at_ms IS NULL AND expires_at_ms > $1",
        )
        .bind(now)
        .bind(hash(code))
        .execute(&self.pool)
        .await?;
        if used.rows_affected() == 0 {
            return Ok(None);
        }
        let token_hash: Option<String> = sqlx::query_scalar(
            "SELECT t.hash FROM signin_links l JOIN api_tokens t ON t.id = l.token_id
             WHERE l.hash = $1",
        )
        .bind(hash(code))
        .fetch_optional(&self.pool)
        .await?;
        let Some(token_hash) = token_hash else {
            return Ok(None);
        };
        let Some((token_id, caller)) = self.active_token(&token_hash).await? else {
            return Ok(None);
        };
        Ok(Some((self.new_session(token_id).await?, caller)))
    }
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
