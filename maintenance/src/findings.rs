//! Every finding the analytics made and what became of it: the ticket it opened or joined, the
//! finished ticket it was counted on, or nothing because no failure mode matched. The planner
//! sees here what the analytics saw and did not ticket; a ticket's findings are the history of
//! its remaining-life estimate.

use forewarn_domain::{Finding, TimeToFailure};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Maintenance, MaintenanceError, Opened};

/// What became of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
// The API's `Outcome` (a ticket id and whether it is new) has the name already.
#[schema(as = FindingOutcome)]
pub enum Outcome {
    /// No failure mode matched it.
    Unmatched,
    /// It opened a ticket.
    Opened,
    /// It joined the ticket already open for its asset and mode.
    Joined,
    /// It came within the cooldown of a finished ticket and was counted there.
    CoolingDown,
    /// Its deviation began before a finished ticket's repair: counted there.
    BeforeRepair,
}

impl Outcome {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Unmatched => "unmatched",
            Outcome::Opened => "opened",
            Outcome::Joined => "joined",
            Outcome::CoolingDown => "cooling_down",
            Outcome::BeforeRepair => "before_repair",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Outcome::Unmatched,
            Outcome::Opened,
            Outcome::Joined,
            Outcome::CoolingDown,
            Outcome::BeforeRepair,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }

    /// The outcome of [`Maintenance::open_ticket`] and the ticket it concerns.
    pub fn of(opened: &Opened) -> (Self, i64) {
        match opened {
            Opened::New(t) => (Outcome::Opened, t.id),
            Opened::Existing(id) => (Outcome::Joined, *id),
            Opened::CoolingDown(id) => (Outcome::CoolingDown, *id),
            Opened::BeforeRepair(id) => (Outcome::BeforeRepair, *id),
        }
    }
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FindingRecord {
    /// Its number.
    pub id: i64,
    /// The asset.
    pub asset_id: String,
    /// Device time of the reading that completed it (ms since the epoch).
    pub detected_at_ms: i64,
    /// `machine` (a deviation of the machine) or `instrumentation` (a sensor misreading).
    pub kind: String,
    /// The failure mode it was classified as, if any.
    pub failure_mode: Option<String>,
    /// What named the mode: `signature`, `learnt` or `outside`.
    pub classified_by: Option<String>,
    /// What became of it.
    pub outcome: Outcome,
    /// The ticket it opened, joined or was counted on.
    pub ticket_id: Option<i64>,
    /// Its severity.
    pub severity: String,
    /// Its largest absolute score (robust σ).
    pub score: f64,
    /// The asset's remaining life as estimated with it.
    pub time_to_failure_h: Option<TimeToFailure>,
    /// The finding itself, as the analytics made it.
    #[schema(value_type = Object)]
    pub finding: serde_json::Value,
}

/// Which findings [`Maintenance::findings`] returns (newest first).
#[derive(Debug, Clone, Default)]
pub struct FindingFilter<'a> {
    /// Only this asset's.
    pub asset: Option<&'a str>,
    /// Only those with (`true`) or without (`false`) a failure mode.
    pub classified: Option<bool>,
    /// Only those counted on a ticket (`true`) or on none (`false`).
    pub ticketed: Option<bool>,
    /// Detected at or after (device time, ms).
    pub from_ms: Option<i64>,
    /// Detected before (device time, ms).
    pub to_ms: Option<i64>,
    /// Older than this finding id (paging).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

const SELECT: &str = "SELECT id, asset_id, detected_at_ms, kind, failure_mode, classified_by, outcome, ticket_id, severity, score, ttf_hours, ttf_low, ttf_high, body FROM findings";

