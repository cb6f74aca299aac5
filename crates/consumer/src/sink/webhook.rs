//! The webhook sink: each batch is one `POST` of `{"items":[...]}` (the items exactly as
//! served), signed so that the receiver can check where it comes from and reject replays.
//!
//! Headers of every request:
//! - `X-Ticketstream-First-Id`, `X-Ticketstream-Last-Id`, `X-Ticketstream-Count`: the
//!   batch's first and last item ids and its length;
//! - `Idempotency-Key: <first id>_<last id>`: the same batch sent again (a retry, or a
//!   restart before the cursor moved) has the same key. A restart may also cut batches
//!   differently, so receivers that must not see an item twice dedupe by item id;
//! - with a secret: `X-Ticketstream-Timestamp: <unix seconds>` and
//!   `X-Ticketstream-Signature: sha256=<lowercase hex HMAC-SHA256(secret, timestamp + "." + body)>`.
//!   A receiver recomputes the HMAC over the raw body, compares in constant time, and
//!   rejects timestamps more than a few minutes old.
//!
//! Answers: 2xx accepted; 408, 429 and 5xx (and timeouts) retried; any other status is a
//! permanent refusal and the batch goes to the dead letters. A 2xx body of the form
//! `{"rejected":[{"id":"...","reason":"..."}]}` refuses just those items.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use protocol::ItemId;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use sha2::Sha256;

use super::{Outcome, Rejection, Sink, SinkError};
use crate::ReceivedItem;

/// `webhook:URL[,secret=S][,timeout=DURATION]`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub url: Url,
    pub secret: Option<String>,
    pub timeout: Duration,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url.as_str())
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl WebhookConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Parses the text after `webhook:`. Options come last, after commas; a comma that
    /// is not followed by a known option belongs to the URL.
    pub fn parse(spec: &str) -> Result<WebhookConfig, String> {
        let mut rest = spec;
        let mut secret = None;
        let mut timeout = Self::DEFAULT_TIMEOUT;
        while let Some((head, option)) = rest.rsplit_once(',') {
            if let Some(value) = option.strip_prefix("secret=") {
                if value.is_empty() {
                    return Err("secret= is empty".into());
                }
                secret = Some(value.to_owned());
            } else if let Some(value) = option.strip_prefix("timeout=") {
                timeout = parse_timeout(value)?;
            } else {
                break;
            }
            rest = head;
        }
        let url = Url::parse(rest).map_err(|e| format!("invalid webhook URL {rest:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("webhook URL {rest:?}: use http:// or https://"));
        }
        Ok(WebhookConfig {
            url,
            secret,
            timeout,
        })
    }
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs = s.strip_suffix('s').unwrap_or(s);
    match secs.parse::<u64>() {
        Ok(n) if (1..=600).contains(&n) => Ok(Duration::from_secs(n)),
        _ => Err(format!(
            "timeout={s}: use whole seconds from 1 to 600, e.g. 10s"
        )),
    }
}

/// Posts batches to a URL.
#[derive(Debug)]
pub struct WebhookSink {
    name: String,
    config: WebhookConfig,
    http: reqwest::Client,
}

impl WebhookSink {
    pub fn new(name: impl Into<String>, config: WebhookConfig, http: reqwest::Client) -> Self {
        WebhookSink {
            name: name.into(),
            config,
            http,
        }
    }
}

/// The signature header's value for a body sent at `timestamp` (unix seconds):
/// `sha256=` and the lowercase hex HMAC-SHA256 of `timestamp + "." + body`.
pub fn webhook_signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|e| unreachable!("HMAC takes any key length: {e}"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// `{"items":[...]}` with each item's bytes as served.
fn batch_body(batch: &[ReceivedItem]) -> Vec<u8> {
    let len: usize = batch.iter().map(|i| i.raw().len() + 1).sum();
    let mut body = Vec::with_capacity(len + 16);
    body.extend_from_slice(b"{\"items\":[");
    for (i, item) in batch.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.raw().as_bytes());
    }
    body.extend_from_slice(b"]}");
    body
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    rejected: Vec<AnswerRejection>,
}

