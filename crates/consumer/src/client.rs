//! The eventstream client: one `GET /api/1/{account}/eventstream` per call, with either
//! authentication scheme, reading both our server's pages and the original API's.
//!
//! A page's body is read into one buffer, which becomes the page's text (see `page`).

use std::fmt;
use std::time::Duration;

use protocol::{AccountName, HmacAuthorization, StartAt, Timestamp};
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::page::{Page, parse_page};

/// How requests are authenticated (spec section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScheme {
    /// HTTP Basic with `accesskey:secretkey`.
    #[default]
    Basic,
    /// `Authorization: TM-HMAC-SHA256 key=... ts=... sign=...`: the secret never travels.
    Hmac,
}

impl std::str::FromStr for AuthScheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "basic" => Ok(AuthScheme::Basic),
            "hmac" => Ok(AuthScheme::Hmac),
            _ => Err(format!("unknown auth scheme {s:?}: use basic or hmac")),
        }
    }
}

/// An API key pair. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    pub accesskey: String,
    pub secretkey: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("accesskey", &self.accesskey)
            .field("secretkey", &"<redacted>")
            .finish()
    }
}

/// One read: where to start, which types, how many items, how long the server may hold
/// the request when nothing is there yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub start: StartAt,
    /// `eventtypes`; `None` reads every type.
    pub types: Option<Vec<String>>,
    /// `limit` (our server only; the original API ignores it).
    pub limit: Option<usize>,
    /// `wait` in whole seconds (our server only; the original API ignores it).
    pub wait: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid server URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    /// The request never got an answer (connection refused, reset, timeout).
    #[error("cannot reach the eventstream server: {0}")]
    Network(String),
    /// The server answered with an error status. `retry_after` is its `Retry-After`.
    #[error("the eventstream server answered {status}: {message}")]
    Status {
        status: StatusCode,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The body is not an eventstream page.
    #[error("the eventstream server sent something that is not an eventstream page: {0}")]
    Malformed(String),
}

impl ClientError {
    /// Whether retrying the same request cannot help: wrong credentials, a key that may
    /// not read the account, a rejected parameter, a URL that is not an eventstream.
    pub fn is_permanent(&self) -> bool {
        match self {
            ClientError::BadUrl { .. } => true,
            ClientError::Status { status, .. } => {
                status.is_client_error()
                    && *status != StatusCode::REQUEST_TIMEOUT
                    && *status != StatusCode::TOO_MANY_REQUESTS
            }
            ClientError::Network(_) | ClientError::Malformed(_) => false,
        }
    }

