//! The service configuration file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use forewarn_analytics::BaselineConfig;
use forewarn_domain::{Asset, Catalog};
use forewarn_ingest::{IngestConfig, Limits};
use serde::Deserialize;

/// The catalog built into the binary.
pub const BUILTIN_CATALOG: &str = include_str!("../../config/catalog.toml");
/// The commented example configuration (`forewarn config example`).
pub const EXAMPLE_CONFIG: &str = include_str!("../../config/forewarn.example.toml");

/// The whole file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Broker connection.
    #[serde(default)]
    pub mqtt: MqttSection,
    /// Ingest limits and batching.
    #[serde(default)]
    pub ingest: IngestSection,
    /// Detector settings.
    #[serde(default)]
    pub analytics: AnalyticsSection,
    /// HTTP listener.
    #[serde(default)]
    pub http: HttpSection,
    /// Where the catalog comes from.
    #[serde(default)]
    pub catalog: CatalogSection,
    /// The embedded store.
    #[serde(default)]
    pub store: StoreSection,
    /// Ticket rules.
    #[serde(default)]
    pub maintenance: MaintenanceSection,
    /// Service levels per priority.
    #[serde(default)]
    pub sla: SlaSection,
    /// Assets declared up front.
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// Sites, warehouses, stock and crew for an empty database.
    #[serde(default)]
    pub starter: crate::starter::Starter,
    /// Webhook receivers.
    #[serde(default)]
    pub webhooks: WebhooksSection,
}

/// `[webhooks]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksSection {
    /// Receivers on loopback, private or link-local addresses are allowed (off: a subscription
    /// must not turn the service into a probe of the plant network).
    pub allow_private: bool,
    /// PEM file of a private CA trusted besides the system's roots, for https receivers
    /// inside the plant.
    pub ca_file: Option<std::path::PathBuf>,
}

/// Response and resolution hours of one priority.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaHours {
    /// From opening to the start of work.
    pub response_hours: f64,
    /// From opening to resolved, less paused time.
    pub resolution_hours: f64,
}

/// `[sla]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaSection {
    /// Priority 1.
    pub p1: SlaHours,
    /// Priority 2.
    pub p2: SlaHours,
    /// Priority 3.
    pub p3: SlaHours,
    /// Priority 4.
    pub p4: SlaHours,
    /// Whether waiting for parts stops the resolution clock.
    pub pause_waiting_parts: bool,
    /// Share of a clock after which a warning is raised.
    pub warn_at: f64,
    /// How often open tickets are checked, seconds.
    pub check_every_secs: u64,
}

impl Default for SlaSection {
    fn default() -> Self {
        let d = forewarn_maintenance::SlaPolicy::default();
        let h = |i: usize| SlaHours {
            response_hours: d.times[i].response.as_secs_f64() / 3600.0,
            resolution_hours: d.times[i].resolution.as_secs_f64() / 3600.0,
        };
        Self {
            p1: h(0),
            p2: h(1),
            p3: h(2),
            p4: h(3),
            pause_waiting_parts: d.pause_waiting_parts,
            warn_at: d.warn_at,
            check_every_secs: 60,
        }
    }
}

/// `[maintenance]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceSection {
    /// Hours after a ticket is resolved, closed or cancelled during which new alerts for the same
    /// asset and failure mode join it instead of opening another (0 = off).
    pub cooldown_hours: f64,
}

impl Default for MaintenanceSection {
    fn default() -> Self {
        Self {
            cooldown_hours: forewarn_maintenance::DEFAULT_COOLDOWN.as_secs_f64() / 3600.0,
        }
    }
}