#[derive(Deserialize)]
struct AnswerRejection {
    id: ItemId,
    #[serde(default)]
    reason: Option<String>,
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(Outcome::Accepted);
        };
        let (first, last) = (first.id(), last.id());
        let body = batch_body(batch);
        let mut request = self
            .http
            .post(self.config.url.clone())
            .timeout(self.config.timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("X-Ticketstream-First-Id", first.to_string())
            .header("X-Ticketstream-Last-Id", last.to_string())
            .header("X-Ticketstream-Count", batch.len().to_string())
            .header("Idempotency-Key", format!("{first}_{last}"));
        if let Some(secret) = &self.config.secret {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            request = request
                .header("X-Ticketstream-Timestamp", now.to_string())
                .header(
                    "X-Ticketstream-Signature",
                    webhook_signature(secret, now, &body),
                );
        }
        let response = request.body(body).send().await.map_err(|e| {
            SinkError::Retryable(format!(
                "POST {}: {}",
                self.config.url,
                crate::client::error_chain(&e)
            ))
        })?;
        let status = response.status();
        let retry_after = crate::client::retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        classify(status, retry_after, &text, batch)
    }
}

fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &str,
    batch: &[ReceivedItem],
) -> Result<Outcome, SinkError> {
    if status.is_success() {
        let Ok(answer) = serde_json::from_str::<Answer>(body) else {
            return Ok(Outcome::Accepted);
        };
        let rejections: Vec<Rejection> = answer
            .rejected
            .into_iter()
            .filter(|r| batch.iter().any(|i| i.id() == r.id))
            .map(|r| Rejection {
                id: r.id,
                reason: r
                    .reason
                    .unwrap_or_else(|| "rejected by the receiver".into()),
            })
            .collect();
        return Ok(if rejections.is_empty() {
            Outcome::Accepted
        } else {
            Outcome::PartlyRejected(rejections)
        });
    }
    Err(super::http::status_error(status, retry_after, body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::value::RawValue;

    use super::*;

    fn item(ms: u64) -> ReceivedItem {
        let raw = format!(
            r#"{{"id":"{ms}-0","ts":"2022-09-13T11:46:25","type":"webshop:pageview","data":{{}}}}"#
        );
        ReceivedItem::from_raw(RawValue::from_string(raw).unwrap()).unwrap()
    }

    #[test]
    fn parses_url_and_options() {
        let c = WebhookConfig::parse("http://h/x?a=1,2,secret=s3,timeout=5s").unwrap();
        assert_eq!(c.url.as_str(), "http://h/x?a=1,2");
        assert_eq!(c.secret.as_deref(), Some("s3"));
        assert_eq!(c.timeout, Duration::from_secs(5));
        let plain = WebhookConfig::parse("https://h/hook").unwrap();
        assert_eq!(plain.secret, None);
        assert!(WebhookConfig::parse("ftp://h").is_err());
        assert!(WebhookConfig::parse("http://h,secret=").is_err());
        assert!(WebhookConfig::parse("http://h,timeout=0s").is_err());
        assert!(!format!("{c:?}").contains("s3"));
    }

    #[test]
    fn body_splices_raw_items() {
        let batch = [item(1), item(2)];
        let body = String::from_utf8(batch_body(&batch)).unwrap();
        assert_eq!(
            body,
            format!(r#"{{"items":[{},{}]}}"#, batch[0].raw(), batch[1].raw())
        );
    }

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"items":[]}' | openssl dgst -sha256 -hmac k
        assert_eq!(
            webhook_signature("k", 1_700_000_000, br#"{"items":[]}"#),
            "sha256=632ace12a2a6da75e39a69647c1d5e136328093f6ab65b11bbea8daf469464ab"
        );
    }

    #[test]
    fn classifies_answers() {
        let batch = [item(1), item(2)];
        let status = |c: u16| StatusCode::from_u16(c).unwrap();
        assert_eq!(
            classify(status(200), None, "", &batch).unwrap(),
            Outcome::Accepted
        );
        assert_eq!(
            classify(status(204), None, "ok", &batch).unwrap(),
            Outcome::Accepted
        );
        for retry in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(
                classify(status(retry), None, "", &batch),
                Err(SinkError::Retryable(_))
            ));
        }
        assert!(matches!(
            classify(status(503), Some(Duration::from_secs(7)), "", &batch),
            Err(SinkError::Throttled { retry_after, .. }) if retry_after == Duration::from_secs(7)
        ));
        for permanent in [301, 400, 401, 403, 404, 413, 422] {
            assert!(matches!(
                classify(status(permanent), None, "", &batch),
                Err(SinkError::Permanent(_))
            ));
        }
        let partly = classify(
            status(200),
            None,
            r#"{"rejected":[{"id":"2-0","reason":"bad"},{"id":"9-0"}]}"#,
            &batch,
        )
        .unwrap();
        assert_eq!(
            partly,
            Outcome::PartlyRejected(vec![Rejection {
                id: ItemId::new(2, 0),
                reason: "bad".into()
            }])
        );
    }
}
