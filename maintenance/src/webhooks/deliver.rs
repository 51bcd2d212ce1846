//! Sending queued events: signed POSTs, at most one in flight per subscription and ticket,
//! exponential backoff on failure, every attempt logged.

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::queue::Ready;
use crate::{Maintenance, MaintenanceError};

/// How deliveries are paced.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// How often the queue is looked at when nothing is due.
    pub poll: Duration,
    /// The first retry's delay; each later one doubles it.
    pub first_retry: Duration,
    /// The longest delay between retries.
    pub max_retry: Duration,
    /// Attempts before an event is given up (then listed as failed, and redeliverable).
    pub max_attempts: i64,
    /// How long a receiver may take to answer.
    pub timeout: Duration,
    /// Events sent at once (across subscriptions and tickets).
    pub batch: u32,
    /// Receivers on loopback or private addresses are allowed (`[webhooks] allow_private`).
    pub allow_private: bool,
    /// PEM file of a private CA trusted besides the system's roots (`[webhooks] ca_file`), for
    /// receivers inside the plant with certificates of its own CA.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for DeliveryConfig {
    /// Poll every 250 ms; retry after 1 s, 2 s, 4 s … at most 1 h apart; give up after 20
    /// attempts (about 8 hours); 10 s per request; up to 32 at once.
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(250),
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(3600),
            max_attempts: 20,
            timeout: Duration::from_secs(10),
            batch: 32,
            allow_private: false,
            ca_file: None,
        }
    }
}

impl DeliveryConfig {
    /// The delay after the `attempt`-th failure (1-based).
    pub fn backoff(&self, attempt: i64) -> Duration {
        let factor = 2u32.saturating_pow((attempt - 1).clamp(0, 30) as u32);
        self.first_retry.saturating_mul(factor).min(self.max_retry)
    }
}

/// `sha256=HEX`: the HMAC-SHA256 of `timestamp.body` keyed with `secret`.
/// (`None` only if the HMAC implementation refused the key, which HMAC's any-length keys never
/// give it cause to.)
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(format!("sha256={hex}"))
}

/// The JSON body of an event.
fn body(r: &Ready) -> Vec<u8> {
    let payload: serde_json::Value =
        serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null);
    serde_json::to_vec(&serde_json::json!({
        "id": r.outbox_id,
        "kind": r.kind,
        "at": r.at,
        "ticket_id": r.ticket_id,
        "payload": payload,
    }))
    .unwrap_or_default()
}

/// Sends one event; the status, or why there was none.
async fn send(
    client: &reqwest::Client,
    r: &Ready,
    allow_private: bool,
) -> (Option<u16>, Option<String>) {
    // Address literals skip the resolver's check: checked here, at every attempt.
    if let Some(why) = super::guard::refusal(&r.url, allow_private) {
        return (None, Some(why));
    }
    let body = body(r);
    let ts = Utc::now().timestamp();
    let Some(signed) = signature(&r.secret, ts, &body) else {
        return (None, Some("the secret cannot key an HMAC".into()));
    };
    let res = client
        .post(&r.url)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("forewarn/", env!("CARGO_PKG_VERSION")),
        )
        .header("x-forewarn-event", &r.kind)
        .header("x-forewarn-delivery", r.outbox_id.to_string())
        .header("x-forewarn-timestamp", ts.to_string())
        .header("x-forewarn-signature", signed)
        .body(body)
        .send()
        .await;
    match res {
        Ok(res) if res.status().is_success() => (Some(res.status().as_u16()), None),
        Ok(res) if res.status().is_redirection() => (
            Some(res.status().as_u16()),
            Some(format!(
                "answered {} (redirects are not followed: subscribe the final URL)",
                res.status()
            )),
        ),
        Ok(res) => (
            Some(res.status().as_u16()),
            Some(format!("answered {}", res.status())),
        ),
        Err(e) => (None, Some(causes(&e))),
    }
}

/// An error with its causes, outermost first: reqwest's own text alone hides why.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// Delivers until `stop` resolves: queue new events, send what is ready, record, repeat.
pub async fn run(
    db: Maintenance,
    cfg: DeliveryConfig,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), MaintenanceError> {
    let client = super::guard::client(cfg.timeout, cfg.allow_private, cfg.ca_file.as_deref())?;
    tokio::pin!(stop);
    loop {
        // A database outage waits a poll and tries again: what is not delivered stays queued.
        let ready = match due(&db, &cfg).await {
            Ok(ready) => ready,
            Err(e) => {
                crate::failure::survive("webhook deliveries", e)?;
                Vec::new()
            }
        };
        if ready.is_empty() {
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tokio::time::sleep(cfg.poll) => continue,
            }
        }
        let sends = ready.iter().map(|r| {
            let client = &client;
            async move {
                let t = Instant::now();
                let (status, error) = send(client, r, cfg.allow_private).await;
                (r, status, error, t.elapsed().as_millis() as i64)
            }
        });
        // Sent together, recorded after: a crash in between sends them again (at least once).
        let results = tokio::select! {
            _ = &mut stop => return Ok(()),
            r = futures_util::future::join_all(sends) => r,
        };
        for (r, status, error, took) in results {
            let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
            let attempt = r.attempts + 1;
            let (state, retry_at) = if error.is_none() {
                ("delivered", 0)
            } else if attempt >= cfg.max_attempts {
                tracing::warn!(
                    webhook = r.webhook_id,
                    event = r.outbox_id,
                    attempt,
                    "webhook event given up"
                );
                ("failed", 0)
            } else {
                let wait = cfg.backoff(attempt);
                (
                    "pending",
                    Utc::now().timestamp_millis() + wait.as_millis() as i64,
                )
            };
            // Not recorded (the database is down): sent again later, at least once holds.
            if let Err(e) = db
                .attempted(r, &at, status, error.as_deref(), took, state, retry_at)
                .await
            {
                crate::failure::survive("webhook deliveries", e)?;
            }
        }
    }
}

/// New outbox events queued per subscription, then what may be sent now, claimed for this
/// instance for longer than a send can take (the timeout, with room).
async fn due(db: &Maintenance, cfg: &DeliveryConfig) -> Result<Vec<Ready>, MaintenanceError> {
    db.enqueue().await?;
    let lease = (cfg.timeout * 2).max(Duration::from_secs(30));
    db.claim(
        Utc::now().timestamp_millis(),
        cfg.batch,
        lease.as_millis() as i64,
    )
    .await
}
