//! The ticket lifecycle as rules, without a database: which status may follow which, who may
//! make the move, and what a resolution must say.
//!
//! ```text
//! new ──► assigned ──► in_progress ──► resolved ──► closed
//!  ▲  ◄──┘   │            │  ▲           │            │
//!  │         │            ▼  │           ▼            ▼
//!  │         │       waiting_parts    reopened ◄──────┘ (also from cancelled)
//!  │         ▼                           │
//!  └──── cancelled ◄── (any open status) ┘ (reopened behaves like new)
//! ```

use serde::{Deserialize, Serialize};

use crate::TicketStatus;

/// What an API caller may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads only.
    Viewer,
    /// Works the jobs assigned: start, wait for parts, resolve.
    Technician,
    /// Plans: assigns, cancels, closes, reopens — every transition.
    Planner,
    /// Everything, including administration.
    Admin,
}

impl Role {
    /// Every role, least to most privileged.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Technician, Role::Planner, Role::Admin];

    /// The name used in tokens, JSON and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Technician => "technician",
            Role::Planner => "planner",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How a resolved ticket turned out: the label the mode classifier learns from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Resolution {
    /// The predicted failure mode was found and fixed.
    Confirmed,
    /// Another failure mode was found.
    OtherMode {
        /// The mode found.
        failure_mode: String,
    },
    /// Nothing was wrong: a false alarm.
    NoFaultFound,
}

impl Resolution {
    /// The code stored in SQL.
    pub fn code(&self) -> &'static str {
        match self {
            Resolution::Confirmed => "confirmed",
            Resolution::OtherMode { .. } => "other_mode",
            Resolution::NoFaultFound => "no_fault_found",
        }
    }

