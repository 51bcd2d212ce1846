//! The broker connection as the service's readiness reports it: whether ingest is connected and
//! subscribed, to which broker, and the last reason it could not be.

use std::sync::Mutex;

use serde::Serialize;

/// What readiness says about the broker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BrokerState {
    /// `host:port` of the broker.
    pub address: String,
    /// Connected and subscribed: messages flow.
    pub connected: bool,
    /// Why not, when it is not (the last connection error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last established connection that was lost, and why (kept after reconnecting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_lost: Option<String>,
}

/// Shared between ingest, which sets it, and the API, which reports it.
#[derive(Debug, Default)]
pub struct BrokerStatus(Mutex<BrokerState>);

impl BrokerStatus {
    /// Ingest is about to connect to `address` (not connected yet).
    pub fn connecting(&self, address: &str) {
        self.set(|s| {
            s.address = address.to_owned();
            s.connected = false;
            if s.error.is_none() {
                s.error = Some("connecting".into());
            }
        });
    }

    /// Connected and subscribed.
    pub fn up(&self) {
        self.set(|s| {
            s.connected = true;
            s.error = None;
        });
    }

    /// Not connected, because of `error`.
    pub fn down(&self, error: &str) {
        self.set(|s| {
            s.connected = false;
            s.error = Some(error.to_owned());
        });
    }

    /// An established connection was lost, because of `error`.
    pub fn lost(&self, error: &str) {
        self.set(|s| {
            s.connected = false;
            s.error = Some(error.to_owned());
            s.last_lost = Some(error.to_owned());
        });
    }

    /// The state now.
    pub fn get(&self) -> BrokerState {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn set(&self, f: impl FnOnce(&mut BrokerState)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }
}
