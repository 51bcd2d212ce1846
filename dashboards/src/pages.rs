//! The pages' view models: plain data the API fills, one template each. The frame every page
//! shares (navigation, sign-in state, language, live refresh) is [`Chrome`].

mod asset;
mod findings;
mod fleet;
mod inventory;
mod people;
mod tickets;

pub use asset::{AssetPage, ChartView, DeviationView, FindingView, RangeLink, SensorNow};
pub use findings::{FindingRow, FindingsPage};
pub use fleet::{
    FleetPage, FleetRow, HealthInputs, HealthState, KpiTile, ShortPart, StateCounts, by_urgency,
};
pub use inventory::{
    InventoryPage, LowRow, RequisitionRow, ReservationRow, StockRow, WarehouseStock,
};
pub use people::{ErrorPage, Job, SignInPage, TechnicianPage, TechnicianRow, TechniciansPage};
pub use tickets::{
    AuditLine, BoardCard, BoardColumn, BoardPage, CandidateOption, MoveButton, PartLine,
    TicketFacts, TicketPage,
};

use crate::Tr;

/// Who is signed in.
#[derive(Debug, Clone)]
pub struct User {
    /// The token's name.
    pub name: String,
    /// Its role (`viewer`, `technician`, `planner`, `admin`).
    pub role: String,
}

/// A message shown once, after an action.
#[derive(Debug, Clone)]
pub struct Flash {
    /// Success (else an error).
    pub ok: bool,
    /// The message, translated.
    pub text: String,
}

/// What every page shares.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Labels.
    pub tr: Tr,
    /// Who is signed in.
    pub user: Option<User>,
    /// Which navigation entry is current (`fleet`, `tickets`, `inventory`, `technicians`).
    pub active: &'static str,
    /// The page title.
    pub title: String,
    /// Refresh on ticket events (server-sent) and every `refresh_seconds`.
    pub live: bool,
    /// Seconds between refreshes when live (0: events only).
    pub refresh_seconds: u32,
    /// This page's path and query, percent-encoded: where the language switch comes back to.
    pub back: String,
    /// A message after an action.
    pub flash: Option<Flash>,
    /// Fingerprint of the static files (cache busting).
    pub version: &'static str,
}

impl Chrome {
    /// A page's frame; `path` is the page's own path and query.
    pub fn new(tr: Tr, user: Option<User>, active: &'static str, title: &str, path: &str) -> Self {
        Chrome {
            tr,
            user,
            active,
            title: title.to_owned(),
            live: false,
            refresh_seconds: 0,
            back: encode(path),
            flash: None,
            version: crate::statics::version(),
        }
    }

    /// The same, refreshed live.
    pub fn live(mut self, refresh_seconds: u32) -> Self {
        self.live = true;
        self.refresh_seconds = refresh_seconds;
        self
    }
}

/// What percent-encoding leaves alone in a URL component: RFC 3986's unreserved characters.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `s` for a path segment or query value.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}
