//! The seeded fleet simulator that drives the demo, the tests and the benchmarks.
//!
//! - [`physics`]: how a centrifugal pump and an electric motor respond to load, ambient
//!   temperature and wear, with realistic noise.
//! - [`fleet`]: a seeded, deterministic fleet — which assets exist, which develop which fault, when
//!   it starts and when the asset fails — and its [`GroundTruth`]; and sensor faults (stuck,
//!   spiking, dropped-out or out-of-range sensors on healthy machines) with theirs.
//! - [`lifecycle`]: a fleet's whole life — faults arriving by a hazard, again after repairs —
//!   and [`crew`], a maintenance crew that works the service's tickets through its API in
//!   simulated time and repairs what it finds.
//! - [`publisher`]: publishes the fleet over MQTT (QoS 1, retained births first) on a simulated
//!   clock with a speed factor, counting exactly which readings the broker acknowledged.

pub mod crew;
pub mod duty;
pub mod fleet;
pub mod lifecycle;
pub mod physics;
pub mod publisher;

pub use crew::{Crew, CrewConfig};
pub use duty::Duty;
pub use fleet::{Fleet, FleetConfig, GroundTruth, SensorFaultKind, SensorFaultTruth};
pub use lifecycle::{Inspection, Lifecycle};
pub use physics::{AssetKind, FaultMode};
pub use publisher::{Downstream, PublishConfig, SimProgress, SimReport, publish};

/// Errors of the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The MQTT client failed.
    #[error("mqtt: {0}")]
    Client(#[from] rumqttc::ClientError),
    /// The broker connection failed and did not come back.
    #[error("broker connection: {0}")]
    Connection(String),
    /// The configuration cannot produce a fleet.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// The crew could not work with the service's API.
    #[error("crew: {0}")]
    Crew(String),
}
