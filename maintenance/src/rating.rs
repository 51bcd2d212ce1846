//! Satisfaction with a closed ticket's work: 1 to 5 and a comment, recorded once.

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::{Maintenance, MaintenanceError, TicketStatus};

/// A satisfaction rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    /// 1 (poor) to 5 (excellent).
    pub score: u8,
    /// Free text.
    pub comment: Option<String>,
    /// Who rated (a token's name).
    pub by: String,
    /// When (wall clock, RFC 3339).
    pub at: String,
}

/// Why a rating was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RatingError {
    /// No such ticket.
    #[error("no ticket {0}")]
    NotFound(i64),
    /// Only closed tickets are rated, once.
    #[error("{0}")]
    Conflict(String),
    /// The score is not 1 to 5.
    #[error("a rating is 1 to 5")]
    Score,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] MaintenanceError),
}

impl From<sqlx::Error> for RatingError {
    fn from(e: sqlx::Error) -> Self {
        RatingError::Db(e.into())
    }
}

impl Maintenance {
    /// Records `by`'s rating of closed ticket `id`.
    pub async fn rate(
        &self,
        id: i64,
        by: &str,
        score: u8,
        comment: Option<&str>,
    ) -> Result<Rating, RatingError> {
        if !(1..=5).contains(&score) {
            return Err(RatingError::Score);
        }
        let rating = Rating {
            score,
            comment: comment.map(str::to_owned),
            by: by.to_owned(),
            at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let json = serde_json::to_string(&rating).unwrap_or_default();
        let done = sqlx::query(
            "UPDATE tickets SET rating = $1 WHERE id = $2 AND status = 'closed' AND rating IS NULL",
        )
        .bind(json)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(rating);
        }
        let t = self.ticket(id).await?.ok_or(RatingError::NotFound(id))?;
        Err(RatingError::Conflict(if t.status != TicketStatus::Closed {
            format!(
                "only a closed ticket is rated; ticket {id} is {}",
                t.status.as_str()
            )
        } else {
            format!("ticket {id} is rated already")
        }))
    }
}
