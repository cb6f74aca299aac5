//! Every answer under `/api/` is JSON `{"code","message"}` (spec section 5), also the
//! errors no handler wrote: 405 from the router, 408 and 413 from the timeout and body
//! limit layers, and any other plain-text or empty error a layer may produce.
//!
//! Oversized requests are refused here too, with JSON, well below hyper's own limits: a
//! request-target over [`MAX_URI_BYTES`] gets 414, a header section over
//! [`MAX_HEADER_BYTES`] or [`MAX_HEADERS`] fields gets 431. Beyond hyper's limits (a
//! request-target of 65534 bytes or more, more than 100 header fields, or a request head
//! larger than its read buffer, about 400 KB) hyper itself answers 414 or 431 with an
//! empty body and closes the connection before any of our code runs.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The longest request-target (path and query) the API takes. The longest useful one, an
/// `eventtypes` list of 64 names with the other parameters, is a few kilobytes.
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// The largest header section the API takes, counting each field as `name: value\r\n`.
pub(crate) const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header fields the API takes (hyper refuses more than 100 on its own).
pub(crate) const MAX_HEADERS: usize = 64;

const URI_TOO_LONG: &str = "URI too long: the API takes at most 8192 bytes of path and query";
const HEADERS_TOO_LARGE: &str =
    "request headers too large: the API takes at most 64 fields and 32768 bytes";

/// The middleware: size checks before, JSON errors after, for `/api/` paths only (the
/// pages answer errors as HTML pages).
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    if let Some(refused) = oversized(&request) {
        return refused.into_response();
    }
    let response = next.run(request).await;
    as_json(response)
}

fn oversized(request: &Request) -> Option<ApiError> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(ApiError::Http {
            status: StatusCode::URI_TOO_LONG,
            message: URI_TOO_LONG,
        });
    }
    let headers = request.headers();
    if headers.len() > MAX_HEADERS || header_bytes(headers) > MAX_HEADER_BYTES {
        return Some(ApiError::Http {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            message: HEADERS_TOO_LARGE,
        });
    }
    None
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// An error response that is not JSON becomes `{"code","message"}` with the same status;
/// `Allow` (of a 405) and `Retry-After` are kept.
fn as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let mut json = ApiError::Http {
        status,
        message: message(status),
    }
    .into_response();
    for kept in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&kept) {
            json.headers_mut().insert(kept, value.clone());
        }
    }
    json
}

fn message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed: the eventstream is read with GET",
        StatusCode::REQUEST_TIMEOUT => "the request took too long to answer: try again",
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large: the API reads no body",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported media type",
        other => other.canonical_reason().unwrap_or("request failed"),
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// A router whose handlers answer like layers do: plain text or nothing.
    fn router() -> Router {
        Router::new()
            .route(
                "/api/text/{status}",
                get(
                    |axum::extract::Path(status): axum::extract::Path<u16>| async move {
                        (
                            StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
                            "plain",
                        )
                    },
                ),
            )
            .route(
                "/pages/text",
                get(|| async { (StatusCode::UNSUPPORTED_MEDIA_TYPE, "plain") }),
            )
            .layer(axum::middleware::from_fn(json_errors))
    }

    async fn call(uri: &str) -> (StatusCode, HeaderMap, String) {
        let response = router()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    #[test]
    fn messages_state_the_limits() {
        assert!(URI_TOO_LONG.contains(&MAX_URI_BYTES.to_string()));
        assert!(HEADERS_TOO_LARGE.contains(&MAX_HEADERS.to_string()));
        assert!(HEADERS_TOO_LARGE.contains(&MAX_HEADER_BYTES.to_string()));
    }

    #[tokio::test]
    async fn plain_errors_under_api_become_json_with_their_status() {
        for status in [405, 408, 413, 415, 418, 500, 503] {
            let (got, headers, body) = call(&format!("/api/text/{status}")).await;
            assert_eq!(got.as_u16(), status);
            assert_eq!(headers[header::CONTENT_TYPE], "application/json");
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["code"], status, "{body}");
            assert!(!body["message"].as_str().unwrap().is_empty());
        }
        // Successes and other paths are left alone.
        let (_, _, body) = call("/api/text/200").await;
        assert_eq!(body, "plain");
        let (status, _, body) = call("/pages/text").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "plain")
        );
    }
}