/// `[mqtt]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttSection {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Client id of the persistent session (default: one unique to this host and data
    /// directory, see [`MqttSection::client_id`]).
    pub client_id: Option<String>,
    /// Topic prefix.
    pub topic_prefix: String,
    /// Subscription filter (default `{topic_prefix}/#`).
    pub subscription: Option<String>,
    /// Keep-alive in seconds.
    pub keep_alive_secs: u64,
    /// MQTT version: 3 (3.1.1, what every broker speaks) or 5.
    pub protocol: u8,
    /// MQTT 5: how long the broker keeps the session — and the messages queued in it — after
    /// Forewarn disconnects (a 3.1.1 session lasts as long as the broker's own settings say).
    pub session_expiry_hours: f64,
    /// `[mqtt.tls]`: TLS to the broker.
    pub tls: Option<MqttTlsSection>,
}

/// `[mqtt.tls]`: the CA that signed the broker's certificate (always verified), the name that
/// certificate carries, and optionally this client's own certificate and key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttTlsSection {
    /// PEM file of the CA (or CAs) trusted for the broker's certificate.
    pub ca_file: std::path::PathBuf,
    /// PEM file of this client's certificate chain, for brokers that require one.
    pub cert_file: Option<std::path::PathBuf>,
    /// PEM file of its private key.
    pub key_file: Option<std::path::PathBuf>,
    /// The broker's name in its certificate (default: `host`).
    pub server_name: Option<String>,
}

impl MqttSection {
    /// The MQTT client id: the configured one, or `fw-{host}-{hash of the data directory}` —
    /// stable across restarts (the broker keeps the session under it) and different for two
    /// instances (with one shared id they take the session from each other, back and forth).
    pub fn client_id(&self, data_dir: &std::path::Path) -> String {
        if let Some(id) = &self.client_id {
            return id.clone();
        }
        use sha2::Digest;
        let dir = data_dir
            .canonicalize()
            .unwrap_or_else(|_| data_dir.to_path_buf());
        let hash = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
        let host: String = gethostname::gethostname()
            .to_string_lossy()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(24)
            .collect();
        let hex: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!("fw-{host}-{hex}")
    }

    /// The MQTT version `protocol` and `session_expiry_hours` name, checked.
    pub fn version(&self) -> anyhow::Result<forewarn_ingest::MqttVersion> {
        match self.protocol {
            3 | 4 => Ok(forewarn_ingest::MqttVersion::V311),
            5 => {
                let h = self.session_expiry_hours;
                anyhow::ensure!(
                    h > 0.0 && h.is_finite(),
                    "mqtt.session_expiry_hours must be positive: with 0 the broker would drop \
                     the session, and every message queued for Forewarn, at each disconnect"
                );
                Ok(forewarn_ingest::MqttVersion::V5 {
                    session_expiry: Duration::from_secs_f64(h * 3600.0),
                })
            }
            other => anyhow::bail!("mqtt.protocol = {other}: use 3 (MQTT 3.1.1) or 5 (MQTT 5)"),
        }
    }
}

impl Default for MqttSection {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: None,
            topic_prefix: "forewarn".into(),
            subscription: None,
            keep_alive_secs: 30,
            protocol: 3,
            session_expiry_hours: 7.0 * 24.0,
            tls: None,
        }
    }
}

/// `[ingest]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// Largest payload accepted.
    pub max_payload_bytes: usize,
    /// Clock-skew tolerance in seconds.
    pub max_future_secs: i64,
    /// Messages per batch at most.
    pub batch_max_messages: usize,
    /// Batch latency bound in milliseconds.
    pub batch_max_delay_ms: u64,
    /// Assets births may register at most, config-declared ones included (series per asset are
    /// bounded by its type's sensors: telemetry naming others is rejected).
    pub max_assets: usize,
}

impl Default for IngestSection {
    fn default() -> Self {
        Self {
            max_payload_bytes: 65536,
            max_future_secs: 300,
            batch_max_messages: 2048,
            batch_max_delay_ms: 0,
            max_assets: 100_000,
        }
    }
}

/// `[analytics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsSection {
    /// Warm-up in hours.
    pub warmup_hours: f64,
    /// Smoothing time constant in minutes.
    pub smoothing_minutes: f64,
    /// Start threshold (robust z).
    pub threshold: f64,
    /// End threshold (robust z).
    pub clear_threshold: f64,
    /// Sustain time in hours.
    pub sustain_hours: f64,
    /// Days of undisturbed healthy operation after which an asset's joint model is refitted.
    pub refit_days: f64,
}

