//! Ingest settings.

use std::time::Duration;

/// How ingest connects and what it accepts.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Broker host name or address.
    pub host: String,
    /// Broker TCP port.
    pub port: u16,
    /// MQTT client id; with a persistent session the broker keeps unacknowledged messages under it.
    pub client_id: String,
    /// Username and password, if the broker wants them (from the environment, never the config file).
    pub credentials: Option<(String, String)>,
    /// Topic prefix before `{site}/{asset}/{kind}`.
    pub topic_prefix: String,
    /// Subscription filter; `{prefix}/#` by default. Instances split a fleet by filter.
    pub subscription: String,
    /// MQTT keep-alive interval.
    pub keep_alive: Duration,
    /// What decode accepts.
    pub limits: crate::Limits,
    /// TLS to the broker, when set.
    pub tls: Option<MqttTls>,
    /// MQTT 3.1.1 or 5.
    pub protocol: crate::MqttVersion,
    /// Where the filter the broker's session holds is recorded, so a changed `subscription`
    /// takes effect although the broker kept the session (the old filter is unsubscribed).
    pub subscription_record: Option<std::path::PathBuf>,
    /// A batch is closed at this many messages...
    pub batch_max_messages: usize,
    /// ... or this long after its first message, whichever comes first.
    pub batch_max_delay: Duration,
}

impl IngestConfig {
    /// Defaults for a broker at `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        let topic_prefix = "forewarn".to_string();
        Self {
            host: host.into(),
            port,
            client_id: "forewarn-ingest".into(),
            credentials: None,
            tls: None,
            protocol: crate::MqttVersion::V311,
            subscription_record: None,
            subscription: format!("{topic_prefix}/#"),
            topic_prefix,
            keep_alive: Duration::from_secs(30),
            limits: crate::Limits::default(),
            batch_max_messages: 2048,
            batch_max_delay: Duration::ZERO,
        }
    }
}

/// TLS to the broker: the client configuration (trusted CA, optional client certificate) and
/// the name the broker's certificate must carry.
#[derive(Debug, Clone)]
pub struct MqttTls {
    /// rustls client settings; the server's certificate is always verified.
    pub config: std::sync::Arc<rustls::ClientConfig>,
    /// The broker's name as its certificate states it (DNS name or IP address).
    pub server_name: String,
}
