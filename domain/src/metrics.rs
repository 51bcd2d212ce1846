//! Pipeline counters, shared by every stage and exposed by the API at `/metrics`.
//!
//! Counters are cheap atomics; the registry renders them in the Prometheus text format. Labels never
//! carry an asset id (cardinality would grow with the fleet), only bounded sets such as reject reasons.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::{AccessEvent, Dependency, RejectReason};

type ReasonLabels = Vec<(&'static str, &'static str)>;

/// Every counter of the pipeline.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// MQTT messages received (valid, births and rejected).
    pub messages_received: Counter,
    /// Readings decoded from valid messages.
    pub readings_received: Counter,
    /// Readings made durable by the store.
    pub readings_stored: Counter,
    /// Store write batches (one fsync each).
    pub store_commits: Counter,
    /// Messages rejected, by reason.
    pub messages_rejected: Family<ReasonLabels, Counter>,
    /// Findings produced by analytics.
    pub findings: Counter,
    /// Findings that matched a failure mode.
    pub alerts: Counter,
    /// Findings of the pipeline fully handled: unclassified, or their alert decided on in SQL
    /// (opened, joined or absorbed). `findings` minus this is what is still on its way.
    pub findings_settled: Counter,
    /// Findings that matched no failure mode of the asset type.
    pub unclassified_findings: Counter,
    /// Findings no signature matched that the learnt classifier assigned a mode.
    pub learned_classifications: Counter,
    /// Tickets opened.
    pub tickets_opened: Counter,
    /// Alerts that found their ticket already open (deduplicated).
    pub alerts_deduplicated: Counter,
    /// Registered assets.
    pub assets: Gauge,
    /// 1 while ingest holds its MQTT subscription, 0 while disconnected.
    pub mqtt_subscribed: Gauge,
    /// Established broker connections lost (closed, broken, half-open, disconnected by the broker).
    pub mqtt_connections_lost: Counter,
    /// Server-sent event streams open now.
    pub event_streams: Gauge,
    /// Event streams refused because `[http] max_event_streams` were open.
    pub event_streams_refused: Counter,
    /// HTTP connections open now.
    pub http_connections: Gauge,
    /// HTTP connections refused because `[http] max_connections` were open.
    pub http_connections_refused: Counter,
    /// InfluxDB requests that failed and were retried.
    pub influx_retries: Counter,
    /// Readings the mirror has written to InfluxDB.
    pub mirror_readings: Counter,
    /// Readings the mirror dropped because its backlog outgrew its bound.
    pub mirror_dropped_readings: Counter,
    /// Bytes waiting in the mirror's backlog.
    pub mirror_backlog_bytes: Gauge,
    /// Sign-ins, sign-outs and refusals, by event.
    pub access_events: Family<ReasonLabels, Counter>,
    /// API tokens by role and state (active, expired, revoked), as the database holds them at
    /// the last scrape: tokens are made and revoked by `forewarn token`, another process.
    pub api_tokens: Family<ReasonLabels, Gauge>,
    /// The broker connection, for `/readyz` (not a Prometheus metric: it carries words).
    pub broker: crate::BrokerStatus,
    /// 1 while a dependency is down and being retried, by dependency.
    pub degraded: Family<ReasonLabels, Gauge>,
    /// Times a dependency went down (each outage once), by dependency.
    pub dependency_failures: Family<ReasonLabels, Counter>,
    /// Findings waiting in the durable queue for the tickets database.
    pub findings_pending: Gauge,
    /// What is down and why, for `/readyz` (words, like `broker`).
    pub degradations: crate::Degradations,
    /// The start-up's replay of stored history, while it runs.
    pub loading: crate::Loading,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates the counters and registers them under the `forewarn_` prefix.
    pub fn new() -> Self {
        let mut m = Metrics {
            registry: Registry::default(),
            messages_received: Counter::default(),
            readings_received: Counter::default(),
            readings_stored: Counter::default(),
            store_commits: Counter::default(),
            messages_rejected: Family::default(),
            findings: Counter::default(),
            alerts: Counter::default(),
            findings_settled: Counter::default(),
            unclassified_findings: Counter::default(),
            learned_classifications: Counter::default(),
            tickets_opened: Counter::default(),
            alerts_deduplicated: Counter::default(),
            assets: Gauge::default(),
            mqtt_subscribed: Gauge::default(),
            mqtt_connections_lost: Counter::default(),
            event_streams: Gauge::default(),
            event_streams_refused: Counter::default(),
            http_connections: Gauge::default(),
            http_connections_refused: Counter::default(),
            influx_retries: Counter::default(),
            mirror_readings: Counter::default(),
            mirror_dropped_readings: Counter::default(),
            mirror_backlog_bytes: Gauge::default(),
            access_events: Family::default(),
            api_tokens: Family::default(),
            broker: crate::BrokerStatus::default(),
            degraded: Family::default(),
            dependency_failures: Family::default(),
            findings_pending: Gauge::default(),
            degradations: crate::Degradations::default(),
            loading: crate::Loading::default(),
        };
        m.register();
        // Every reason shows up from the start, so dashboards see zeros instead of missing series.
        for reason in RejectReason::ALL {
            let _ = m
                .messages_rejected
                .get_or_create(&vec![("reason", reason.as_str())]);
        }
        for d in Dependency::ALL {
            let label = vec![("dependency", d.as_str())];
            let _ = m.degraded.get_or_create(&label);
            let _ = m.dependency_failures.get_or_create(&label);
        }
        for event in AccessEvent::ALL {
            let _ = m
                .access_events
                .get_or_create(&vec![("event", event.as_str())]);
        }
        m
    }

    /// The plain counters, with their names and help.
    fn counters(&self) -> [(&'static str, &'static str, &Counter); 17] {
        [
            (
                "http_connections_refused",
                "HTTP connections refused at [http] max_connections",
                &self.http_connections_refused,
            ),
            (
                "event_streams_refused",
                "Event streams refused at [http] max_event_streams",
                &self.event_streams_refused,
            ),
            (
                "mqtt_connections_lost",
                "Established broker connections lost (closed, broken, half-open)",
                &self.mqtt_connections_lost,
            ),
            (
                "messages_received",
                "MQTT messages received",
                &self.messages_received,
            ),
            (
                "readings_received",
                "Readings decoded from valid messages",
                &self.readings_received,
            ),
            (
                "readings_stored",
                "Readings made durable by the store",
                &self.readings_stored,
            ),
            (
                "store_commits",
                "Store group commits (one fsync each)",
                &self.store_commits,
            ),
            ("findings", "Findings produced by analytics", &self.findings),
            (
                "findings_settled",
                "Findings fully handled (unclassified, or their alert decided on)",
                &self.findings_settled,
            ),
            (
                "alerts",
                "Findings classified as a failure mode",
                &self.alerts,
            ),
            (
                "unclassified_findings",
                "Findings matching no failure mode",
                &self.unclassified_findings,
            ),
            (
                "learned_classifications",
                "Findings no signature matched, classified by the learnt model",
                &self.learned_classifications,
            ),
            (
                "tickets_opened",
                "Maintenance tickets opened",
                &self.tickets_opened,
            ),
            (
                "alerts_deduplicated",
                "Alerts whose ticket was already open",
                &self.alerts_deduplicated,
            ),
            (
                "influx_retries",
                "InfluxDB requests that failed and were retried",
                &self.influx_retries,
            ),
            (
                "mirror_readings",
                "Readings the mirror has written to InfluxDB",
                &self.mirror_readings,
            ),
            (
                "mirror_dropped_readings",
                "Readings the mirror dropped because its backlog outgrew its bound",
                &self.mirror_dropped_readings,
            ),
        ]
    }

    /// Registers every metric under the `forewarn_` prefix.
    fn register(&mut self) {
        let counters = self.counters().map(|(n, h, c)| (n, h, c.clone()));
        let r = self.registry.sub_registry_with_prefix("forewarn");
        for (name, help, c) in counters {
            r.register(name, help, c);
        }
        let gauges = [
            ("assets", "Registered assets", &self.assets),
            (
                "event_streams",
                "Server-sent event streams open",
                &self.event_streams,
            ),
            (
                "mqtt_subscribed",
                "1 while ingest holds its MQTT subscription",
                &self.mqtt_subscribed,
            ),
            (
                "mirror_backlog_bytes",
                "Bytes waiting in the mirror backlog",
                &self.mirror_backlog_bytes,
            ),
            (
                "http_connections",
                "HTTP connections open",
                &self.http_connections,
            ),
            (
                "findings_pending",
                "Findings waiting in the durable queue for the tickets database",
                &self.findings_pending,
            ),
        ];
        for (name, help, g) in gauges {
            r.register(name, help, g.clone());
        }
        r.register(
            "messages_rejected",
            "Messages rejected and dead-lettered, by reason",
            self.messages_rejected.clone(),
        );
        r.register(
            "access_events",
            "Sign-ins, sign-outs and refused requests, by event",
            self.access_events.clone(),
        );
        r.register(
            "degraded",
            "1 while a dependency is down and retried, by dependency",
            self.degraded.clone(),
        );
        r.register(
            "dependency_failures",
            "Outages of a dependency (each counted once), by dependency",
            self.dependency_failures.clone(),
        );
        r.register(
            "api_tokens",
            "API tokens by role and state (active, expired, revoked)",
            self.api_tokens.clone(),
        );
    }

    /// Sets the API token gauges: one `(role, state, count)` per combination the caller knows
    /// (zeros included, so a revoked last token shows as 0 instead of vanishing).
    pub fn set_api_tokens(&self, counts: &[(&'static str, &'static str, i64)]) {
        for &(role, state, n) in counts {
            self.api_tokens
                .get_or_create(&vec![("role", role), ("state", state)])
                .set(n);
        }
    }

    /// `dependency` is down because of `reason` (logged and counted when the outage is new; the
    /// reason kept up to date while it lasts).
    pub fn degrade(&self, dependency: Dependency, reason: &str, now_ms: i64) {
        let label = vec![("dependency", dependency.as_str())];
        self.degraded.get_or_create(&label).set(1);
        if self.degradations.set(dependency, reason, now_ms) {
            self.dependency_failures.get_or_create(&label).inc();
            tracing::warn!(dependency = dependency.as_str(), %reason, "degraded: running without it and retrying");
        }
    }

    /// `dependency` answers again.
    pub fn recover(&self, dependency: Dependency) {
        let label = vec![("dependency", dependency.as_str())];
        self.degraded.get_or_create(&label).set(0);
        if self.degradations.clear(dependency) {
            tracing::info!(dependency = dependency.as_str(), "recovered");
        }
    }

    /// Outages of `dependency` so far.
    pub fn outages(&self, dependency: Dependency) -> u64 {
        self.dependency_failures
            .get_or_create(&vec![("dependency", dependency.as_str())])
            .get()
    }

    /// Counts one access event.
    pub fn access(&self, event: AccessEvent) {
        self.access_events
            .get_or_create(&vec![("event", event.as_str())])
            .inc();
    }

    /// Access events of one kind so far.
    pub fn accesses(&self, event: AccessEvent) -> u64 {
        self.access_events
            .get_or_create(&vec![("event", event.as_str())])
            .get()
    }

    /// Counts one rejected message.
    pub fn reject(&self, reason: RejectReason) {
        self.messages_rejected
            .get_or_create(&vec![("reason", reason.as_str())])
            .inc();
    }

    /// Rejected messages for one reason.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.messages_rejected
            .get_or_create(&vec![("reason", reason.as_str())])
            .get()
    }

    /// Renders every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.readings_stored.inc_by(5);
        m.reject(RejectReason::MalformedJson);
        let text = m.render();
        assert!(text.contains("forewarn_readings_stored_total 5"), "{text}");
        assert!(
            text.contains("forewarn_messages_rejected_total{reason=\"malformed_json\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("forewarn_messages_rejected_total{reason=\"future_timestamp\"} 0"),
            "{text}"
        );
        assert_eq!(m.rejected(RejectReason::MalformedJson), 1);
        m.set_api_tokens(&[("admin", "active", 2), ("viewer", "revoked", 0)]);
        let text = m.render();
        assert!(
            text.contains("forewarn_api_tokens{role=\"admin\",state=\"active\"} 2"),
            "{text}"
        );
        assert!(text.contains("forewarn_mqtt_subscribed 0"), "{text}");
        assert!(text.contains("forewarn_tickets_opened_total 0"), "{text}");
    }
}
