//! A maintenance crew that works a running service's tickets through its HTTP API, in simulated
//! time, and repairs what it finds on the simulated fleet.
//!
//! Every `look_every_ms` of simulated time the crew first waits until the service has analysed
//! everything published so far and decided on every finding (`GET /api/v1/pipeline`), so what
//! it sees never depends on the machine's speed. Then, for each open ticket: assign it to
//! itself, start work `respond_ms` after first seeing it, resolve it `repair_ms` later (an hour
//! for a sensor) with what the ground truth says it finds — `confirmed`, `other_mode` with the
//! true mode, or `no_fault_found` — and the repair's moment as `repaired_at`. A resolution that
//! found a fault repairs the simulated asset. A machine that failed with no ticket open gets a
//! corrective ticket opened by hand.

mod api;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Fleet, SimError};
use api::{Api, TicketLite};

/// The catalog's failure mode for instrumentation faults.
const INSTRUMENTATION: &str = "sensor_fault";
/// How long the crew waits for a service that does not answer or make progress.
const PATIENCE: Duration = Duration::from_secs(1800);

/// How the crew works.
#[derive(Debug, Clone)]
pub struct CrewConfig {
    /// The service's base URL (`http://host:port`).
    pub url: String,
    /// A planner's or admin's API token.
    pub token: String,
    /// How often, in simulated time, the crew looks at the tickets (ms).
    pub look_every_ms: i64,
    /// From first seeing a ticket to starting work (ms).
    pub respond_ms: i64,
    /// A machine repair's duration (ms).
    pub repair_ms: i64,
    /// A sensor repair's duration (ms).
    pub instrument_ms: i64,
    /// The technician id the crew works as.
    pub technician: String,
}

impl CrewConfig {
    /// A crew that looks every hour, starts within two and repairs a machine in four.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            token: token.into(),
            look_every_ms: 3_600_000,
            respond_ms: 2 * 3_600_000,
            repair_ms: 4 * 3_600_000,
            instrument_ms: 3_600_000,
            technician: "sim-crew".into(),
        }
    }
}

/// What the crew did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CrewStats {
    /// Times it looked at the tickets.
    pub looks: u64,
    /// Tickets it resolved, by resolution code.
    pub resolved: BTreeMap<String, u64>,
    /// Corrective tickets it opened for failed machines.
    pub corrective_opened: u64,
}

/// One ticket's work plan, in simulated time.
#[derive(Debug, Clone)]
struct Plan {
    start_at: i64,
    resolve_at: i64,
    /// What the repair found and fixed, once decided (kept so a resolution whose answer was
    /// lost is sent again as it was).
    decided: Option<(Value, &'static str)>,
}

/// The crew.
#[derive(Debug)]
pub struct Crew {
    cfg: CrewConfig,
    api: Api,
    plans: HashMap<i64, Plan>,
    reported: HashSet<(String, i64)>,
    stats: CrewStats,
    next_look: Option<i64>,
}

impl Crew {
    /// A crew for the service at `cfg.url`.
    pub fn new(cfg: CrewConfig) -> Result<Self, SimError> {
        let api = Api::new(&cfg.url, &cfg.token)?;
        Ok(Self {
            cfg,
            api,
            plans: HashMap::new(),
            reported: HashSet::new(),
            stats: CrewStats::default(),
            next_look: None,
        })
    }

    /// What it did so far.
    pub fn stats(&self) -> &CrewStats {
        &self.stats
    }

    /// Whether a look is due at simulated time `t_ms`.
    pub fn due(&self, t_ms: i64) -> bool {
        self.next_look.is_none_or(|n| t_ms >= n)
    }

