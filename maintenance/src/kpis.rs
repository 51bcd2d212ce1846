//! Maintenance KPIs from the tickets, their resolutions and their audit log.

use chrono::DateTime;
use serde::Serialize;
use sqlx::Row;

use crate::{Maintenance, MaintenanceError, Resolution};

/// The figures a maintenance organisation steers by. A figure with nothing to measure is `null`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Kpis {
    /// Tickets still needing work.
    pub open_tickets: u64,
    /// Tickets resolved or closed.
    pub resolved_tickets: u64,
    /// Mean time to repair, hours: from the first start of work (the ticket's opening when work
    /// was never started) to its first resolution.
    pub mttr_h: Option<f64>,
    /// Mean time between failures, hours: between consecutive confirmed failures of one asset
    /// (device time of the findings), over all assets.
    pub mtbf_h: Option<f64>,
    /// Of resolved tickets that found a fault, the share never reopened.
    pub first_time_fix_rate: Option<f64>,
    /// Of resolved tickets, the share resolved as no fault found.
    pub false_alarm_rate: Option<f64>,
    /// Median warning achieved, hours: from the finding that opened a predictive ticket to the
    /// repair that found its fault, in the asset's own time — the time the prediction actually
    /// gave the planner.
    pub prediction_lead_h: Option<f64>,
    /// Median remaining life the opening finding estimated on those same tickets, hours: what
    /// was promised, beside what was achieved.
    #[serde(default)]
    pub predicted_lead_h: Option<f64>,
    /// Of resolved tickets, the share whose work started within the response time.
    pub sla_response_compliance: Option<f64>,
    /// Of resolved tickets, the share resolved within the resolution time (paused time for
    /// parts not counted when the policy says so).
    pub sla_resolution_compliance: Option<f64>,
    /// Open tickets past a due time now.
    pub sla_breached_open: u64,
    /// Failures: finished tickets whose repair found a fault, predicted or not.
    pub failures: u64,
    /// Of those, the corrective ones: the asset had failed before any prediction opened a
    /// ticket (opened by hand or for a failed asset).
    pub corrective: u64,
    /// Predicted failures over all failures.
    pub prediction_recall: Option<f64>,
    /// The same figures per asset type, with the times between failures and to repair in
    /// device time (when the API knows the assets' types).
    pub by_asset_type: Vec<TypeKpis>,
}

/// Reliability figures of one asset type.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TypeKpis {
    /// The catalog asset type.
    pub asset_type: String,
    /// Failures (finished tickets whose repair found a fault).
    pub failures: u64,
    /// Of those, predicted (the ticket was opened from a finding before the asset failed).
    pub predicted: u64,
    /// Predicted over all.
    pub prediction_recall: Option<f64>,
    /// Mean time between failures, hours of device time: from one failure's beginning to the
    /// next on the same asset.
    pub mtbf_h: Option<f64>,
    /// Mean time to repair, hours of device time: from the first start of work to the repair
    /// (for a machine that stopped, its clock stood at the failure: the downtime).
    pub mttr_h: Option<f64>,
}

/// One ticket as the KPIs need it.
struct TicketFacts {
    status: String,
    asset: String,
    created: Option<i64>,
    detected_ms: i64,
    resolution: Option<Resolution>,
    lead_h: Option<f64>,
    started: Option<i64>,
    resolved: Option<i64>,
    reopened_after_resolve: bool,
    corrective: bool,
    began_ms: i64,
    repaired_ms: Option<i64>,
    started_device_ms: Option<i64>,
}

