//! One measured value.

use serde::{Deserialize, Serialize};

use crate::{AssetId, SensorName, TimestampMs};

/// One value of one sensor of one asset at one instant. `(asset, sensor, ts_ms)` identifies it:
/// storing the same key twice keeps one point (the last value written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The asset that measured it.
    pub asset: AssetId,
    /// The sensor, one of the asset type's sensors.
    pub sensor: SensorName,
    /// When it was measured (device time), ms since the epoch.
    pub ts_ms: TimestampMs,
    /// The value, always finite.
    pub value: f64,
}
