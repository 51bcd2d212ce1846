//! Maintenance: tickets, on SQL.
//!
//! Every version of every asset's fitted joint model is kept beside them (`models.rs`).
//!
//! Tickets live in SQLite (a file in the data directory) through sqlx, with migrations embedded in
//! the binary. Each alert opens at most one ticket: the database enforces one open ticket per
//! (asset, failure mode) with a partial unique index, so duplicates are impossible across restarts,
//! concurrent writers and instances. A new ticket copies the parts its failure mode needs.

mod db;
pub mod dispatch;
mod episode;
pub mod failure;
pub mod findings;
pub use episode::all_clear_sensors;
pub use findings::{FindingFilter, FindingRecord};
mod geo;
pub mod import;
pub use geo::LatLon;
mod kpis;
pub mod lifecycle;
mod models;
pub mod notes;
#[cfg(test)]
mod outage_tests;
pub use notes::{NoteError, NoteKind, TicketNote};
mod outbox;
pub mod parts;
pub mod pending;
pub mod pgserver;
pub use outbox::OutboxEvent;
pub mod priority;
#[cfg(test)]
mod race_tests;
mod rating;
pub mod sla;
pub use sla::sweep::{Clock, SlaEvent, run as run_sla};
pub use sla::{SlaPolicy, SlaStatus, SlaTimes};
pub mod sessions;
mod stage;
#[cfg(test)]
pub(crate) mod testdb;
mod ticket;
#[cfg(test)]
mod tls_tests;
mod tokens;
mod transition;
pub mod webhooks;

pub use db::{
    AssetContext, Backend, DATABASE_URL_VAR, DEFAULT_COOLDOWN, Maintenance, MaintenanceError,
    Opened, TicketFilter,
};
pub use kpis::{Kpis, TypeKpis};
pub use lifecycle::{Resolution, Role};
pub use priority::Priority;
pub use rating::{Rating, RatingError};
pub use stage::{AssetOf, open, run};
pub use ticket::{
    Estimate, Ticket, TicketEvent, TicketKind, TicketLinks, TicketPart, TicketStatus,
};
pub use tokens::{Caller, TokenInfo};
pub use transition::{Move, MoveError};
