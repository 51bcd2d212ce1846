//! Alerting: from findings to alerts that open tickets.
//!
//! [`classify`] maps a finding to the failure mode of the asset type whose whole catalog signature
//! it shows (each listed sensor deviating in the listed direction). The [`run`] stage turns matches
//! into [`Alert`]s and suppresses repeats: an (asset, failure mode) is re-alerted only when its
//! severity rises. Duplicate tickets are prevented where it holds across restarts and instances —
//! by the maintenance database's unique open ticket per (asset, failure mode) — so this stage only
//! keeps the traffic down.
//!
//! [`Alert`]: forewarn_domain::Alert

mod classify;
pub mod learned;
mod stage;

pub use classify::classify;
pub use stage::run;

/// Errors of the alerting stage.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// The next stage went away.
    #[error("pipeline closed")]
    PipelineClosed,
}
