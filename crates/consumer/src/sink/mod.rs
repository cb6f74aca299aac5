//! What every sink is: something that takes a batch of items, in id order, and says
//! whether it accepted them. Also the sinks that ship with the consumer, and the
//! `--sink` specification that picks and configures one of them.

mod analytics;
mod ga4;
mod http;
mod matomo;
mod ndjson;
mod spec;
mod webhook;

use std::future::Future;

use protocol::ItemId;

use crate::ReceivedItem;

pub use ga4::{Ga4Config, Ga4Sink, ValidationMessage};
pub use matomo::{MatomoConfig, MatomoSink};
pub use ndjson::NdjsonSink;
pub use spec::{AnySink, InvalidSinkSpec, SinkSpec, SinkTarget};
pub use webhook::{WebhookConfig, WebhookSink, webhook_signature};

/// A destination for items.
///
/// `send` gets the items in id order. `Ok` means the sink has them (durably, as far as
/// the sink can tell), and the sink's cursor moves past the batch; a batch may be sent
/// again after a crash or a retry, so sinks should tolerate duplicates (the item id is a
/// natural idempotency key).
pub trait Sink: Send {
    /// A short, stable name: used in logs, metrics and the cursor's file name.
    fn name(&self) -> &str;

    fn send(
        &mut self,
        batch: &[ReceivedItem],
    ) -> impl Future<Output = Result<Outcome, SinkError>> + Send;

    /// Called once before the first batch: a sink that can tell early that it will never
    /// work (a file that cannot be opened, a rejected API secret) says so here with
    /// [`SinkError::Permanent`], and the consumer refuses to start. The default checks
    /// nothing.
    fn health_check(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        async { Ok(()) }
    }

    /// How many items this sink takes well in one batch. A server that honours `limit`
    /// is asked for pages of this size (at most 10,000) unless the consumer was given a
    /// `limit`, and pages that arrived while the sink was busy are joined into batches
    /// of up to this size. `None`, the default, leaves the page size to the server, and
    /// every page is a batch. A sink whose cost is per batch (an fsync, a request) and
    /// not per item says so here, so that catching up a backlog costs few batches.
    fn preferred_batch_size(&self) -> Option<usize> {
        None
    }
}

/// What a sink did with a batch it did not fail on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every item was accepted.
    Accepted,
    /// Every item was accepted except these, which the destination refuses for good;
    /// they go to the sink's dead-letter file.
    PartlyRejected(Vec<Rejection>),
}

/// One item a destination refused permanently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub id: ItemId,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Nothing was accepted, but a later try may succeed (network error, timeout, 5xx,
    /// 408, 429): retried with exponential backoff and jitter.
    #[error("temporary failure: {0}")]
    Retryable(String),
    /// Like `Retryable`, but the destination said when to try again (`Retry-After`):
    /// the next try waits that long instead of the backoff.
    #[error("temporary failure, retry in {retry_after:?}: {reason}")]
    Throttled {
        reason: String,
        retry_after: std::time::Duration,
    },
    /// The whole batch is refused for good (a 4xx other than 408 and 429): it goes to the
    /// dead-letter file and the cursor moves on.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SinkError {
    /// When the destination said to try again (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SinkError::Throttled { retry_after, .. } => Some(*retry_after),
            SinkError::Retryable(_) | SinkError::Permanent(_) => None,
        }
    }
}
