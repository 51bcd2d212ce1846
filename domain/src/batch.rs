//! What flows from ingest to the store and on to analytics.

use crate::{Asset, Reading, Rejection};

/// Everything ingest decoded from a run of MQTT messages, in receipt order. The store makes the whole
/// batch durable before any of its messages is acknowledged, so `seq` (increasing, gap-free per
/// ingest session) is what the acknowledgement path keys on.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Position of this batch in the ingest session; acks are released in `seq` order.
    pub seq: u64,
    /// Valid readings.
    pub readings: Vec<Reading>,
    /// Assets registered (or re-registered) by birth messages.
    pub births: Vec<Asset>,
    /// Messages that were rejected; they are dead-lettered and still acknowledged.
    pub rejections: Vec<Rejection>,
    /// How many MQTT messages this batch covers (valid, births and rejected).
    pub messages: usize,
}
