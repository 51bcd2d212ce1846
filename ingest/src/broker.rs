//! The embedded MQTT broker (rumqttd) behind the zero-setup default.
//!
//! rumqttd keeps sessions in memory only and has no stop API: it serves demos and single-machine
//! trials, and lives until the process exits. Production fleets point Forewarn at Mosquitto, EMQX or
//! HiveMQ instead.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use crate::IngestError;

/// Starts the embedded broker on `addr` in a background thread and waits until it accepts connections.
pub fn start_embedded(addr: SocketAddr) -> Result<(), IngestError> {
    let connections = ConnectionSettings {
        connection_timeout_ms: 60_000,
        // Above the ingest payload limit, so oversized messages reach decode and are dead-lettered
        // instead of costing the publisher its connection.
        max_payload_size: 1024 * 1024,
        max_inflight_count: 1000,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = ServerSettings {
        name: "forewarn-embedded".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 1000,
            max_outgoing_packet_count: 1000,
            max_segment_size: 16 * 1024 * 1024,
            max_segment_count: 8,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .map_err(|e| IngestError::Broker(e.to_string()))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            return Err(IngestError::Broker(format!(
                "embedded broker did not listen on {addr} within 10 s"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