impl Maintenance {
    /// Stores `finding` with its mode and outcome; a finding already stored (the same asset,
    /// device time and kind: a restart's replay) is left as it is. Returns whether it was new.
    pub async fn record_finding(
        &self,
        finding: &Finding,
        mode: Option<(&str, forewarn_domain::Classifier)>,
        outcome: Outcome,
        ticket: Option<i64>,
    ) -> Result<bool, MaintenanceError> {
        let ttf = finding.health.as_ref().and_then(|h| h.time_to_failure_h);
        let kind = if finding.sensor_faults.is_empty() {
            "machine"
        } else {
            "instrumentation"
        };
        let body = serde_json::to_string(finding).unwrap_or_else(|_| "{}".into());
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let done = sqlx::query(
            "INSERT INTO findings (asset_id, detected_at_ms, kind, failure_mode, classified_by, outcome, ticket_id, severity, score, ttf_hours, ttf_low, ttf_high, body, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT DO NOTHING",
        )
        .bind(finding.asset.as_str())
        .bind(finding.detected_at_ms)
        .bind(kind)
        .bind(mode.map(|(m, _)| m))
        .bind(mode.map(|(_, by)| by.as_str()))
        .bind(outcome.as_str())
        .bind(ticket)
        .bind(finding.severity.as_str())
        .bind(finding.score)
        .bind(ttf.map(|t| t.hours))
        .bind(ttf.map(|t| t.low))
        .bind(ttf.and_then(|t| t.high))
        .bind(body)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stored findings, newest first.
    pub async fn findings(
        &self,
        f: &FindingFilter<'_>,
    ) -> Result<Vec<FindingRecord>, MaintenanceError> {
        let sql = format!(
            "{SELECT} WHERE ($1 IS NULL OR asset_id = $1)
               AND ($2 IS NULL OR ($2 = 1) = (failure_mode IS NOT NULL))
               AND ($3 IS NULL OR ($3 = 1) = (ticket_id IS NOT NULL))
               AND ($4 IS NULL OR detected_at_ms >= $4)
               AND ($5 IS NULL OR detected_at_ms < $5)
               AND ($6 IS NULL OR id < $6)
             ORDER BY id DESC LIMIT $7"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(f.asset)
            .bind(f.classified.map(i64::from))
            .bind(f.ticketed.map(i64::from))
            .bind(f.from_ms)
            .bind(f.to_ms)
            .bind(f.before)
            .bind(i64::from(f.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record).collect()
    }

    /// One stored finding.
    pub async fn finding(&self, id: i64) -> Result<Option<FindingRecord>, MaintenanceError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// The findings counted on `ticket`, oldest first: the history of its estimate.
    pub async fn findings_of_ticket(
        &self,
        ticket: i64,
    ) -> Result<Vec<FindingRecord>, MaintenanceError> {
        let sql = format!("{SELECT} WHERE ticket_id = $1 ORDER BY detected_at_ms, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ticket)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record).collect()
    }

    /// Records that a planner opened (or joined) `ticket` from an unmatched finding as `mode`.
    pub async fn link_finding(
        &self,
        id: i64,
        mode: &str,
        outcome: Outcome,
        ticket: i64,
    ) -> Result<(), MaintenanceError> {
        sqlx::query(
            "UPDATE findings SET failure_mode = $1, classified_by = 'outside', outcome = $2, ticket_id = $3 WHERE id = $4",
        )
        .bind(mode)
        .bind(outcome.as_str())
        .bind(ticket)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn record(row: &AnyRow) -> Result<FindingRecord, MaintenanceError> {
    let id: i64 = row.get("id");
    let outcome: String = row.get("outcome");
    let hours: Option<f64> = row.get("ttf_hours");
    Ok(FindingRecord {
        id,
        asset_id: row.get("asset_id"),
        detected_at_ms: row.get("detected_at_ms"),
        kind: row.get("kind"),
        failure_mode: row.get("failure_mode"),
        classified_by: row.get("classified_by"),
        outcome: Outcome::parse(&outcome).ok_or(MaintenanceError::Invalid {
            id,
            field: "outcome",
        })?,
        ticket_id: row.get("ticket_id"),
        severity: row.get("severity"),
        score: row.get("score"),
        time_to_failure_h: hours.map(|hours| TimeToFailure {
            hours,
            low: row.get::<Option<f64>, _>("ttf_low").unwrap_or(0.0),
            high: row.get("ttf_high"),
        }),
        finding: serde_json::from_str(&row.get::<String, _>("body")).unwrap_or_default(),
    })
}

#[cfg(test)]
#[path = "findings_tests.rs"]
mod tests;
