//! `ticketstream consume` as a library: an eventstream client, the polling loop of spec
//! section 5, a durable cursor per sink, and the sinks.
//!
//! Delivery is at least once and in id order, per sink: a sink's cursor moves only after
//! the sink accepted the items, so a crash repeats at most the batch in flight. Integrators
//! who want their own destination implement [`Sink`] and run a [`Forwarder`] with it; see
//! `examples/custom_sink.rs`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use consumer::{AuthScheme, Credentials, EventstreamClient, Forwarder, ForwarderConfig, SinkSpec};
//!
//! let http = reqwest::Client::new();
//! let client = EventstreamClient::new(
//!     http.clone(),
//!     "http://127.0.0.1:8080",
//!     "demo".parse()?,
//!     Credentials { accesskey: "AK".into(), secretkey: "SK".into() },
//!     AuthScheme::Hmac,
//! )?;
//! let sink = "ndjson:items.ndjson".parse::<SinkSpec>()?.build(http, "state".as_ref())?;
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! Forwarder::new(client, sink, "state", ForwarderConfig::default())
//!     .run(shutdown)
//!     .await?;
//! # Ok(()) }
//! ```

mod backoff;
mod client;
mod cursor;
mod deadletter;
mod fields;
mod forwarder;
mod fsutil;
mod item;
mod metrics;
mod page;
mod readahead;
mod sink;

pub use backoff::Backoff;
pub use client::{AuthScheme, ClientError, Credentials, EventstreamClient, PageRequest};
pub use cursor::{Cursor, CursorError};
pub use deadletter::{
    REPLAY_ATTEMPTS, REPLAY_BACKOFF, ReplayError, ReplayReport, replay_dead_letters,
};
pub use forwarder::{ForwardError, Forwarder, ForwarderConfig, run_all};
pub use item::ReceivedItem;
pub use metrics::{MetricsSnapshot, SinkMetrics, render_prometheus};
pub use page::{Page, parse_page};
pub use sink::{
    AnySink, Ga4Config, Ga4Sink, InvalidSinkSpec, MatomoConfig, MatomoSink, NdjsonSink, Outcome,
    Rejection, Sink, SinkError, SinkSpec, SinkTarget, ValidationMessage, WebhookConfig,
    WebhookSink, webhook_signature,
};
