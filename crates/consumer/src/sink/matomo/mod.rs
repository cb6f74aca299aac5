//! The Matomo sink: items as requests of the Matomo HTTP tracking API, posted in bulk
//! (`{"requests": ["?idsite=..&rec=1&...", ...], "token_auth": ...}` to `matomo.php`).
//! The mapping is in `mapping.rs` and in the README's "Matomo mapping".
//!
//! Matomo records an order id once per site, so a repeated `checkout_confirm` does not
//! count twice there and needs no bookkeeping here.

mod config;
mod mapping;

use std::collections::HashSet;
use std::fmt;

use protocol::{ItemId, Timestamp};
use reqwest::header::CONTENT_TYPE;
use serde::{Deserialize, Serialize};

pub use config::MatomoConfig;
use mapping::{Context, Mapped};

use crate::sink::http;
use crate::{Outcome, ReceivedItem, Rejection, Sink, SinkError};

/// Tracking requests per bulk POST: Matomo handles them in one transaction, which
/// should stay short.
const MAX_REQUESTS_PER_POST: usize = 100;

/// Forwards items to one Matomo site.
pub struct MatomoSink {
    config: MatomoConfig,
    http: reqwest::Client,
    /// Items of the batch in flight that Matomo already accepted: a retry of the batch
    /// does not send them again.
    delivered: HashSet<ItemId>,
    now: fn() -> Timestamp,
}

impl MatomoSink {
    pub fn new(config: MatomoConfig, http: reqwest::Client) -> MatomoSink {
        MatomoSink {
            config,
            http,
            delivered: HashSet::new(),
            now: Timestamp::now,
        }
    }

    /// Replaces the clock that decides which items are too old to send without a token.
    pub fn with_clock(mut self, now: fn() -> Timestamp) -> MatomoSink {
        self.now = now;
        self
    }

    async fn deliver(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        let now = (self.now)();
        let ctx = Context {
            idsite: self.config.idsite,
            authenticated: self.config.token_auth.is_some(),
            page_base: &self.config.page_base,
        };
        let mut rejections = Vec::new();
        let mut requests: Vec<(ItemId, String)> = Vec::new();
        for item in batch {
            if self.delivered.contains(&item.id()) {
                continue;
            }
            match mapping::map_item(item, ctx, now) {
                Mapped::Skip => {}
                Mapped::Reject(reason) => rejections.push(Rejection {
                    id: item.id(),
                    reason,
                }),
                Mapped::Request(query) => requests.push((item.id(), query)),
            }
        }

        let mut delivered_any = batch.iter().any(|r| self.delivered.contains(&r.id()));
        let mut refusal = None;
        for chunk in requests.chunks(MAX_REQUESTS_PER_POST) {
            match self.post(chunk).await {
                Ok(invalid) => {
                    delivered_any = true;
                    for (index, (id, _)) in chunk.iter().enumerate() {
                        if invalid.contains(&index) {
                            rejections.push(Rejection {
                                id: *id,
                                reason: "Matomo found the tracking request invalid".to_owned(),
                            });
                        }
                        self.delivered.insert(*id);
                    }
                }
                Err(SinkError::Permanent(message)) => {
                    rejections.extend(chunk.iter().map(|(id, _)| Rejection {
                        id: *id,
                        reason: format!("Matomo refused the request: {message}"),
                    }));
                    refusal = Some(message);
                }
                Err(retryable) => return Err(retryable),
            }
        }
        self.delivered.clear();
        match refusal {
            Some(message) if !delivered_any => Err(SinkError::Permanent(message)),
            _ if rejections.is_empty() => Ok(Outcome::Accepted),
            _ => Ok(Outcome::PartlyRejected(rejections)),
        }
    }

    /// One bulk POST; the indices Matomo reported invalid (it names them only to a
    /// super user's token; otherwise their count is logged).
    async fn post(&self, chunk: &[(ItemId, String)]) -> Result<Vec<usize>, SinkError> {
        #[derive(Serialize)]
        struct Bulk<'a> {
            requests: Vec<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            token_auth: Option<&'a str>,
        }
        let body = Bulk {
            requests: chunk.iter().map(|(_, q)| q.as_str()).collect(),
            token_auth: self.config.token_auth.as_deref(),
        };
        let body = serde_json::to_string(&body)
            .map_err(|e| SinkError::Permanent(format!("cannot write the bulk request: {e}")))?;
        let response = self
            .http
            .post(self.config.endpoint.clone())
            .header(CONTENT_TYPE, "application/json")
            .timeout(http::REQUEST_TIMEOUT)
            .body(body)
            .send()
            .await
            .map_err(http::transport_error)?;
        let status = response.status();
        let retry_after = crate::client::retry_after(response.headers());
        // The body is only a report: failing to read it after a 2xx is no failure.
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(http::status_error(status, retry_after, &text));
        }
        let Ok(answer) = serde_json::from_str::<BulkAnswer>(&text) else {
            return Ok(Vec::new());
        };
        if answer.invalid > 0 && answer.invalid_indices.is_none() {
            tracing::warn!(
                sink = self.name(),
                invalid = answer.invalid,
                "Matomo found tracking requests invalid without saying which (its answer names them only to a super user's token_auth)"
            );
        }
        Ok(answer.invalid_indices.unwrap_or_default())
    }
}

/// Matomo's answer to a bulk request.
#[derive(Debug, Deserialize)]
struct BulkAnswer {
    #[serde(default)]
    invalid: u64,
    #[serde(default)]
    invalid_indices: Option<Vec<usize>>,
}

impl Sink for MatomoSink {
    fn name(&self) -> &str {
        "matomo"
    }

    async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        self.deliver(batch).await
    }

    /// A wrong `url` is the likeliest mistake, and a 404 from the tracker says so. Any
    /// other answer, or none, does not stop the consumer: Matomo may just be down.
    async fn health_check(&mut self) -> Result<(), SinkError> {
        let response = self
            .http
            .get(self.config.endpoint.clone())
            .timeout(http::REQUEST_TIMEOUT)
            .send()
            .await;
        match response {
            Ok(r) if matches!(r.status().as_u16(), 404 | 410) => {
                Err(SinkError::Permanent(format!(
                    "no Matomo tracker at {}: HTTP {}",
                    self.config.endpoint,
                    r.status()
                )))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for MatomoSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatomoSink")
            .field("config", &self.config)
            .field("in_flight_delivered", &self.delivered.len())
            .finish_non_exhaustive()
    }
}
