//! Errors of the ingest stage.

/// What can stop ingest. Bad messages are never errors: they are rejections.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The broker refused the connection (bad credentials, bad client id), and why.
    #[error("the broker refused the connection: {0}")]
    Refused(String),
    /// The broker refused the subscription (an ACL, a filter it does not accept): nothing would
    /// ever arrive, so ingest stops instead of reporting itself subscribed.
    #[error("the broker refused the subscription to {filter:?}: {reason}")]
    SubscriptionRefused {
        /// The subscription filter.
        filter: String,
        /// The broker's reason code, in words.
        reason: String,
    },
    /// The store or the acknowledgement path went away while batches were pending.
    #[error("pipeline closed while {0} batches were pending")]
    PipelineClosed(usize),
    /// The embedded broker could not start.
    #[error("embedded broker: {0}")]
    Broker(String),
    /// The TLS settings cannot work (retrying cannot help).
    #[error("MQTT TLS: {0}")]
    Tls(String),
}
