//! How an HTTP destination's answer becomes a sink result; shared by the webhook, GA4 and
//! Matomo sinks, whose receivers answer alike: 2xx accepted, 408/429/5xx and network
//! failures worth retrying (after the receiver's `Retry-After` when it sends one), any
//! other status a refusal for good.

use std::time::Duration;

use reqwest::StatusCode;

use crate::SinkError;

/// How long one request to a destination may take before it counts as a (retryable)
/// failure. The client the sink was given may have no timeout of its own.
pub(in crate::sink) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The result of a non-2xx status. `body` goes into the message, shortened: a refusal
/// usually says why.
pub(in crate::sink) fn status_error(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &str,
) -> SinkError {
    let body = body.trim();
    let shown: String = body.chars().take(300).collect();
    let message = if shown.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {shown}")
    };
    if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        match retry_after {
            Some(retry_after) => SinkError::Throttled {
                reason: message,
                retry_after,
            },
            None => SinkError::Retryable(message),
        }
    } else {
        SinkError::Permanent(message)
    }
}

/// A request that got no answer (connection refused, timeout, reset). The URL is left
/// out of the message: GA4's carries the API secret in its query string.
pub(in crate::sink) fn transport_error(error: reqwest::Error) -> SinkError {
    let timeout = error.is_timeout();
    let error = error.without_url();
    if timeout {
        SinkError::Retryable(format!("no answer within {REQUEST_TIMEOUT:?}: {error}"))
    } else {
        SinkError::Retryable(format!("request failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        for status in [500, 502, 503, 408, 429] {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            assert!(matches!(
                status_error(status, None, ""),
                SinkError::Retryable(_)
            ));
            assert!(matches!(
                status_error(status, Some(Duration::from_secs(9)), ""),
                SinkError::Throttled { retry_after, .. } if retry_after == Duration::from_secs(9)
            ));
        }
        for status in [400, 401, 403, 404, 413] {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            assert!(matches!(
                status_error(status, Some(Duration::from_secs(9)), "x"),
                SinkError::Permanent(_)
            ));
        }
        let long = "y".repeat(1000);
        let SinkError::Permanent(message) = status_error(StatusCode::BAD_REQUEST, None, &long)
        else {
            panic!("400 is permanent");
        };
        assert!(message.len() < 400, "{message}");
    }
}
