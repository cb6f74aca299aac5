//! The pages' one error type: an HTML page with the right status, never a stack trace.
//! Server faults are logged here, once.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::i18n::Texts;

#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("your session has expired: please start again from the original link")]
    NoSession,
    #[error("too many requests from your address: please wait a moment and try again")]
    TooManyRequests { retry_after: u64 },
    /// A store cannot be reached for now; nothing was changed. The detail goes to the log.
    #[error(
        "the shop is briefly unavailable and nothing was changed: please try again in a moment"
    )]
    Unavailable(String),
    #[error("something went wrong on our side; please try again")]
    Internal(String),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: &'static Texts,
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match &self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::NoSession => StatusCode::FORBIDDEN,
            PageError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            PageError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "page failed: store unavailable");
                StatusCode::SERVICE_UNAVAILABLE
            }
            PageError::Internal(detail) => {
                tracing::error!(error = %detail, "page failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let retry_after = match &self {
            PageError::TooManyRequests { retry_after } => Some(retry_after.to_string()),
            // Reconnecting takes about a second.
            PageError::Unavailable(_) => Some("1".to_owned()),
            _ => None,
        };
        let message = self.to_string();
        let page = ErrorPage {
            t: Texts::for_lang(None),
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error"),
            message: &message,
        };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        };
        if let Some(seconds) = retry_after.and_then(|s| HeaderValue::from_str(&s).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        response
    }
}

impl From<shop::Error> for PageError {
    fn from(e: shop::Error) -> Self {
        match e {
            shop::Error::NoSession => PageError::NoSession,
            shop::Error::Rule(rule) => PageError::BadRequest(rule.to_string()),
            other if other.is_unavailable() => PageError::Unavailable(other.to_string()),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(format!("template: {e}"))
    }
}
