//! The HTTP surface: routes and the layers every request passes through.

mod api_keys;
mod auth;
mod error;
mod eventstream;
mod health;
mod json_errors;
mod key_slots;
mod limits;
mod page_body;
mod sse;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::App;

/// State of the API handlers: the app plus the shutdown token that ends long-polls.
#[derive(Debug, Clone)]
pub(crate) struct ApiState {
    pub(crate) app: App,
    pub(crate) stopping: CancellationToken,
    pub(crate) limits: std::sync::Arc<limits::Limits>,
    pub(crate) keys: std::sync::Arc<api_keys::ApiKeys>,
}

/// Requests never need a body larger than this; bigger ones get 413 before any handler.
const MAX_BODY: usize = 64 * 1024;

pub(crate) fn router(app: App, stopping: CancellationToken) -> Router {
    let limits = std::sync::Arc::new(limits::Limits::new(&app.config));
    let request_timeout = app.config.request_timeout;
    let metrics = app.metrics.clone();
    let state = ApiState {
        app,
        stopping,
        limits,
        keys: std::sync::Arc::default(),
    };
    let api = Router::new()
        .route("/api/1/{account}/eventstream", get(eventstream::get))
        .route("/healthz", get(health::healthz))
        .with_state(state.clone());
    let readiness = Router::new()
        .route("/readyz", get(health::readyz))
        .with_state(state.app.clone());
    Router::new()
        .merge(api)
        .merge(readiness)
        .merge(crate::pages::router(state.app))
        .fallback(error::not_found)
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        // Outside the layers above, so that their answers become JSON too.
        .layer(axum::middleware::from_fn(json_errors::json_errors))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Outermost, so the status counted is the one the client got.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::http::track,
        ))
}

/// The span of every request, API and pages: method and path, never the query string. A
/// query carries a shopper's `ref` (and widget signatures), which must not reach any log
/// at any level; the default span would record the whole URI.
fn request_span(request: &Request<Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}
