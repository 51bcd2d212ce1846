//! Pipeline counters, shared by every stage and exposed by the API at `/metrics`.
//!
//! Counters are cheap atomics; the registry renders them in the Prometheus text format. Labels never
//! carry an asset id (cardinality would grow with the fleet), only bounded sets such as reject reasons.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::{AccessEvent, RejectReason};

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
    /// The broker connection, for `/readyz` (not a Prometheus metric: it carries words).
    pub broker: crate::BrokerStatus,
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
            influx_retries: Counter::default(),
            mirror_readings: Counter::default(),
            mirror_dropped_readings: Counter::default(),
            mirror_backlog_bytes: Gauge::default(),
            access_events: Family::default(),
            broker: crate::BrokerStatus::default(),
        };
        let r = m.registry.sub_registry_with_prefix("forewarn");
        r.register(
            "messages_received",
            "MQTT messages received",
            m.messages_received.clone(),
        );
        r.register(
            "readings_received",
            "Readings decoded from valid messages",
            m.readings_received.clone(),
        );
        r.register(
            "readings_stored",
            "Readings made durable by the store",
            m.readings_stored.clone(),
        );
        r.register(
            "store_commits",
            "Store group commits (one fsync each)",
            m.store_commits.clone(),
        );
        r.register(
            "messages_rejected",
            "Messages rejected and dead-lettered, by reason",
            m.messages_rejected.clone(),
        );
        r.register(
            "findings",
            "Findings produced by analytics",
            m.findings.clone(),
        );
        r.register(
            "findings_settled",
            "Findings fully handled (unclassified, or their alert decided on)",
            m.findings_settled.clone(),
        );
        r.register(
            "alerts",
            "Findings classified as a failure mode",
            m.alerts.clone(),
        );
        r.register(
            "unclassified_findings",
            "Findings matching no failure mode",
            m.unclassified_findings.clone(),
        );
        r.register(
            "learned_classifications",
            "Findings no signature matched, classified by the learnt model",
            m.learned_classifications.clone(),
        );
        r.register(
            "tickets_opened",
            "Maintenance tickets opened",
            m.tickets_opened.clone(),
        );
        r.register(
            "alerts_deduplicated",
            "Alerts whose ticket was already open",
            m.alerts_deduplicated.clone(),
        );
        r.register("assets", "Registered assets", m.assets.clone());
        r.register(
            "mqtt_subscribed",
            "1 while ingest holds its MQTT subscription",
            m.mqtt_subscribed.clone(),
        );
        r.register(
            "influx_retries",
            "InfluxDB requests that failed and were retried",
            m.influx_retries.clone(),
        );
        r.register(
            "mirror_readings",
            "Readings the mirror has written to InfluxDB",
            m.mirror_readings.clone(),
        );
        r.register(
            "mirror_dropped_readings",
            "Readings the mirror dropped because its backlog outgrew its bound",
            m.mirror_dropped_readings.clone(),
        );
        r.register(
            "mirror_backlog_bytes",
            "Bytes waiting in the mirror backlog",
            m.mirror_backlog_bytes.clone(),
        );
        r.register(
            "access_events",
            "Sign-ins, sign-outs and refused requests, by event",
            m.access_events.clone(),
        );
        // Every reason shows up from the start, so dashboards see zeros instead of missing series.
        for reason in RejectReason::ALL {
            let _ = m
                .messages_rejected
                .get_or_create(&vec![("reason", reason.as_str())]);
        }
        for event in AccessEvent::ALL {
            let _ = m
                .access_events
                .get_or_create(&vec![("event", event.as_str())]);
        }
        m
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
    }
}
