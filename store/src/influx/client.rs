//! The InfluxDB connection: writes in line protocol and InfluxQL reads through the `influxdb`
//! crate (v1 API), with retry and backoff for what a retry can fix.
//!
//! Schema: measurement `telemetry`, tags `asset` and `sensor`, field `value` (float), millisecond
//! timestamps; measurement `assets`, tag `asset`, field `birth` (the registration as JSON). One
//! series per (asset, sensor) keeps InfluxDB's own dedup — same series and timestamp, last write
//! wins — identical to the embedded engine's, so redeliveries and mirror resends are harmless.

use std::sync::Arc;
use std::time::Duration;

use forewarn_domain::{Asset, Dependency, Metrics, Reading};
use influxdb::{Client, Query, ReadQuery, Timestamp, WriteQuery};
use serde::Deserialize;

use crate::StoreError;

/// Telemetry measurement.
pub const MEASUREMENT: &str = "telemetry";
/// Asset registrations measurement.
pub const ASSETS: &str = "assets";
/// Readings per write request (InfluxDB's advice: 5,000–10,000 lines, ~60 bytes each here).
const WRITE_CHUNK: usize = 10_000;
/// Write requests in flight at once.
const LANES: usize = 4;
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where InfluxDB is and how to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InfluxConfig {
    /// Base URL, e.g. `http://127.0.0.1:8086`.
    pub url: String,
    /// Database (InfluxDB 1.x) or bucket mapped through the v1 compatibility API (2.x, 3).
    pub database: String,
    /// User name (1.x authentication).
    pub username: Option<String>,
    /// Password (1.x authentication).
    pub password: Option<String>,
    /// API token (InfluxDB 2.x / 3 `Authorization: Token …`).
    pub token: Option<String>,
    /// PEM file of the CA that signed an https server's certificate; when set it is the only
    /// one trusted (a private CA), otherwise the system's roots are.
    pub ca_file: Option<std::path::PathBuf>,
}

/// A connection with the retry policy of the store.
#[derive(Debug, Clone)]
pub struct Influx {
    client: Client,
    /// The same HTTP client, for a diagnosis the `influxdb` crate's flattened errors cannot give.
    http: reqwest::Client,
    url: String,
    metrics: Arc<Metrics>,
    /// What an outage of this server degrades: the store of record or the mirror.
    role: Dependency,
}

/// Whether a failure is worth another attempt.
fn transient(e: &influxdb::Error) -> bool {
    match e {
        influxdb::Error::ConnectionError { .. } | influxdb::Error::ProtocolError { .. } => true,
        // 5xx: the server is starting, overloaded or its disk is full; 429: rate limited.
        influxdb::Error::ApiError(code) => *code >= 500 || *code == 429,
        _ => false,
    }
}

/// Whether the server refused the credentials: fatal at start (the settings are wrong), waited
/// out on the write path (a token being rotated: nothing is acknowledged meanwhile).
fn unauthorized(e: &influxdb::Error) -> bool {
    matches!(e, influxdb::Error::ApiError(401 | 403))
}

/// The HTTP client under the InfluxDB client: https verified against the configured CA (only it)
/// or the system's roots; no redirects, so credentials never follow one to another host.
fn http_client(config: &InfluxConfig) -> Result<reqwest::Client, StoreError> {
    let failed = |message: String| StoreError::Influx {
        url: config.url.clone(),
        message,
    };
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10));
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| failed(format!("reading the CA file {}: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| failed(format!("the CA file {} is not PEM: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(failed(format!(
                "the CA file {} holds no certificate",
                path.display()
            )));
        }
        builder = builder.tls_certs_only(certs);
    }
    builder
        .build()
        .map_err(|e| failed(format!("building the HTTP client: {e}")))
}

impl Influx {
    /// A client for `config`; nothing is sent until the first request. Retried attempts are
    /// counted in `metrics`. Fails when the configured CA cannot be read.
    pub fn new(config: &InfluxConfig, metrics: Arc<Metrics>) -> Result<Self, StoreError> {
        let http = http_client(config)?;
        let mut client = Client::new(config.url.trim_end_matches('/'), &config.database)
            .with_http_client(http.clone());
        if let (Some(u), Some(p)) = (&config.username, &config.password) {
            client = client.with_auth(u, p);
        }
        if let Some(t) = &config.token {
            client = client.with_token(t);
        }
        Ok(Self {
            client,
            http,
            url: config.url.clone(),
            metrics,
            role: Dependency::TelemetryStore,
        })
    }

    /// This server is a mirror: its outages degrade the mirror, not the store.
    pub fn as_mirror(mut self) -> Self {
        self.role = Dependency::InfluxdbMirror;
        self
    }

    fn error(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Influx {
            url: self.url.clone(),
            message: e.to_string(),
        }
    }

    /// Sends `q`, retrying transient failures with exponential backoff. `attempts = None` retries
    /// for ever: the write path waits out an outage (back-pressure) instead of dropping data.
    async fn send<Q: Query + Clone>(
        &self,
        q: Q,
        attempts: Option<u32>,
    ) -> Result<String, StoreError> {
        let mut backoff = Duration::from_millis(100);
        let mut tried = 0u32;
        loop {
            tried += 1;
            match self.client.query(q.clone()).await {
                Ok(body) => {
                    self.metrics.recover(self.role);
                    return Ok(body);
                }
                Err(e)
                    if (transient(&e) || (attempts.is_none() && unauthorized(&e)))
                        && attempts.is_none_or(|n| tried < n) =>
                {
                    self.metrics.influx_retries.inc();
                    let now = chrono::Utc::now().timestamp_millis();
                    let why = format!("InfluxDB at {}: {e}", self.url);
                    self.metrics.degrade(self.role, &why, now);
                    if tried == 1 || tried.is_multiple_of(20) {
                        tracing::warn!(url = %self.url, error = %e, attempt = tried, "InfluxDB unavailable; retrying");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => return Err(self.error(e)),
            }
        }
    }

    /// Creates the database (idempotent), waiting up to `wait` for the server to come up.
    pub async fn connect(&self, wait: Duration) -> Result<(), StoreError> {
        let db = self.client.database_name().replace('"', "");
        let create = ReadQuery::new(format!("CREATE DATABASE \"{db}\""));
        let attempts = (wait.as_millis() / MAX_BACKOFF.as_millis()).max(1) as u32 + 6;
        match self.send(create, Some(attempts)).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.diagnose(e).await),
        }
    }

