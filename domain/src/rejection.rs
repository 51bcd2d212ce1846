//! Bad input, described.

use serde::{Deserialize, Serialize};

use crate::TimestampMs;

/// Why an incoming message was rejected. Each reason is a label of the `rejected` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The payload is not JSON, or not the expected object shape.
    MalformedJson,
    /// A field has the wrong type (e.g. a string where a number belongs).
    WrongType,
    /// A value is NaN or infinite (or a number JSON cannot represent as f64).
    NonFiniteValue,
    /// The topic does not have the expected shape or holds an invalid asset or site id.
    InvalidTopic,
    /// The asset has never been registered (no birth message, not in config).
    UnknownAsset,
    /// The asset names a type that the catalog does not define.
    UnknownAssetType,
    /// A metric names a sensor the asset type does not have.
    UnknownSensor,
    /// The timestamp is unparsable or out of the accepted range.
    BadTimestamp,
    /// The timestamp is further in the future than the configured tolerance.
    FutureTimestamp,
    /// The payload is larger than the configured limit.
    PayloadTooLarge,
    /// The message carries no metrics at all.
    Empty,
    /// A birth that would move a known asset to another site or type.
    AssetConflict,
    /// A birth of a new asset past `[ingest] max_assets`.
    TooManyAssets,
    /// Telemetry on a topic whose site is not the asset's.
    SiteMismatch,
}

impl RejectReason {
    /// Every reason, for metrics that must show zero counts too.
    pub const ALL: [RejectReason; 14] = [
        Self::MalformedJson,
        Self::WrongType,
        Self::NonFiniteValue,
        Self::InvalidTopic,
        Self::UnknownAsset,
        Self::UnknownAssetType,
        Self::UnknownSensor,
        Self::BadTimestamp,
        Self::FutureTimestamp,
        Self::PayloadTooLarge,
        Self::Empty,
        Self::AssetConflict,
        Self::TooManyAssets,
        Self::SiteMismatch,
    ];

    /// The snake_case name used in metrics and the dead-letter log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::WrongType => "wrong_type",
            Self::NonFiniteValue => "non_finite_value",
            Self::InvalidTopic => "invalid_topic",
            Self::UnknownAsset => "unknown_asset",
            Self::UnknownAssetType => "unknown_asset_type",
            Self::UnknownSensor => "unknown_sensor",
            Self::BadTimestamp => "bad_timestamp",
            Self::FutureTimestamp => "future_timestamp",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Empty => "empty",
            Self::AssetConflict => "asset_conflict",
            Self::TooManyAssets => "too_many_assets",
            Self::SiteMismatch => "site_mismatch",
        }
    }
}

/// A rejected message as written to the dead-letter log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// The MQTT topic it arrived on.
    pub topic: String,
    /// The reason class.
    pub reason: RejectReason,
    /// A human-readable explanation (which field, which value).
    pub detail: String,
    /// When Forewarn received it.
    pub received_at_ms: TimestampMs,
    /// The start of the payload, lossily decoded, so an operator can see what was sent.
    pub payload_excerpt: String,
}
