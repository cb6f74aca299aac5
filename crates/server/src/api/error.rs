//! The JSON API's one error type: it picks the status, writes `{"code", "message"}` and
//! is the single place where server-side failures are logged.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("no such endpoint")]
    NotFound,
    #[error("this key polls too fast: wait {retry_after} s, or use `wait` to long-poll")]
    TooManyRequests { retry_after: u64 },
    #[error("this key already has {cap} {what}: wait for one to end")]
    KeyBusy { what: &'static str, cap: usize },
    #[error("the server is busy: try again in {retry_after} s")]
    Overloaded { retry_after: u64 },
    /// A store is unreachable for now (e.g. Redis is restarting); details go to the log.
    #[error("the eventstream is unavailable: try again in {retry_after} s")]
    Unavailable { detail: String, retry_after: u64 },
    /// A status a layer or the router chose (405, 408, 413, 414, 431, ...), with its message.
    #[error("{message}")]
    Http {
        status: StatusCode,
        message: &'static str,
    },
    /// Details go to the log, never to the client.
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    code: u16,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::TooManyRequests { .. } | ApiError::KeyBusy { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unavailable { detail, .. } => {
                tracing::warn!(error = %detail, "request failed: store unavailable");
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Http { status, .. } => *status,
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = self.to_string();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after }
            | ApiError::Overloaded { retry_after }
            | ApiError::Unavailable { retry_after, .. } => Some(*retry_after),
            ApiError::KeyBusy { .. } => Some(1),
            _ => None,
        };
        let mut response = (
            status,
            axum::Json(Body {
                code: status.as_u16(),
                message: &message,
            }),
        )
            .into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="ticketstream", TM-HMAC-SHA256"#),
            );
        }
        response
    }
}

impl From<eventlog::Error> for ApiError {
    fn from(e: eventlog::Error) -> Self {
        if e.is_unavailable() {
            // Reconnecting takes about a second; a client that retries sooner gets this again.
            return ApiError::Unavailable {
                detail: format!("event log: {e}"),
                retry_after: 1,
            };
        }
        ApiError::Internal(format!("event log: {e}"))
    }
}

impl From<shop::Error> for ApiError {
    fn from(e: shop::Error) -> Self {
        if e.is_unavailable() {
            // The keys live in the shop store: without it no request can be authenticated.
            return ApiError::Unavailable {
                detail: format!("shop store: {e}"),
                retry_after: 1,
            };
        }
        ApiError::Internal(e.to_string())
    }
}

/// No route: JSON under `/api/`, where clients are programs; a page anywhere else, where
/// they are people with a browser.
pub(crate) async fn not_found(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound.into_response()
    } else {
        crate::pages::not_found(&headers)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use eventlog::{Backend, EventLog, KeyPrefix, OpenOptions, RedisUrl};

    use super::*;

    /// A store that cannot be reached is a 503 with Retry-After, not a 500.
    #[tokio::test]
    async fn an_unreachable_event_log_is_503() {
        // Port 1 (tcpmux) has no Redis anywhere this runs.
        let err = EventLog::open(OpenOptions::new(Backend::Redis {
            url: RedisUrl::parse("redis://127.0.0.1:1/0").unwrap(),
            prefix: KeyPrefix::default(),
        }))
        .await
        .unwrap_err();
        let response = ApiError::from(err).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
