//! The server's metrics, in the Prometheus text format on a listener of their own
//! (`--metrics-listen`): not behind the API keys, and off unless asked for, so they are
//! never served on the public address by accident.
//!
//! One registry per [`App`](crate::App), not a process-wide one, so servers started side
//! by side (in tests) count apart. The handlers, the relay and the background loops
//! count through [`Metrics`]; `http` counts every request by route and status.

pub(crate) mod http;

use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteStatus {
    pub(crate) route: String,
    pub(crate) status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Route {
    pub(crate) route: String,
}

/// An action's type (`webshop:pageview`, ...).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TypeLabel {
    pub(crate) r#type: String,
}

type Histograms = Family<Route, Histogram, fn() -> Histogram>;

/// Everything the server counts.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<RouteStatus, Counter>,
    pub(crate) refusals: Family<RouteStatus, Counter>,
    pub(crate) latency: Histograms,
    pub(crate) tracked_actions: Family<TypeLabel, Counter>,
    pub(crate) items_appended: Counter,
    pub(crate) items_served: Counter,
    pub(crate) long_polls: Gauge,
    pub(crate) sse_streams: Gauge,
    pub(crate) relay_lag: Gauge<f64, AtomicU64>,
    pub(crate) retained_items: Gauge,
    pub(crate) retained_bytes: Gauge,
    pub(crate) purge_runs: Counter,
    pub(crate) purged_items: Counter,
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 6.5 s.
    Histogram::new(exponential_buckets(0.000_1, 2.0, 17))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ticketstream");
        let requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let refusals = Family::<RouteStatus, Counter>::default();
        registry.register(
            "http_refusals",
            "Requests refused for load: 429 (a key or client over its share) and 503 (the server full or a store unavailable)",
            refusals.clone(),
        );
        let latency: Histograms = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to the response's head, by route (long-polls include their wait)",
            latency.clone(),
        );
        let tracked_actions = Family::<TypeLabel, Counter>::default();
        registry.register(
            "tracked_actions",
            "Tracked actions appended to the eventstream, by type",
            tracked_actions.clone(),
        );
        let items_appended = Counter::default();
        registry.register(
            "items_appended",
            "Items the relay appended to the event log",
            items_appended.clone(),
        );
        let items_served = Counter::default();
        registry.register(
            "items_served",
            "Items served to eventstream readers, pages and SSE",
            items_served.clone(),
        );
        let long_polls = Gauge::default();
        registry.register(
            "open_long_polls",
            "Eventstream requests waiting for items (wait > 0)",
            long_polls.clone(),
        );
        let sse_streams = Gauge::default();
        registry.register(
            "open_sse_streams",
            "Server-Sent Events streams open",
            sse_streams.clone(),
        );
        let relay_lag = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "relay_lag_seconds",
            "Age of the oldest outbox row at the relay's last pass (0 when the outbox was empty)",
            relay_lag.clone(),
        );
        let retained_items = Gauge::default();
        registry.register(
            "retained_items",
            "Items the event log keeps, at the last retention run",
            retained_items.clone(),
        );
        let retained_bytes = Gauge::default();
        registry.register(
            "retained_bytes",
            "Bytes the event log's storage takes, at the last retention run (embedded log only)",
            retained_bytes.clone(),
        );
        let purge_runs = Counter::default();
        registry.register("purge_runs", "Retention runs", purge_runs.clone());
        let purged_items = Counter::default();
        registry.register(
            "purged_items",
            "Items retention deleted",
            purged_items.clone(),
        );
        Metrics {
            registry,
            requests,
            refusals,
            latency,
            tracked_actions,
            items_appended,
            items_served,
            long_polls,
            sse_streams,
            relay_lag,
            retained_items,
            retained_bytes,
            purge_runs,
            purged_items,
        }
    }
}

impl Metrics {
    /// The text exposition of every metric.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Counts one open long-poll or stream until the guard is dropped.
    pub(crate) fn open(gauge: &Gauge) -> OpenGuard {
        gauge.inc();
        OpenGuard(gauge.clone())
    }
}

/// Holds one count of a gauge of open things.
#[derive(Debug)]
pub(crate) struct OpenGuard(Gauge);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The router of the metrics listener: `GET /metrics`.
pub(crate) fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        metrics.render(),
    )
        .into_response()
}