impl Default for AnalyticsSection {
    fn default() -> Self {
        let d = BaselineConfig::default();
        Self {
            warmup_hours: d.warmup_ms as f64 / 3.6e6,
            smoothing_minutes: d.smoothing_ms as f64 / 6e4,
            threshold: d.threshold,
            clear_threshold: d.clear_threshold,
            sustain_hours: d.sustain_ms as f64 / 3.6e6,
            refit_days: d.refit_ms as f64 / 8.64e7,
        }
    }
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// Listen address.
    pub listen: SocketAddr,
    /// Reads of `/api/v1` without a token: for a lab only (logged loudly at start).
    pub anonymous_read: bool,
    /// `/metrics` without a token, for a Prometheus that cannot send one.
    pub metrics_public: bool,
    /// Host names the service answers to besides IP addresses and `localhost` (against DNS
    /// rebinding); `["*"]` answers any.
    pub allowed_hosts: Vec<String>,
    /// `[http.tls]`: serve HTTPS with this certificate and key.
    pub tls: Option<HttpTls>,
    /// Server-sent event streams (`/api/v1/events`) open at once at most; more get 503. Each
    /// holds a connection (and a descriptor) for as long as its client stays.
    pub max_event_streams: usize,
    /// Connections open at once at most (event streams included); more are answered 503 and
    /// closed. Kept well below the descriptor limit, so the store always has descriptors left.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (a slow client holds a connection).
    pub header_timeout_secs: u64,
}

/// `[http.tls]`: PEM files of the server's certificate chain and private key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTls {
    /// The certificate chain, leaf first (PEM).
    pub cert_file: std::path::PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: std::path::PathBuf,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            anonymous_read: false,
            metrics_public: false,
            allowed_hosts: Vec::new(),
            tls: None,
            max_event_streams: 256,
            max_connections: 1024,
            header_timeout_secs: 30,
        }
    }
}

impl HttpSection {
    /// The API's access settings; an open door is logged loudly.
    pub fn access(&self) -> forewarn_api::Access {
        if self.anonymous_read {
            tracing::warn!(
                "[http] anonymous_read = true: anyone who reaches this port reads telemetry, tickets, \
                 technicians and stock without a token — a lab setting, not for a plant network"
            );
        }
        if self.allowed_hosts.iter().any(|h| h == "*") {
            tracing::warn!("[http] allowed_hosts = [\"*\"]: no protection against DNS rebinding");
        }
        forewarn_api::Access {
            anonymous_read: self.anonymous_read,
            metrics_public: self.metrics_public,
            allowed_hosts: self.allowed_hosts.clone(),
            https: self.tls.is_some(),
            allow_private_webhooks: false,
            max_event_streams: self.max_event_streams,
        }
    }
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// Buffered points that trigger a flush to Parquet.
    pub flush_points: u64,
    /// Days raw points are kept (0 = forever).
    pub raw_retention_days: f64,
    /// Days 1-minute rollups are kept (0 = forever).
    pub minute_retention_days: f64,
    /// Days 1-hour rollups are kept (0 = forever).
    pub hour_retention_days: f64,
    /// Which backend holds the telemetry.
    pub engine: Engine,
    /// `[store.influxdb]`: the server for `engine = "influxdb"` or for the mirror.
    pub influxdb: Option<InfluxSection>,
    /// Free space (MiB) the data directory's filesystem keeps: below it nothing more is stored
    /// or acknowledged (the broker keeps the messages) until space returns; 0 turns it off.
    pub min_free_mb: u64,
}

/// `[store] engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// WAL + Parquet in the data directory (optionally mirrored to InfluxDB).
    #[default]
    Embedded,
    /// InfluxDB holds the telemetry; acks wait for it.
    Influxdb,
}