    /// Waits until the service has analysed every asset up to the time it last published
    /// (`sent`: asset → newest reading published) and decided on every finding.
    pub async fn sync(&self, sent: &HashMap<String, i64>) -> Result<(), SimError> {
        let mut last_progress = Instant::now();
        let mut best = None;
        loop {
            match self.api.progress().await {
                Ok(p) => {
                    let behind = sent
                        .iter()
                        .filter(|(a, t)| p.analysed_through_ms.get(*a).is_none_or(|x| x < *t))
                        .count();
                    if behind == 0 && p.findings_pending == 0 {
                        return Ok(());
                    }
                    let mark = (
                        behind,
                        p.findings_pending,
                        p.analysed_through_ms.values().sum::<i64>(),
                    );
                    if best != Some(mark) {
                        best = Some(mark);
                        last_progress = Instant::now();
                    }
                }
                Err(e) => tracing::debug!(error = %e, "crew waiting for the service"),
            }
            if last_progress.elapsed() > PATIENCE {
                return Err(SimError::Crew(format!(
                    "the service made no progress for {} s",
                    PATIENCE.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Looks at the tickets at simulated time `now` and does what is due; retries (waiting
    /// for a service that restarts) until the look went through.
    pub async fn look(&mut self, fleet: &mut Fleet, now: i64) -> Result<(), SimError> {
        let started = Instant::now();
        loop {
            let tried = match self.stats.looks {
                0 => match self.api.ensure_technician(&self.cfg.technician).await {
                    Ok(()) => self.try_look(fleet, now).await,
                    Err(e) => Err(e),
                },
                _ => self.try_look(fleet, now).await,
            };
            match tried {
                Ok(()) => break,
                Err(e) if started.elapsed() < PATIENCE => {
                    tracing::debug!(error = %e, "crew look failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
        self.stats.looks += 1;
        self.next_look = Some(now + self.cfg.look_every_ms);
        Ok(())
    }

    async fn try_look(&mut self, fleet: &mut Fleet, now: i64) -> Result<(), SimError> {
        let mut open = self.api.open_tickets().await?;
        if self.report_failures(fleet, &open, now).await? {
            // The corrective tickets just opened are worked in this look too.
            open = self.api.open_tickets().await?;
        }
        let ids: HashSet<i64> = open.iter().map(|t| t.id).collect();
        // A plan whose resolution was decided but whose ticket is no longer open went through.
        self.plans.retain(|id, _| ids.contains(id));
        for t in open {
            self.work(fleet, t, now).await?;
        }
        Ok(())
    }

    /// Opens a corrective ticket for each machine that failed with no ticket open for it;
    /// whether it opened any.
    async fn report_failures(
        &mut self,
        fleet: &Fleet,
        open: &[TicketLite],
        now: i64,
    ) -> Result<bool, SimError> {
        let mut reported = false;
        for a in &fleet.assets {
            let Some((mode, failed_at)) = a.failed(now) else {
                continue;
            };
            let key = (a.id.clone(), failed_at);
            if self.reported.contains(&key) || open.iter().any(|t| t.asset_id == a.id) {
                continue;
            }
            self.api.report_failure(&a.id, mode, failed_at).await?;
            self.reported.insert(key);
            self.stats.corrective_opened += 1;
            reported = true;
        }
        Ok(reported)
    }

    /// Moves one open ticket on as far as is due at `now`.
    async fn work(
        &mut self,
        fleet: &mut Fleet,
        mut t: TicketLite,
        now: i64,
    ) -> Result<(), SimError> {
        let duration = if t.failure_mode == INSTRUMENTATION {
            self.cfg.instrument_ms
        } else {
            self.cfg.repair_ms
        };
        let plan = self.plans.entry(t.id).or_insert(Plan {
            start_at: now + self.cfg.respond_ms,
            resolve_at: now + self.cfg.respond_ms + duration,
            decided: None,
        });
        let (start_at, resolve_at) = (plan.start_at, plan.resolve_at);
        for _ in 0..4 {
            t = match t.status.as_str() {
                "new" | "reopened" => self.api.assign(t.id, &self.cfg.technician).await?,
                "assigned" if now >= start_at => {
                    self.api.transition(t.id, "in_progress", None, None).await?
                }
                // The crew goes on without parts it is still waiting for.
                "waiting_parts" => self.api.transition(t.id, "in_progress", None, None).await?,
                "in_progress" if now >= resolve_at => {
                    self.resolve(fleet, &t, now).await?;
                    return Ok(());
                }
                _ => return Ok(()),
            };
        }
        Ok(())
    }

    /// Resolves a ticket with what the asset really has, and repairs it.
    async fn resolve(
        &mut self,
        fleet: &mut Fleet,
        t: &TicketLite,
        now: i64,
    ) -> Result<(), SimError> {
        let plan = self.plans.get_mut(&t.id).expect("planned before working");
        let (resolution, fixed) = match &plan.decided {
            Some(d) => d.clone(),
            None => {
                let d = match fleet.asset_mut(&t.asset_id) {
                    Some(a) => {
                        let d = decide(&t.failure_mode, a.inspect(now));
                        match d.1 {
                            "machine" => a.repair_machine(now, t.id),
                            "sensor" => a.repair_sensor(now, t.id),
                            _ => {}
                        }
                        d
                    }
                    None => (json!({"code": "no_fault_found"}), "nothing"),
                };
                plan.decided = Some(d.clone());
                d
            }
        };
        let repaired_at = (fixed != "nothing").then_some(now);
        let code = resolution["code"].as_str().unwrap_or("?").to_owned();
        match self
            .api
            .transition(t.id, "resolved", Some(resolution), repaired_at)
            .await
        {
            Ok(_) => {}
            // The answer to an earlier try was lost, but the resolution went through.
            Err(e) => match self.api.ticket(t.id).await {
                Ok(now_t) if now_t.status == "resolved" => {}
                _ => return Err(e),
            },
        }
        *self.stats.resolved.entry(code).or_default() += 1;
        self.plans.remove(&t.id);
        Ok(())
    }
}

/// The resolution for a ticket predicting `mode` on an asset where the crew finds `found`, and
/// what it fixes: `machine`, `sensor` or `nothing`.
fn decide(mode: &str, found: crate::Inspection) -> (Value, &'static str) {
    let other = |m: &str| json!({"code": "other_mode", "failure_mode": m});
    match (mode == INSTRUMENTATION, found.machine, found.sensor) {
        (true, _, Some(_)) => (json!({"code": "confirmed"}), "sensor"),
        (true, Some(m), None) => (other(m), "machine"),
        (false, Some(m), _) if m == mode => (json!({"code": "confirmed"}), "machine"),
        (false, Some(m), _) => (other(m), "machine"),
        (false, None, Some(_)) => (other(INSTRUMENTATION), "sensor"),
        _ => (json!({"code": "no_fault_found"}), "nothing"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Inspection;

    #[test]
    fn the_crew_reports_what_it_finds() {
        let found = |machine, sensor| Inspection { machine, sensor };
        assert_eq!(
            decide("bearing_wear", found(Some("bearing_wear"), None)),
            (json!({"code": "confirmed"}), "machine")
        );
        assert_eq!(
            decide("bearing_wear", found(Some("impeller_wear"), None)),
            (
                json!({"code": "other_mode", "failure_mode": "impeller_wear"}),
                "machine"
            )
        );
        assert_eq!(
            decide("sensor_fault", found(None, Some("flow"))),
            (json!({"code": "confirmed"}), "sensor")
        );
        assert_eq!(
            decide("bearing_wear", found(None, Some("flow"))),
            (
                json!({"code": "other_mode", "failure_mode": "sensor_fault"}),
                "sensor"
            )
        );
        assert_eq!(
            decide("bearing_wear", found(None, None)),
            (json!({"code": "no_fault_found"}), "nothing")
        );
    }
}
