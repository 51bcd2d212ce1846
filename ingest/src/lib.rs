//! MQTT ingest: from broker messages to durable-before-ack batches.
//!
//! - [`decode`] is the pure heart: topic + payload + receive time + registry in, readings or a birth
//!   registration or a reasoned rejection out. Every kind of bad input is a [`RejectReason`].
//! - [`run`] is the thin async shell: it subscribes with a persistent session and manual acks,
//!   groups decoded messages into [`Batch`]es, hands them to the store and acknowledges each message
//!   only after the store reports its batch durable, in receipt order.
//! - [`broker`] starts the embedded broker (rumqttd) used by the zero-setup demo.
//!
//! [`RejectReason`]: forewarn_domain::RejectReason
//! [`Batch`]: forewarn_domain::Batch

pub mod broker;
mod config;
mod decode;
mod error;
#[cfg(test)]
mod fuzz_tests;
mod protocol;
mod registry;
mod reject_log;
mod session;
mod subscriber;
mod topic;

pub use config::{IngestConfig, MqttTls};
pub use decode::{Decoded, Limits, decode};
pub use error::IngestError;
pub use protocol::MqttVersion;
pub use registry::AssetRegistry;
pub use subscriber::run;
pub use topic::{TopicKind, birth_topic, parse_topic, telemetry_topic};