/// `[store.influxdb]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfluxSection {
    /// Base URL, e.g. `http://127.0.0.1:8086`.
    pub url: String,
    /// Database (1.x) or bucket through the v1 compatibility API (2.x, 3).
    #[serde(default = "default_database")]
    pub database: String,
    /// User name (1.x); the password comes from `FOREWARN_INFLUXDB_PASSWORD`.
    pub username: Option<String>,
    /// With the embedded engine: mirror every durable batch into InfluxDB.
    #[serde(default)]
    pub mirror: bool,
    /// Bound of the mirror's persistent backlog, in MiB.
    #[serde(default = "default_backlog_mb")]
    pub mirror_backlog_mb: u64,
    /// With an `https://` URL: PEM file of the (private) CA that signed the server's
    /// certificate, trusted alone; without it the system's roots are used.
    pub ca_file: Option<std::path::PathBuf>,
}

fn default_database() -> String {
    "forewarn".into()
}

fn default_backlog_mb() -> u64 {
    1024
}

impl InfluxSection {
    /// Connection settings, secrets from the environment (`FOREWARN_INFLUXDB_PASSWORD`,
    /// `FOREWARN_INFLUXDB_TOKEN`) rather than the file.
    pub fn connection(&self) -> forewarn_store::InfluxConfig {
        forewarn_store::InfluxConfig {
            url: self.url.clone(),
            database: self.database.clone(),
            username: self.username.clone(),
            password: std::env::var("FOREWARN_INFLUXDB_PASSWORD").ok(),
            token: std::env::var("FOREWARN_INFLUXDB_TOKEN").ok(),
            ca_file: self.ca_file.clone(),
        }
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        let d = forewarn_store::StoreOptions::default();
        let days = |ms: Option<i64>| ms.map_or(0.0, |ms| ms as f64 / 86_400_000.0);
        Self {
            flush_points: d.flush_points,
            raw_retention_days: days(d.raw_retention_ms),
            minute_retention_days: days(d.minute_retention_ms),
            hour_retention_days: days(d.hour_retention_ms),
            engine: Engine::Embedded,
            influxdb: None,
            min_free_mb: 256,
        }
    }
}