fn ms(rfc3339: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| round1(v.iter().sum::<f64>() / v.len() as f64))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl Maintenance {
    /// The KPIs over every ticket.
    pub async fn kpis(&self) -> Result<Kpis, MaintenanceError> {
        self.kpis_by_type(&|_| None).await
    }

    /// The KPIs over every ticket, with reliability per asset type (`type_of`: an asset's type).
    pub async fn kpis_by_type(
        &self,
        type_of: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Kpis, MaintenanceError> {
        let tickets = sqlx::query(
            // The evidence is read here rather than with a JSON function: SQL dialects spell those
            // differently.
            "SELECT id, status, asset_id, created_at, detected_at_ms, resolution, evidence, kind, began_ms, repaired_at_ms
             FROM tickets ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let events = sqlx::query(
            "SELECT ticket_id, at, to_status, device_ms FROM ticket_events ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut rows: Vec<(i64, TicketFacts)> = tickets
            .iter()
            .map(|r| {
                let resolution: Option<String> = r.get(5);
                (
                    r.get(0),
                    TicketFacts {
                        status: r.get(1),
                        asset: r.get(2),
                        created: ms(r.get::<&str, _>(3)),
                        detected_ms: r.get(4),
                        resolution: resolution.and_then(|j| serde_json::from_str(&j).ok()),
                        lead_h: serde_json::from_str::<serde_json::Value>(r.get::<&str, _>(6))
                            .ok()
                            .and_then(|e| e["health"]["time_to_failure_h"]["hours"].as_f64()),
                        started: None,
                        resolved: None,
                        reopened_after_resolve: false,
                        corrective: r.get::<&str, _>(7) == "corrective",
                        began_ms: r.get::<Option<i64>, _>(8).unwrap_or(r.get(4)),
                        repaired_ms: r.get(9),
                        started_device_ms: None,
                    },
                )
            })
            .collect();
        for e in &events {
            let id: i64 = e.get(0);
            let Ok(i) = rows.binary_search_by_key(&id, |(t, _)| *t) else {
                continue;
            };
            let t = &mut rows[i].1;
            let at = ms(e.get::<&str, _>(1));
            match e.get::<&str, _>(2) {
                "in_progress" if t.started.is_none() => {
                    t.started = at;
                    t.started_device_ms = e.get(3);
                }
                "resolved" if t.resolved.is_none() => t.resolved = at,
                "reopened" if t.resolved.is_some() => t.reopened_after_resolve = true,
                _ => {}
            }
        }
        let finished_ids: Vec<i64> = rows
            .iter()
            .filter(|(_, r)| r.status == "resolved" || r.status == "closed")
            .map(|(id, _)| *id)
            .collect();
        let open_ids: Vec<i64> = rows
            .iter()
            .filter(|(_, r)| !["resolved", "closed", "cancelled"].contains(&r.status.as_str()))
            .map(|(id, _)| *id)
            .collect();
        let now = chrono::Utc::now().timestamp_millis();
        let finished_sla = self.sla_of(&finished_ids, now).await?;
        let open_sla = self.sla_of(&open_ids, now).await?;
        let met = |f: fn(&crate::SlaStatus) -> crate::sla::ClockState| {
            finished_sla
                .iter()
                .filter(|(_, s)| f(s) == crate::sla::ClockState::Met)
                .count()
        };
        let rows: Vec<TicketFacts> = rows.into_iter().map(|(_, r)| r).collect();
        let done: Vec<&TicketFacts> = rows
            .iter()
            .filter(|r| r.status == "resolved" || r.status == "closed")
            .collect();

        let repairs: Vec<f64> = done
            .iter()
            .filter_map(|r| Some((r.resolved? - r.started.or(r.created)?) as f64 / 3.6e6))
            .collect();
        let with_fault: Vec<&TicketFacts> = done
            .iter()
            .copied()
            .filter(|r| !matches!(r.resolution, Some(Resolution::NoFaultFound)))
            .collect();
        let share = |n: usize, of: usize| {
            (of > 0).then(|| (n as f64 / of as f64 * 1000.0).round() / 1000.0)
        };
        // Failures per asset in device time, for the time between them.
        let mut failures: Vec<(&str, i64)> = with_fault
            .iter()
            .map(|r| (r.asset.as_str(), r.detected_ms))
            .collect();
        failures.sort();
        let between: Vec<f64> = failures
            .windows(2)
            .filter(|w| w[0].0 == w[1].0)
            .map(|w| (w[1].1 - w[0].1) as f64 / 3.6e6)
            .collect();
        let predictive = || with_fault.iter().filter(|r| !r.corrective);
        let mut leads: Vec<f64> = predictive().filter_map(|r| r.lead_h).collect();
        leads.sort_by(f64::total_cmp);
        let mut achieved: Vec<f64> = predictive()
            .filter_map(|r| r.repaired_ms.map(|m| (m - r.detected_ms) as f64 / 3.6e6))
            .filter(|h| *h >= 0.0)
            .collect();
        achieved.sort_by(f64::total_cmp);
        Ok(Kpis {
            open_tickets: (rows.len()
                - done.len()
                - rows.iter().filter(|r| r.status == "cancelled").count())
                as u64,
            resolved_tickets: done.len() as u64,
            mttr_h: mean(&repairs),
            mtbf_h: mean(&between),
            first_time_fix_rate: share(
                with_fault
                    .iter()
                    .filter(|r| !r.reopened_after_resolve)
                    .count(),
                with_fault.len(),
            ),
            false_alarm_rate: share(done.len() - with_fault.len(), done.len()),
            prediction_lead_h: achieved.get(achieved.len() / 2).map(|&x| round1(x)),
            predicted_lead_h: leads.get(leads.len() / 2).map(|&x| round1(x)),
            sla_response_compliance: share(met(|s| s.response.state), finished_sla.len()),
            sla_resolution_compliance: share(met(|s| s.resolution.state), finished_sla.len()),
            sla_breached_open: open_sla
                .iter()
                .filter(|(_, s)| {
                    [s.response.state, s.resolution.state]
                        .contains(&crate::sla::ClockState::Breached)
                })
                .count() as u64,
            failures: with_fault.len() as u64,
            corrective: with_fault.iter().filter(|r| r.corrective).count() as u64,
            prediction_recall: share(
                with_fault.iter().filter(|r| !r.corrective).count(),
                with_fault.len(),
            ),
            by_asset_type: by_type(&with_fault, type_of),
        })
    }
}

/// Reliability per asset type, from the tickets that found a fault.
fn by_type(
    failures: &[&TicketFacts],
    type_of: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Vec<TypeKpis> {
    let mut types: std::collections::BTreeMap<String, Vec<&TicketFacts>> = Default::default();
    for f in failures {
        if let Some(ty) = type_of(&f.asset) {
            types.entry(ty).or_default().push(f);
        }
    }
    types
        .into_iter()
        .map(|(asset_type, mut fs)| {
            fs.sort_by_key(|f| (f.asset.clone(), f.began_ms));
            let between: Vec<f64> = fs
                .windows(2)
                .filter(|w| w[0].asset == w[1].asset)
                .map(|w| (w[1].began_ms - w[0].began_ms) as f64 / 3.6e6)
                .collect();
            let repairs: Vec<f64> = fs
                .iter()
                .filter_map(|f| Some((f.repaired_ms? - f.started_device_ms?).max(0) as f64 / 3.6e6))
                .collect();
            let predicted = fs.iter().filter(|f| !f.corrective).count();
            TypeKpis {
                asset_type,
                failures: fs.len() as u64,
                predicted: predicted as u64,
                prediction_recall: (!fs.is_empty())
                    .then(|| (predicted as f64 / fs.len() as f64 * 1000.0).round() / 1000.0),
                mtbf_h: mean(&between),
                mttr_h: mean(&repairs),
            }
        })
        .collect()
}