    /// Why InfluxDB cannot be reached, in full: the `influxdb` crate keeps only the outermost
    /// words of a connection error ("error sending request"), so a `/ping` with the same client
    /// fetches the cause (an unknown certificate issuer, a refused connection).
    async fn diagnose(&self, e: StoreError) -> StoreError {
        let url = format!("{}/ping", self.url.trim_end_matches('/'));
        match self.http.get(&url).send().await {
            Err(cause) => {
                let mut why = cause.to_string();
                let mut source = std::error::Error::source(&cause);
                while let Some(s) = source {
                    why.push_str(": ");
                    why.push_str(&s.to_string());
                    source = s.source();
                }
                self.error(why)
            }
            Ok(_) => e,
        }
    }

    /// Writes readings and births; returns when InfluxDB has accepted all of them. Transient
    /// failures are retried for ever.
    pub async fn write(&self, readings: &[Reading], births: &[Asset]) -> Result<(), StoreError> {
        if !births.is_empty() {
            let now = chrono::Utc::now().timestamp_millis().max(0) as u128;
            let lines: Vec<WriteQuery> = births
                .iter()
                .map(|a| {
                    WriteQuery::new(Timestamp::Milliseconds(now), ASSETS)
                        .add_tag("asset", a.id.as_str())
                        .add_field("birth", serde_json::to_string(a).unwrap_or_default())
                })
                .collect();
            self.send(lines, None).await?;
        }
        if readings.len() <= WRITE_CHUNK {
            return self.write_lane(readings).await;
        }
        // Several requests in flight keep InfluxDB busy while it fsyncs; readings are split into
        // lanes by asset, each lane written in order, so a later write of a point still wins.
        let mut lanes: Vec<Vec<Reading>> = vec![Vec::new(); LANES];
        for r in readings {
            let lane = r
                .asset
                .as_str()
                .bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31) ^ b as usize);
            lanes[lane % LANES].push(r.clone());
        }
        let mut writes = tokio::task::JoinSet::new();
        for lane in lanes.into_iter().filter(|l| !l.is_empty()) {
            let influx = self.clone();
            writes.spawn(async move { influx.write_lane(&lane).await });
        }
        while let Some(done) = writes.join_next().await {
            done.map_err(|e| StoreError::Task(e.to_string()))??;
        }
        Ok(())
    }

    /// Writes readings in order, a chunk per request.
    async fn write_lane(&self, readings: &[Reading]) -> Result<(), StoreError> {
        for chunk in readings.chunks(WRITE_CHUNK) {
            let lines: Vec<WriteQuery> = chunk
                .iter()
                .map(|r| {
                    WriteQuery::new(Timestamp::Milliseconds(r.ts_ms.max(0) as u128), MEASUREMENT)
                        .add_tag("asset", r.asset.as_str())
                        .add_tag("sensor", r.sensor.as_str())
                        .add_field("value", r.value)
                })
                .collect();
            self.send(lines, None).await?;
        }
        Ok(())
    }

    /// Runs InfluxQL statements (`;`-separated) and returns one result per statement. Reads retry
    /// a few times, then report the outage (the API answers 503) instead of hanging.
    pub async fn select(&self, q: &str) -> Result<Vec<StatementResult>, StoreError> {
        let body = self.send(ReadQuery::new(q), Some(4)).await?;
        let parsed: QueryResponse = serde_json::from_str(&body).map_err(|e| self.error(e))?;
        for r in &parsed.results {
            if let Some(e) = &r.error {
                return Err(self.error(e));
            }
        }
        Ok(parsed.results)
    }
}

/// `/query`'s JSON.
#[derive(Debug, Deserialize)]
struct QueryResponse {
    #[serde(default)]
    results: Vec<StatementResult>,
}

/// One statement's result.
#[derive(Debug, Deserialize, Default)]
pub struct StatementResult {
    /// Series returned (one per tag combination of the GROUP BY).
    #[serde(default)]
    pub series: Vec<SeriesResult>,
    #[serde(default)]
    error: Option<String>,
}

/// One series of a result.
#[derive(Debug, Deserialize)]
pub struct SeriesResult {
    /// GROUP BY tags.
    #[serde(default)]
    pub tags: std::collections::HashMap<String, String>,
    /// Column names (`time` first).
    pub columns: Vec<String>,
    /// Rows.
    #[serde(default)]
    pub values: Vec<Vec<serde_json::Value>>,
}

/// Parses InfluxDB's RFC 3339 `time` column into epoch milliseconds.
pub fn parse_time(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Quotes a tag value for an InfluxQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_quotes() {
        let t = serde_json::json!("2025-11-23T12:13:20.123Z");
        assert_eq!(parse_time(&t), Some(1_763_900_000_123));
        assert_eq!(parse_time(&serde_json::json!(5)), Some(5));
        assert_eq!(parse_time(&serde_json::json!(null)), None);
        assert_eq!(quote("it's"), "'it\\'s'");
        assert!(transient(&influxdb::Error::ApiError(503)));
        assert!(!transient(&influxdb::Error::ApiError(400)));
    }
}
