//! Dispatch: which technician should take a ticket, and why.
//!
//! Candidates are the active technicians whose skills cover the repair. Each gets an estimated
//! time to reach the asset — hours until their next shift plus the drive from their home base at
//! [`DRIVE_KMH`] (unknown distances count [`UNKNOWN_TRAVEL_H`]) — and a load: the open tickets
//! already assigned to them, each worth [`HOURS_PER_JOB`] of waiting. Those who can start before
//! the ticket's response is due come first; among them, the smallest arrival + load wins (ties:
//! technician id). The choice, the runners-up and the numbers are stored with the ticket, so a
//! planner sees why, and can override.

pub(crate) mod assign;
pub(crate) mod technicians;

use serde::{Deserialize, Serialize};

pub use assign::AssignError;
pub use technicians::Technician;

use crate::geo::{LatLon, distance_km};

/// Assumed average road speed.
pub const DRIVE_KMH: f64 = 60.0;
/// Travel assumed when a distance is unknown.
pub const UNKNOWN_TRAVEL_H: f64 = 2.0;
/// Waiting per job already on a technician's list.
pub const HOURS_PER_JOB: f64 = 4.0;

/// One technician weighed for a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Candidate {
    /// The technician.
    pub technician_id: String,
    /// Their name.
    pub name: String,
    /// Home base to the asset's site, km (`None`: unknown).
    pub distance_km: Option<f64>,
    /// Hours until their next shift (0: on shift).
    pub wait_h: f64,
    /// Hours of driving.
    pub travel_h: f64,
    /// Open tickets assigned to them.
    pub load: i64,
    /// Whether they can start before the response is due.
    pub meets_response: bool,
    /// Arrival + load, hours: lower is better.
    pub score: f64,
}

/// A ticket's assignment and its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dispatch {
    /// `proposed` (waiting for a planner), `auto` (the ranking's best: a red alert assigned by the
    /// service, or a planner's "assign the best" or naming it), or `override` (a planner's own
    /// choice of someone else).
    pub kind: String,
    /// The technician (`None`: nobody could be proposed).
    pub technician_id: Option<String>,
    /// Who decided: `forewarn` or a token's name.
    pub by: String,
    /// When (wall clock, RFC 3339).
    pub at: String,
    /// Why, in a sentence.
    pub reason: String,
    /// The best candidates, best first (at most five).
    pub candidates: Vec<Candidate>,
    /// Active technicians left out for lack of skills.
    pub lacking_skills: usize,
}

/// What the ranking needs to know of a ticket.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    /// The failure mode.
    pub failure_mode: &'a str,
    /// The skills the repair needs.
    pub skills: &'a [String],
    /// The asset's site.
    pub site: Option<&'a str>,
    /// Where that site is.
    pub at: Option<LatLon>,
    /// When the response is due, ms since the epoch.
    pub response_due_ms: i64,
}

/// Ranks `technicians` (each with their load) for `job` at `now_ms`, best first; returns the
/// ranking and how many active technicians lacked the skills.
pub fn rank(
    job: &Job<'_>,
    technicians: &[(Technician, i64)],
    now_ms: i64,
) -> (Vec<Candidate>, usize) {
    let mut lacking = 0;
    let mut out: Vec<Candidate> = technicians
        .iter()
        .filter(|(t, _)| t.active)
        .filter(|(t, _)| {
            let ok = t.covers(job.skills, job.failure_mode);
            lacking += usize::from(!ok);
            ok
        })
        .filter_map(|(t, load)| {
            let wait_h = t.hours_until_on_shift(now_ms)?;
            let home = LatLon::from_pair(t.lat, t.lon);
            let distance = distance_km(job.site, job.at, t.site.as_deref(), home);
            let travel_h = distance.map_or(UNKNOWN_TRAVEL_H, |d| d / DRIVE_KMH);
            let queue_h = *load as f64 * HOURS_PER_JOB;
            let start_ms = now_ms + ((wait_h + travel_h + queue_h) * 3_600_000.0) as i64;
            Some(Candidate {
                technician_id: t.id.clone(),
                name: t.name.clone(),
                distance_km: distance.map(|d| (d * 10.0).round() / 10.0),
                wait_h: (wait_h * 100.0).round() / 100.0,
                travel_h: (travel_h * 100.0).round() / 100.0,
                load: *load,
                meets_response: start_ms <= job.response_due_ms,
                score: ((wait_h + travel_h + queue_h) * 100.0).round() / 100.0,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.meets_response
            .cmp(&a.meets_response)
            .then(a.score.total_cmp(&b.score))
            .then(a.technician_id.cmp(&b.technician_id))
    });
    (out, lacking)
}

/// The sentence saying why `best` was chosen.
pub fn reason(best: Option<&Candidate>, lacking: usize) -> String {
    match best {
        None if lacking > 0 => {
            format!("no active technician has the skills ({lacking} lack them)")
        }
        None => "no active technician with working hours".into(),
        Some(c) => format!(
            "{} ({}): {} away, {}, {} open job(s); can start in {:.1} h{}",
            c.technician_id,
            c.name,
            c.distance_km
                .map_or("distance unknown".to_owned(), |d| format!("{d:.0} km")),
            if c.wait_h == 0.0 {
                "on shift".to_owned()
            } else {
                format!("on shift in {:.1} h", c.wait_h)
            },
            c.load,
            c.score,
            if c.meets_response {
                ", within the response time"
            } else {
                "; nobody can start within the response time"
            }
        ),
    }
}

#[cfg(test)]
#[path = "dispatch/tests.rs"]
pub(crate) mod tests;
