//! The shared vocabulary of Forewarn.
//!
//! Every library crate speaks in these types: validated identifiers ([`AssetId`], [`SensorName`], ...),
//! telemetry ([`Reading`], [`Batch`]), the equipment [`Catalog`] (asset types, their sensors, failure
//! modes and the spare parts each mode needs), what analytics concludes ([`Finding`]) and what
//! alerting asks of maintenance ([`Alert`]). There is no I/O and no clock here: time is always an
//! argument, in milliseconds since the Unix epoch.

mod access_event;
mod alert;
mod broker_status;
mod degraded;
mod loading;
pub use broker_status::{BrokerState, BrokerStatus};
pub use degraded::{Degradations, Degraded, Dependency};
pub use loading::{Loading, LoadingState};
mod asset;
mod batch;
pub mod catalog;
mod finding;
mod health;
mod ids;
pub mod metrics;
mod model;
mod reading;
mod rejection;
mod repair;

pub use access_event::AccessEvent;
pub use alert::{Alert, Classifier, Decision};
pub use asset::{Asset, Criticality};
pub use batch::Batch;
pub use catalog::{
    AssetType, Catalog, CatalogError, Direction, FailureLevels, FailureMode, ModeKind,
    PartRequirement, SensorSpec,
};
pub use finding::{
    AbruptChange, ChangeKind, Finding, HealthIndex, InstrumentFault, JointEvidence, LevelsVersion,
    SensorDeviation, SensorFault, Severity, TimeToFailure,
};
pub use health::{
    AssetHealth, OperatingPoint, OperatingState, SensorHealth, SensorState, health_index,
};
pub use ids::{AssetId, AssetTypeId, FailureModeId, IdError, SensorName, SiteId};
pub use metrics::Metrics;
pub use model::FittedModel;
pub use reading::Reading;
pub use rejection::{RejectReason, Rejection};
pub use repair::{Repair, RepairFeed};

/// Milliseconds since the Unix epoch, UTC: the one time representation inside Forewarn.
pub type TimestampMs = i64;
