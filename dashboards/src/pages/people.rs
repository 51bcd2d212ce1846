//! A technician's jobs (a phone-sized page), the technicians, sign-in, and the error page.

use askama::Template;

use super::Chrome;

/// One job on a technician's page.
#[derive(Debug, Clone)]
pub struct Job {
    /// Ticket number.
    pub id: i64,
    /// Asset.
    pub asset_id: String,
    /// Site.
    pub site: String,
    /// Failure mode.
    pub failure_mode: String,
    /// Priority.
    pub priority: String,
    /// Status name.
    pub status: String,
    /// Status, translated.
    pub status_label: String,
    /// SLA countdown.
    pub sla: String,
    /// `ok`, `warning`, `breached`.
    pub sla_state: String,
    /// Accepted by the technician.
    pub accepted: bool,
    /// Parts and their state, one line each.
    pub parts: Vec<String>,
    /// May accept now.
    pub can_accept: bool,
    /// May start now.
    pub can_start: bool,
    /// May resolve now.
    pub can_resolve: bool,
    /// Parts that can be consumed: number, label.
    pub consumable: Vec<(String, String)>,
    /// Other failure modes (resolution "other mode").
    pub other_modes: Vec<String>,
}

/// A technician's jobs.
#[derive(Debug, Clone, Template)]
#[template(path = "technician.html")]
pub struct TechnicianPage {
    /// Frame.
    pub chrome: Chrome,
    /// Technician's name.
    pub name: String,
    /// Shift, e.g. `07:00–15:00 UTC+01:00, Mon–Fri`.
    pub shift: String,
    /// Open jobs, most urgent first.
    pub jobs: Vec<Job>,
    /// Whether the caller may act on these jobs.
    pub can_act: bool,
    /// This page's path (forms come back here).
    pub back_path: String,
}

/// One technician in the list.
#[derive(Debug, Clone)]
pub struct TechnicianRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Home site.
    pub site: String,
    /// Skills.
    pub skills: String,
    /// Shift.
    pub shift: String,
    /// Open jobs.
    pub load: i64,
}

/// The technicians.
#[derive(Debug, Clone, Template)]
#[template(path = "technicians.html")]
pub struct TechniciansPage {
    /// Frame.
    pub chrome: Chrome,
    /// Rows.
    pub rows: Vec<TechnicianRow>,
}

/// Sign-in.
#[derive(Debug, Clone, Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    /// Frame.
    pub chrome: Chrome,
    /// Where to go after signing in.
    pub next: String,
    /// Why the last attempt failed, translated (empty: none).
    pub error: String,
}

/// An error, in words a planner can act on.
#[derive(Debug, Clone, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Frame.
    pub chrome: Chrome,
    /// Heading.
    pub heading: String,
    /// What went wrong.
    pub message: String,
    /// Where to go back to.
    pub back: String,
}