    /// The mode the ticket really was, given the one it predicted (`None`: no fault).
    pub fn actual_mode<'a>(&'a self, predicted: &'a str) -> Option<&'a str> {
        match self {
            Resolution::Confirmed => Some(predicted),
            Resolution::OtherMode { failure_mode } => Some(failure_mode),
            Resolution::NoFaultFound => None,
        }
    }
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The lifecycle has no such step.
    #[error("a ticket cannot go from {from} to {to}", from = .0.as_str(), to = .1.as_str())]
    NotAllowed(TicketStatus, TicketStatus),
    /// The caller's role may not make it.
    #[error("a {role} may not move a ticket from {from} to {to}", role = .0.as_str(), from = .1.as_str(), to = .2.as_str())]
    Forbidden(Role, TicketStatus, TicketStatus),
    /// Resolving needs a resolution; nothing else takes one.
    #[error("{0}")]
    Resolution(&'static str),
    /// A technician acts only on the tickets assigned to them.
    #[error("a technician acts only on tickets assigned to them; ticket {id} is assigned to {}", .assignee.as_deref().unwrap_or("nobody"))]
    NotYours {
        /// The ticket.
        id: i64,
        /// Whom it is assigned to.
        assignee: Option<String>,
    },
}

/// Whether `actor` with `role` may act on ticket `id` assigned to `assignee`: planners and
/// admins on all, a technician (whose token is named by their technician id) only on their own.
pub fn check_owner(
    role: Role,
    actor: &str,
    id: i64,
    assignee: Option<&str>,
) -> Result<(), Refusal> {
    if role == Role::Technician && assignee != Some(actor) {
        return Err(Refusal::NotYours {
            id,
            assignee: assignee.map(str::to_owned),
        });
    }
    Ok(())
}

/// Whether the lifecycle has a step from `from` to `to`.
pub fn allowed(from: TicketStatus, to: TicketStatus) -> bool {
    use TicketStatus::*;
    matches!(
        (from, to),
        (New | Reopened, Assigned)
            | (Assigned, New | InProgress)
            | (InProgress, WaitingParts | Resolved)
            | (WaitingParts, InProgress)
            | (Resolved, Closed | Reopened)
            | (Closed | Cancelled, Reopened)
    ) || (from.is_open() && to == Cancelled)
}

/// Whether `role` may make the step: technicians do the work (start, wait for parts, resolve);
/// planners and admins make every step; viewers none.
pub fn permitted(role: Role, from: TicketStatus, to: TicketStatus) -> bool {
    use TicketStatus::*;
    match role {
        Role::Viewer => false,
        Role::Technician => matches!(
            (from, to),
            (Assigned, InProgress)
                | (InProgress, WaitingParts | Resolved)
                | (WaitingParts, InProgress)
        ),
        Role::Planner | Role::Admin => true,
    }
}

/// Checks a requested step.
pub fn check(
    role: Role,
    from: TicketStatus,
    to: TicketStatus,
    resolution: Option<&Resolution>,
) -> Result<(), Refusal> {
    if !allowed(from, to) {
        return Err(Refusal::NotAllowed(from, to));
    }
    if !permitted(role, from, to) {
        return Err(Refusal::Forbidden(role, from, to));
    }
    match (to, resolution) {
        (TicketStatus::Resolved, None) => Err(Refusal::Resolution(
            "resolving needs a resolution: confirmed, other_mode (with failure_mode) or no_fault_found",
        )),
        (TicketStatus::Resolved, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(Refusal::Resolution(
            "only a move to resolved takes a resolution",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketStatus::*;

    const ALL: [TicketStatus; 8] = TicketStatus::ALL;

    #[test]
    fn the_happy_path_and_its_detours_are_allowed() {
        let path = [
            New,
            Assigned,
            InProgress,
            WaitingParts,
            InProgress,
            Resolved,
            Closed,
            Reopened,
            Assigned,
        ];
        for w in path.windows(2) {
            assert!(allowed(w[0], w[1]), "{:?} -> {:?}", w[0], w[1]);
        }
        for s in ALL.into_iter().filter(|s| s.is_open()) {
            assert!(allowed(s, Cancelled), "{s:?} -> cancelled");
        }
        for s in ALL {
            assert!(!allowed(s, s), "{s:?} -> itself");
            assert!(!allowed(s, New) || s == Assigned, "{s:?} -> new");
        }
        assert!(!allowed(New, Resolved));
        assert!(!allowed(Closed, InProgress));
        assert!(!allowed(Cancelled, Closed));
    }

    #[test]
    fn roles_and_resolutions() {
        assert_eq!(
            check(Role::Technician, New, Assigned, None),
            Err(Refusal::Forbidden(Role::Technician, New, Assigned))
        );
        assert!(check(Role::Technician, Assigned, InProgress, None).is_ok());
        assert!(matches!(
            check(Role::Technician, InProgress, Resolved, None),
            Err(Refusal::Resolution(_))
        ));
        assert!(
            check(
                Role::Technician,
                InProgress,
                Resolved,
                Some(&Resolution::Confirmed)
            )
            .is_ok()
        );
        assert!(matches!(
            check(Role::Planner, New, Assigned, Some(&Resolution::Confirmed)),
            Err(Refusal::Resolution(_))
        ));
        assert!(check(Role::Viewer, New, Assigned, None).is_err());
        for from in ALL {
            for to in ALL {
                if allowed(from, to) {
                    assert!(permitted(Role::Planner, from, to));
                    assert!(permitted(Role::Admin, from, to));
                }
            }
        }
        let other = Resolution::OtherMode {
            failure_mode: "seal_leak".into(),
        };
        assert_eq!(other.actual_mode("bearing_wear"), Some("seal_leak"));
        assert_eq!(Resolution::NoFaultFound.actual_mode("bearing_wear"), None);
        let json = serde_json::to_string(&other).unwrap();
        assert_eq!(json, r#"{"code":"other_mode","failure_mode":"seal_leak"}"#);
        assert_eq!(Role::parse("planner"), Some(Role::Planner));
    }
}