/// `[catalog]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CatalogSection {
    /// A catalog file; the built-in catalog when absent.
    pub path: Option<PathBuf>,
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let cfg: Config = toml::from_str(text)?;
        let a = &cfg.analytics;
        anyhow::ensure!(
            a.warmup_hours > 0.0
                && a.smoothing_minutes > 0.0
                && a.sustain_hours >= 0.0
                && a.refit_days > 0.0,
            "analytics times must be positive"
        );
        anyhow::ensure!(
            cfg.maintenance.cooldown_hours >= 0.0 && cfg.maintenance.cooldown_hours.is_finite(),
            "maintenance.cooldown_hours must be 0 or more"
        );
        let sla = &cfg.sla;
        for (p, h) in [
            ("p1", sla.p1),
            ("p2", sla.p2),
            ("p3", sla.p3),
            ("p4", sla.p4),
        ] {
            anyhow::ensure!(
                h.response_hours > 0.0
                    && h.resolution_hours >= h.response_hours
                    && h.resolution_hours.is_finite(),
                "sla.{p}: need 0 < response_hours <= resolution_hours"
            );
        }
        anyhow::ensure!(
            sla.warn_at > 0.0 && sla.warn_at < 1.0,
            "sla.warn_at must be between 0 and 1"
        );
        anyhow::ensure!(
            sla.check_every_secs > 0,
            "sla.check_every_secs must be positive"
        );
        anyhow::ensure!(
            a.clear_threshold > 0.0 && a.clear_threshold <= a.threshold,
            "analytics: need 0 < clear_threshold <= threshold"
        );
        anyhow::ensure!(
            cfg.ingest.batch_max_messages > 0,
            "ingest.batch_max_messages must be positive"
        );
        cfg.mqtt.version()?;
        match (&cfg.store.engine, &cfg.store.influxdb) {
            (Engine::Influxdb, None) => {
                anyhow::bail!("store.engine = \"influxdb\" needs a [store.influxdb] section")
            }
            (Engine::Influxdb, Some(i)) if i.mirror => {
                anyhow::bail!("store.influxdb.mirror applies to the embedded engine only")
            }
            (_, Some(i)) => anyhow::ensure!(
                i.url.starts_with("http://") || i.url.starts_with("https://"),
                "store.influxdb.url must start with http:// or https://"
            ),
            _ => {}
        }
        Ok(cfg)
    }

    /// The catalog this configuration names, checked.
    pub fn catalog(&self) -> anyhow::Result<Catalog> {
        let text = match &self.catalog.path {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("reading catalog {}", p.display()))?,
            None => BUILTIN_CATALOG.to_string(),
        };
        let catalog = Catalog::from_toml(&text)?;
        for a in &self.assets {
            anyhow::ensure!(
                catalog.asset_type(&a.asset_type).is_some(),
                "asset {} has type {} which the catalog does not define",
                a.id,
                a.asset_type
            );
        }
        Ok(catalog)
    }

    /// Ingest settings for the instance on `data_dir`, with credentials from the environment
    /// and TLS from `[mqtt.tls]`.
    pub fn ingest(&self, data_dir: &std::path::Path) -> anyhow::Result<IngestConfig> {
        let m = &self.mqtt;
        let mut c = IngestConfig::new(m.host.clone(), m.port);
        c.client_id = m.client_id(data_dir);
        c.subscription_record = Some(data_dir.join("mqtt-subscription"));
        c.topic_prefix = m.topic_prefix.clone();
        c.subscription = m
            .subscription
            .clone()
            .unwrap_or_else(|| format!("{}/#", m.topic_prefix));
        c.keep_alive = Duration::from_secs(m.keep_alive_secs.max(5));
        c.protocol = m.version()?;
        c.credentials = match (
            std::env::var("FOREWARN_MQTT_USERNAME"),
            std::env::var("FOREWARN_MQTT_PASSWORD"),
        ) {
            (Ok(u), Ok(p)) => Some((u, p)),
            _ => None,
        };
        c.limits = Limits {
            topic_prefix: m.topic_prefix.clone(),
            max_payload_bytes: self.ingest.max_payload_bytes,
            max_future_ms: self.ingest.max_future_secs * 1000,
            max_assets: self.ingest.max_assets,
        };
        c.batch_max_messages = self.ingest.batch_max_messages;
        c.batch_max_delay = Duration::from_millis(self.ingest.batch_max_delay_ms);
        c.tls = match &m.tls {
            Some(t) => Some(forewarn_ingest::MqttTls {
                config: std::sync::Arc::new(crate::https::client_config(
                    &t.ca_file,
                    t.cert_file.as_deref().zip(t.key_file.as_deref()),
                )?),
                server_name: t.server_name.clone().unwrap_or_else(|| m.host.clone()),
            }),
            None => None,
        };
        Ok(c)
    }

    /// Store engine settings.
    pub fn store_options(&self) -> forewarn_store::StoreOptions {
        let ms = |days: f64| (days > 0.0).then_some((days * 86_400_000.0) as i64);
        forewarn_store::StoreOptions {
            flush_points: self.store.flush_points.max(1),
            raw_retention_ms: ms(self.store.raw_retention_days),
            minute_retention_ms: ms(self.store.minute_retention_days),
            hour_retention_ms: ms(self.store.hour_retention_days),
        }
    }

    /// How long a finished ticket keeps absorbing alerts for its asset and mode.
    pub fn cooldown(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.maintenance.cooldown_hours * 3600.0)
    }

    /// The service levels tickets are held to.
    pub fn sla_policy(&self) -> forewarn_maintenance::SlaPolicy {
        let s = &self.sla;
        let t = |h: SlaHours| forewarn_maintenance::SlaTimes {
            response: std::time::Duration::from_secs_f64(h.response_hours * 3600.0),
            resolution: std::time::Duration::from_secs_f64(h.resolution_hours * 3600.0),
        };
        forewarn_maintenance::SlaPolicy {
            times: [t(s.p1), t(s.p2), t(s.p3), t(s.p4)],
            pause_waiting_parts: s.pause_waiting_parts,
            warn_at: s.warn_at,
        }
    }

    /// Detector settings.
    pub fn baseline(&self) -> BaselineConfig {
        let a = &self.analytics;
        BaselineConfig {
            warmup_ms: (a.warmup_hours * 3.6e6) as i64,
            min_warmup_samples: BaselineConfig::default().min_warmup_samples,
            smoothing_ms: (a.smoothing_minutes * 6e4) as i64,
            threshold: a.threshold,
            clear_threshold: a.clear_threshold,
            sustain_ms: (a.sustain_hours * 3.6e6) as i64,
            refit_ms: (a.refit_days * 8.64e7) as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_is_complete() {
        let cfg = Config::parse(EXAMPLE_CONFIG).unwrap();
        assert_eq!(cfg.mqtt.port, 1883);
        assert_eq!(cfg.assets.len(), 1);
        cfg.catalog().unwrap();
        assert_eq!(
            cfg.ingest(std::path::Path::new(".")).unwrap().subscription,
            "forewarn/#"
        );
        assert_eq!(cfg.baseline(), BaselineConfig::default());
        assert_eq!(cfg.store_options(), forewarn_store::StoreOptions::default());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(Config::parse("[mqtt]\nhots = \"x\"").is_err());
        assert!(Config::parse("[analytics]\nthreshold = 1.0\nclear_threshold = 2.0").is_err());
        let cfg = Config::parse("[[assets]]\nid = \"a\"\nsite = \"s\"\nasset_type = \"turbine\"")
            .unwrap();
        assert!(cfg.catalog().is_err());
        assert!(
            Config::parse("[[assets]]\nid = \"a/b\"\nsite = \"s\"\nasset_type = \"x\"").is_err()
        );
        assert!(Config::parse("[store]\nengine = \"influxdb\"").is_err());
        assert!(Config::parse("[store]\nengine = \"cassandra\"").is_err());
        let influx = "[store]\nengine = \"influxdb\"\n[store.influxdb]\nurl = \"http://h:8086\"";
        assert!(Config::parse(influx).is_ok());
        assert!(Config::parse(&format!("{influx}\nmirror = true")).is_err());
        assert!(Config::parse("[store.influxdb]\nurl = \"h:8086\"").is_err());
    }

    #[test]
    fn the_default_client_id_is_stable_and_unique_per_data_directory() {
        let m = MqttSection::default();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let id = m.client_id(a.path());
        assert!(id.starts_with("fw-"), "{id}");
        assert_eq!(id, m.client_id(a.path()), "the same after a restart");
        assert_ne!(
            id,
            m.client_id(b.path()),
            "another instance, another session"
        );
        let set = MqttSection {
            client_id: Some("plant-a".into()),
            ..MqttSection::default()
        };
        assert_eq!(set.client_id(a.path()), "plant-a");
    }

    #[test]
    fn the_mqtt_version_is_3_or_5_with_a_lasting_session() {
        let v = |t: &str| {
            Config::parse(t).map(|c| c.ingest(std::path::Path::new(".")).unwrap().protocol)
        };
        assert_eq!(v("").unwrap(), forewarn_ingest::MqttVersion::V311);
        assert_eq!(
            v("[mqtt]\nprotocol = 5").unwrap(),
            forewarn_ingest::MqttVersion::V5 {
                session_expiry: Duration::from_secs(7 * 86_400)
            }
        );
        let e = v("[mqtt]\nprotocol = 5\nsession_expiry_hours = 0").unwrap_err();
        assert!(e.to_string().contains("every message queued"), "{e}");
        assert!(v("[mqtt]\nprotocol = 6").is_err());
    }
}
