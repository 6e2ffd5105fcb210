//! The hub's Prometheus metrics (`fluidos_hub_*`), recorded by the agent API and encoded in
//! the OpenMetrics text format for `/metrics`. Values that already live elsewhere (store
//! writes, live/lost agents) are read at scrape time by a collector instead of being copied.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets_range};
use prometheus_client::registry::{Registry, Unit};

use crate::ingest::Ingestor;
use crate::store::Store;

/// A one-label label set (`reason`, `route`, `result`) with static values.
pub type Label = [(&'static str, &'static str); 1];

/// Content type of the OpenMetrics text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn duration_histogram() -> Histogram {
    // 0.5 ms … 1 s, about three buckets per factor of ten.
    Histogram::new(exponential_buckets_range(0.0005, 1.0, 12))
}

/// Every metric the hub records.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reports_received: Counter,
    reports_rejected: Family<Label, Counter>,
    reports_duplicate: Counter,
    request_duration: Family<Label, Histogram, fn() -> Histogram>,
    enrollments: Family<Label, Counter>,
}

impl Metrics {
    /// Register every metric; `store` and `ingestor` are read on each scrape.
    pub fn new(store: Arc<dyn Store>, ingestor: Arc<Ingestor>) -> Self {
        let mut registry = Registry::with_prefix("fluidos_hub");
        let reports_received = Counter::default();
        let reports_rejected = Family::<Label, Counter>::default();
        let reports_duplicate = Counter::default();
        let request_duration =
            Family::<Label, Histogram, fn() -> Histogram>::new_with_constructor(duration_histogram);
        let enrollments = Family::<Label, Counter>::default();
        registry.register(
            "reports_received",
            "Reports received in accepted batches",
            reports_received.clone(),
        );
        registry.register(
            "reports_rejected",
            "Reports refused, by reason",
            reports_rejected.clone(),
        );
        registry.register(
            "reports_duplicate",
            "Reports already received (ignored)",
            reports_duplicate.clone(),
        );
        registry.register_with_unit(
            "request_duration",
            "Agent API request latency, by route",
            Unit::Seconds,
            request_duration.clone(),
        );
        registry.register(
            "enrollments",
            "Enrollment attempts, by result",
            enrollments.clone(),
        );
        registry.register_collector(Box::new(StateCollector { store, ingestor }));
        Self {
            registry,
            reports_received,
            reports_rejected,
            reports_duplicate,
            request_duration,
            enrollments,
        }
    }

    /// `n` reports arrived in a batch that was processed.
    pub fn reports_received(&self, n: usize) {
        self.reports_received.inc_by(n as u64);
    }

    /// `n` reports were refused for `reason`.
    pub fn reports_rejected(&self, reason: &'static str, n: usize) {
        if n > 0 {
            self.reports_rejected
                .get_or_create(&[("reason", reason)])
                .inc_by(n as u64);
        }
    }

    /// `n` reports were duplicates.
    pub fn reports_duplicate(&self, n: u32) {
        self.reports_duplicate.inc_by(u64::from(n));
    }

    /// A request to `route` took `elapsed`.
    pub fn request(&self, route: &'static str, elapsed: Duration) {
        self.request_duration
            .get_or_create(&[("route", route)])
            .observe(elapsed.as_secs_f64());
    }

    /// An enrollment ended with `result` (`ok` or an error code).
    pub fn enrollment(&self, result: &'static str) {
        self.enrollments.get_or_create(&[("result", result)]).inc();
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Scrape-time values: store writes and agent liveness.
struct StateCollector {
    store: Arc<dyn Store>,
    ingestor: Arc<Ingestor>,
}

impl std::fmt::Debug for StateCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateCollector").finish_non_exhaustive()
    }
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let writes = ConstCounter::new(self.store.writes_total());
        writes.encode(encoder.encode_descriptor(
            "store_writes",
            "Writes to the resource store",
            None,
            writes.metric_type(),
        )?)?;
        let (live, lost) = self.ingestor.liveness_counts();
        for (name, help, value) in [
            (
                "agents_live",
                "Agents that reported within three heartbeats",
                live,
            ),
            (
                "agents_lost",
                "Agents silent for more than three heartbeats",
                lost,
            ),
        ] {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}
