//! The ticket board (by status, with SLA countdowns) and the ticket page (evidence, chart,
//! parts, assignee and why, audit trail, the planner's actions).

use askama::Template;

use super::Chrome;
use super::asset::DeviationView;

/// One card on the board.
#[derive(Debug, Clone)]
pub struct BoardCard {
    /// Ticket number.
    pub id: i64,
    /// Asset.
    pub asset_id: String,
    /// Failure mode, by its catalog name.
    pub failure_mode: String,
    /// Priority (`P1`…`P4`).
    pub priority: String,
    /// Red alert.
    pub red_alert: bool,
    /// Time to failure from the ticket's newest estimate, e.g. `fails in 36 h (20–60 h)`, or
    /// empty without one (for a finished ticket, when it was finished).
    pub ttf: String,
    /// SLA countdown, e.g. `response due in 3.5 h`, or empty.
    pub sla: String,
    /// `ok`, `warning`, `breached`.
    pub sla_state: String,
    /// Assignee, or who is proposed.
    pub assignee: String,
}

/// One column of the board.
#[derive(Debug, Clone)]
pub struct BoardColumn {
    /// Status name.
    pub status: &'static str,
    /// Status, translated.
    pub label: String,
    /// Its tickets, most urgent first.
    pub cards: Vec<BoardCard>,
}

/// The board.
#[derive(Debug, Clone, Template)]
#[template(path = "board.html")]
pub struct BoardPage {
    /// Frame.
    pub chrome: Chrome,
    /// Priority filter options and whether each is chosen.
    pub priorities: Vec<(String, bool)>,
    /// Text filter.
    pub q: String,
    /// Columns.
    pub columns: Vec<BoardColumn>,
}

/// A status change the caller may make.
#[derive(Debug, Clone)]
pub struct MoveButton {
    /// Target status.
    pub to: &'static str,
    /// Label, translated.
    pub label: String,
}

/// A technician to assign.
#[derive(Debug, Clone)]
pub struct CandidateOption {
    /// Technician id.
    pub id: String,
    /// Name and why (distance, wait, load).
    pub label: String,
    /// Preselected (the proposal).
    pub selected: bool,
}

/// One part line of a ticket.
#[derive(Debug, Clone)]
pub struct PartLine {
    /// Part number and description.
    pub part: String,
    /// Units the repair needs.
    pub needed: String,
    /// Warehouse.
    pub place: String,
    /// Units reserved.
    pub reserved: i64,
    /// Units issued to the technician.
    pub issued: i64,
    /// Units used.
    pub consumed: i64,
    /// Units requisitioned, not yet arrived.
    pub outstanding: i64,
}

/// One audit or note line.
#[derive(Debug, Clone)]
pub struct AuditLine {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What, translated.
    pub text: String,
    /// What a person (or the service) wrote with it, as written.
    pub said: String,
}

/// The ticket page.
#[derive(Debug, Clone, Template)]
#[template(path = "ticket.html")]
pub struct TicketPage {
    /// Frame.
    pub chrome: Chrome,
    /// The ticket, as the API returns it.
    pub t: TicketFacts,
    /// Status, translated.
    pub status_label: String,
    /// Site.
    pub site: String,
    /// SLA response clock: state, text.
    pub sla_response: (String, String),
    /// SLA resolution clock: state, text.
    pub sla_resolution: (String, String),
    /// Assignee or `–`.
    pub assignee: String,
    /// Why this assignee (dispatch reason).
    pub dispatch_reason: String,
    /// Resolution, translated, once resolved.
    pub resolution: String,
    /// Moves the caller may make.
    pub moves: Vec<MoveButton>,
    /// Whether the caller may act at all.
    pub can_act: bool,
    /// May resolve.
    pub can_resolve: bool,
    /// May assign.
    pub can_assign: bool,
    /// May add notes.
    pub can_note: bool,
    /// Other failure modes of the asset's type (resolution "other mode").
    pub other_modes: Vec<String>,
    /// Technicians to assign.
    pub candidates: Vec<CandidateOption>,
    /// The ranking: name, km, wait h, travel h, load, meets response.
    pub candidate_rows: Vec<(String, String, String, String, i64, String)>,
    /// One sentence of evidence.
    pub summary: String,
    /// The finding's sensors.
    pub deviations: Vec<DeviationView>,
    /// Charts of those sensors around the detection: sensor, SVG.
    pub charts: Vec<(String, String)>,
    /// Parts.
    pub parts: Vec<PartLine>,
    /// Audit trail and notes, oldest first.
    pub audit: Vec<AuditLine>,
}

/// The ticket fields the page shows as they are.
#[derive(Debug, Clone)]
pub struct TicketFacts {
    /// Number.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Status name.
    pub status: String,
    /// Priority.
    pub priority: String,
    /// Red alert.
    pub red_alert: bool,
    /// Asset.
    pub asset_id: String,
    /// Failure mode.
    pub failure_mode: String,
    /// Severity.
    pub severity: String,
    /// Detection time.
    pub detected_at: String,
    /// Alerts absorbed.
    pub alert_count: i64,
}