    /// How long the server asked us to wait before the next try, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A client of one account's eventstream.
#[derive(Debug, Clone)]
pub struct EventstreamClient {
    http: reqwest::Client,
    url: Url,
    account: AccountName,
    credentials: Credentials,
    auth: AuthScheme,
}

/// How much longer than `wait` a request may take before it counts as timed out.
const REQUEST_SLACK: Duration = Duration::from_secs(30);

impl EventstreamClient {
    /// `base_url` is the server, e.g. `http://127.0.0.1:8080` (a path prefix is kept).
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        account: AccountName,
        credentials: Credentials,
        auth: AuthScheme,
    ) -> Result<EventstreamClient, ClientError> {
        let bad = |reason: &str| ClientError::BadUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let mut url = Url::parse(base_url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("use http:// or https://"));
        }
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| bad("cannot have a path"))?
            .pop_if_empty()
            .extend(["api", "1", account.as_str(), "eventstream"]);
        Ok(EventstreamClient {
            http,
            url,
            account,
            credentials,
            auth,
        })
    }

    /// The eventstream URL this client reads.
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn account(&self) -> &AccountName {
        &self.account
    }

    /// Reads one page.
    pub async fn fetch(&self, request: &PageRequest) -> Result<Page, ClientError> {
        let mut url = self.url.clone();
        {
            let mut query = url.query_pairs_mut();
            match request.start {
                StartAt::Oldest => {}
                StartAt::Id(id) => {
                    query.append_pair("id", &id.to_string());
                }
                StartAt::Time(ts) => {
                    query.append_pair("ts", &ts_param(ts));
                }
            }
            if let Some(types) = &request.types {
                query.append_pair("eventtypes", &types.join(","));
            }
            if let Some(limit) = request.limit {
                query.append_pair("limit", &limit.to_string());
            }
            if let Some(wait) = request.wait.filter(|w| !w.is_zero()) {
                query.append_pair("wait", &wait.as_secs().to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let timeout = request.wait.unwrap_or_default() + REQUEST_SLACK;
        let builder = self
            .http
            .get(url)
            .timeout(timeout)
            .header(header::ACCEPT, "application/json");
        let builder = match self.auth {
            AuthScheme::Basic => builder.basic_auth(
                &self.credentials.accesskey,
                Some(&self.credentials.secretkey),
            ),
            AuthScheme::Hmac => {
                let ts = Timestamp::now().to_string();
                builder.header(
                    header::AUTHORIZATION,
                    HmacAuthorization::header_value(
                        &self.credentials.accesskey,
                        self.account.as_str(),
                        &ts,
                        &self.credentials.secretkey,
                    ),
                )
            }
        };
        let response = builder
            .send()
            .await
            .map_err(|e| ClientError::Network(error_chain(&e)))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = read_body(response).await?;
        if !status.is_success() {
            return Err(ClientError::Status {
                status,
                message: error_message(&body),
                retry_after,
            });
        }
        parse_page(body)
    }
}

/// The whole body, in one buffer that becomes the page's text without another copy.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, ClientError> {
    // A length the server announces is trusted only as a hint: the buffer still grows
    // as the bytes come, and a page is at most a few MB.
    const MAX_HINT: u64 = 64 << 20;
    let hint = response.content_length().unwrap_or(0).min(MAX_HINT);
    let mut body = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ClientError::Network(error_chain(&e)))?
    {
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `ts` as the API reads it: UTC with an offset, and milliseconds when there are any
/// (`--start now` must not reach back to the start of its second).
fn ts_param(ts: Timestamp) -> String {
    match ts.unix_ms().rem_euclid(1000) {
        0 => format!("{ts}+0000"),
        ms => format!("{ts}.{ms:03}+0000"),
    }
}

pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}

/// The `message` of a JSON error body, or the start of the body as text.
fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ApiError {
        message: String,
    }
    match serde_json::from_slice::<ApiError>(body) {
        Ok(e) => e.message,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            match text.char_indices().nth(200) {
                Some((cut, _)) => format!("{}...", &text[..cut]),
                None => text.to_owned(),
            }
        }
    }
}

/// An error with its causes, on one line: reqwest's own message is often just
/// "error sending request".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn builds_the_eventstream_url_and_query() {
        let client = EventstreamClient::new(
            reqwest::Client::new(),
            "http://example.test/prefix/",
            AccountName::parse("demo").unwrap(),
            Credentials {
                accesskey: "a".into(),
                secretkey: "s".into(),
            },
            AuthScheme::Basic,
        )
        .unwrap();
        assert_eq!(
            client.url().as_str(),
            "http://example.test/prefix/api/1/demo/eventstream"
        );
        assert!(
            EventstreamClient::new(
                reqwest::Client::new(),
                "ftp://x",
                AccountName::parse("demo").unwrap(),
                Credentials {
                    accesskey: "a".into(),
                    secretkey: "s".into()
                },
                AuthScheme::Basic,
            )
            .is_err()
        );
    }

    #[test]
    fn ts_keeps_milliseconds() {
        let ts: Timestamp = "2022-09-13T11:46:25.042Z".parse().unwrap();
        assert_eq!(ts_param(ts), "2022-09-13T11:46:25.042+0000");
        assert_eq!(ts_param(ts_param(ts).parse().unwrap()), ts_param(ts));
        let whole: Timestamp = "2022-09-13T11:46:25".parse().unwrap();
        assert_eq!(ts_param(whole), "2022-09-13T11:46:25+0000");
    }

    #[test]
    fn classifies_statuses() {
        let status = |code: u16| ClientError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            message: String::new(),
            retry_after: None,
        };
        assert!(status(401).is_permanent());
        assert!(status(403).is_permanent());
        assert!(status(400).is_permanent());
        assert!(!status(429).is_permanent());
        assert!(!status(408).is_permanent());
        assert!(!status(503).is_permanent());
        assert!(!ClientError::Network("x".into()).is_permanent());
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = Credentials {
            accesskey: "ak".into(),
            secretkey: "very-secret".into(),
        };
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
