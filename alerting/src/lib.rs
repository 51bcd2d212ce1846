//! Alerting: from findings to alerts that open tickets.
//!
//! [`classify`] maps a finding to the failure mode of the asset type whose whole catalog signature
//! it shows (each listed sensor deviating in the listed direction). The [`run`] stage turns matches
//! into [`Alert`]s, each carrying when its deviation began. It keeps no memory of what it raised:
//! whether an alert opens, joins or is ignored is decided where it holds across restarts,
//! repairs and instances — from the tickets in the maintenance database.
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
