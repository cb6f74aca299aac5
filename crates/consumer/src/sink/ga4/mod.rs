//! The GA4 sink: items as Google Analytics 4 Measurement Protocol events (spec section 7,
//! mapping in `mapping.rs`), sent in requests of one client, at most 25 events and under
//! 130 kB each, with every purchase sent once only.
//!
//! `lines`, `page`, `spec` and `http` are shared with the Matomo sink.

mod batch;
mod config;
mod dedup;
mod mapping;

use std::collections::HashSet;
use std::fmt;

use protocol::{ItemId, Timestamp};
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;

pub use config::Ga4Config;
use dedup::SentTransactions;
use mapping::{Context, Mapped};

use crate::sink::http;
use crate::{Outcome, ReceivedItem, Rejection, Sink, SinkError};

/// Forwards items to a GA4 property.
pub struct Ga4Sink {
    config: Ga4Config,
    /// The collection URL with the secret in its query: never logged.
    url: reqwest::Url,
    http: reqwest::Client,
    transactions: SentTransactions,
    /// Items of the batch in flight that GA4 already accepted: a retry of the batch
    /// does not send them again.
    delivered: HashSet<ItemId>,
    validation_messages: Vec<ValidationMessage>,
    now: fn() -> Timestamp,
}

/// One finding of GA4's validation endpoint (`debug=true`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationMessage {
    #[serde(default)]
    pub field_path: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub validation_code: String,
}

impl fmt::Display for ValidationMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at `{}`: {}",
            self.validation_code, self.field_path, self.description
        )
    }
}

impl Ga4Sink {
    pub fn new(config: Ga4Config, http: reqwest::Client) -> Ga4Sink {
        // The validation endpoint records nothing, so what it saw is not remembered
        // beyond this process.
        let file = match (&config.state_dir, config.debug) {
            (Some(dir), false) => {
                Some(dir.join(format!("ga4-{}-transactions.txt", config.measurement_id)))
            }
            _ => None,
        };
        Ga4Sink {
            url: config.request_url(),
            config,
            http,
            transactions: SentTransactions::new(file),
            delivered: HashSet::new(),
            validation_messages: Vec::new(),
            now: Timestamp::now,
        }
    }

    /// Replaces the clock that decides which items are too old for GA4.
    pub fn with_clock(mut self, now: fn() -> Timestamp) -> Ga4Sink {
        self.now = now;
        self
    }

    /// What the validation endpoint said about the last batch (`debug=true` only).
    pub fn validation_messages(&self) -> &[ValidationMessage] {
        &self.validation_messages
    }

    async fn deliver(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        self.validation_messages.clear();
        let now = (self.now)();
        self.transactions.load(now).map_err(|e| {
            SinkError::Retryable(format!("cannot read the sent GA4 transaction ids: {e}"))
        })?;
        let ctx = Context {
            currency: &self.config.currency,
            page_base: &self.config.page_base,
        };
        let mut rejections = Vec::new();
        let mut events = Vec::new();
        let mut purchases = HashSet::new();
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
                Mapped::Event(event) => {
                    if let Some(txn) = &event.transaction_id
                        && (self.transactions.contains(txn) || !purchases.insert(txn.clone()))
                    {
                        tracing::debug!(
                            sink = self.name(),
                            item = %item.id(),
                            "purchase already sent, skipped"
                        );
                        continue;
                    }
                    events.push((item.id(), *event));
                }
            }
        }

        let (requests, too_large) = batch::plan(events);
        rejections.extend(too_large);
        let mut delivered_any = batch.iter().any(|r| self.delivered.contains(&r.id()));
        let mut refusal = None;
        for request in requests {
            match self.post(request.body).await {
                Ok(messages) => {
                    delivered_any = true;
                    self.delivered.extend(request.events.iter().map(|e| e.id));
                    let sent = request
                        .events
                        .iter()
                        .filter_map(|e| e.transaction_id.clone())
                        .collect();
                    if let Err(e) = self.transactions.record(sent, now) {
                        tracing::warn!(
                            sink = self.name(),
                            error = %e,
                            "cannot save sent transaction ids; a restart may send those purchases again"
                        );
                    }
                    self.validation_messages.extend(messages);
                }
                Err(SinkError::Permanent(message)) => {
                    rejections.extend(request.events.iter().map(|e| Rejection {
                        id: e.id,
                        reason: format!("GA4 refused the request: {message}"),
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

    /// One POST; in debug mode, the validation messages of its answer.
    async fn post(&self, body: String) -> Result<Vec<ValidationMessage>, SinkError> {
        let response = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .timeout(http::REQUEST_TIMEOUT)
            .body(body)
            .send()
            .await
            .map_err(http::transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = crate::client::retry_after(response.headers());
            let text = response.text().await.unwrap_or_default();
            return Err(http::status_error(status, retry_after, &text));
        }
        if !self.config.debug {
            return Ok(Vec::new());
        }
        let text = response.text().await.map_err(http::transport_error)?;
        let messages = match parse_validation_messages(&text) {
            Ok(messages) => messages,
            Err(e) => {
                tracing::warn!(sink = self.name(), error = %e, "unexpected answer from the GA4 validation endpoint");
                Vec::new()
            }
        };
        for message in &messages {
            tracing::warn!(sink = self.name(), "GA4 validation: {message}");
        }
        Ok(messages)
    }
}

/// The `validationMessages` of a validation endpoint's answer.
fn parse_validation_messages(body: &str) -> Result<Vec<ValidationMessage>, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        #[serde(default)]
        validation_messages: Vec<ValidationMessage>,
    }
    serde_json::from_str::<Answer>(body).map(|a| a.validation_messages)
}

impl Sink for Ga4Sink {
    fn name(&self) -> &str {
        "ga4"
    }

    async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        self.deliver(batch).await
    }
}

impl fmt::Debug for Ga4Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ga4Sink")
            .field("config", &self.config)
            .field("in_flight_delivered", &self.delivered.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn validation_messages_are_read() {
        let body = r#"{"validationMessages":[{"fieldPath":"events","description":"Event at index: [0] has invalid name [_bad].","validationCode":"NAME_INVALID"}]}"#;
        let messages = parse_validation_messages(body).unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].validation_code, "NAME_INVALID");
        assert_eq!(messages[0].field_path, "events");
        assert!(messages[0].to_string().contains("invalid name"));
        assert!(
            parse_validation_messages(r#"{"validationMessages":[]}"#)
                .unwrap()
                .is_empty()
        );
        assert!(parse_validation_messages("{}").unwrap().is_empty());
        assert!(parse_validation_messages("<html>").is_err());
    }
}
