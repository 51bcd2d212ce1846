//! The service's HTTP API as the crew uses it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::SimError;

/// What the crew reads of a ticket.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TicketLite {
    pub id: i64,
    pub asset_id: String,
    pub failure_mode: String,
    pub status: String,
}

/// How far the service's pipeline has got (`GET /api/v1/pipeline`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Progress {
    pub analysed_through_ms: BTreeMap<String, i64>,
    pub findings_pending: u64,
}

/// A bearer-token client of one service.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    pub(crate) fn new(base: &str, token: &str) -> Result<Self, SimError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SimError::Crew(e.to_string()))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
            http,
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, SimError> {
        let res = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| SimError::Crew(format!("request failed: {e}")))?;
        let status = res.status();
        let body = res
            .text()
            .await
            .map_err(|e| SimError::Crew(e.to_string()))?;
        if !status.is_success() {
            return Err(SimError::Crew(format!("{status}: {body}")));
        }
        serde_json::from_str(&body).map_err(|e| SimError::Crew(format!("{e}: {body}")))
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, SimError> {
        let v = self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await?;
        serde_json::from_value(v).map_err(|e| SimError::Crew(format!("{path}: {e}")))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, SimError> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub(crate) async fn progress(&self) -> Result<Progress, SimError> {
        self.get("/api/v1/pipeline").await
    }

    pub(crate) async fn open_tickets(&self) -> Result<Vec<TicketLite>, SimError> {
        self.get("/api/v1/tickets?status=open&limit=1000").await
    }

    pub(crate) async fn ticket(&self, id: i64) -> Result<TicketLite, SimError> {
        self.get(&format!("/api/v1/tickets/{id}")).await
    }

    /// Makes sure the crew exists as a technician who can do everything, at any hour.
    pub(crate) async fn ensure_technician(&self, id: &str) -> Result<(), SimError> {
        let body = json!({
            "id": id, "name": "Simulated crew", "skills": ["*"],
            "shift_start": "00:00", "shift_end": "23:59",
            "work_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        });
        self.post("/api/v1/technicians", body).await.map(|_| ())
    }

    pub(crate) async fn assign(&self, id: i64, technician: &str) -> Result<TicketLite, SimError> {
        let body = json!({"technician_id": technician, "note": "taken by the simulated crew"});
        let v = self
            .post(&format!("/api/v1/tickets/{id}/assign"), body)
            .await?;
        serde_json::from_value(v).map_err(|e| SimError::Crew(e.to_string()))
    }

    pub(crate) async fn transition(
        &self,
        id: i64,
        to: &str,
        resolution: Option<Value>,
        repaired_at: Option<i64>,
    ) -> Result<TicketLite, SimError> {
        let mut body = json!({"to": to});
        if let Some(r) = resolution {
            body["resolution"] = r;
        }
        if let Some(at) = repaired_at {
            body["repaired_at"] = json!(at);
        }
        let v = self
            .post(&format!("/api/v1/tickets/{id}/transition"), body)
            .await?;
        serde_json::from_value(v).map_err(|e| SimError::Crew(e.to_string()))
    }

    /// Reports a breakdown: a corrective ticket (or the open one it joins).
    pub(crate) async fn report_failure(
        &self,
        asset: &str,
        mode: &str,
        at_ms: i64,
    ) -> Result<i64, SimError> {
        let body = json!({
            "asset_id": asset, "failure_mode": mode, "severity": "critical",
            "note": "the machine stopped", "observed_at": at_ms,
        });
        let v = self.post("/api/v1/tickets", body).await?;
        v["ticket_id"]
            .as_i64()
            .ok_or_else(|| SimError::Crew(format!("no ticket id in {v}")))
    }
}
