//! The ticketstream HTTP application.
//!
//! [`run`] serves an already bound listener until `shutdown` resolves, so the binary binds
//! the configured address and tests bind port 0. Background loops (retention, reservation
//! expiry, the outbox relay) run beside the server and stop with it; the relay drains the
//! outbox after the last request has finished, before [`run`] returns.

mod api;
mod app;
mod background;
mod metrics;
mod pages;
mod relay;
mod serve;

pub use app::{App, AppConfig};

use std::future::Future;
use std::io;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets
/// requests in flight finish (long-polls answer at once with what they have, SSE streams
/// end), relays what they committed and stops the background loops.
pub async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    run_with_metrics(listener, None, app, shutdown).await
}

/// [`run`], and serves `GET /metrics` (Prometheus text format) on `metrics_listener`
/// until shutdown starts. That listener is apart from the public one and unauthenticated:
/// bind it to an address only monitoring reaches.
pub async fn run_with_metrics(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    // Ends long-polls, streams and the periodic loops as soon as shutdown starts.
    let stopping = CancellationToken::new();
    // Ends the relay only once no request can commit anything any more.
    let requests_done = CancellationToken::new();
    let background = background::spawn(&app, stopping.clone(), requests_done.clone());
    let header_read_timeout = app.config.header_read_timeout;
    let metrics_server = metrics_listener.map(|listener| {
        let router = metrics::router(app.metrics.clone());
        tokio::spawn(serve::serve(
            listener,
            router,
            header_read_timeout,
            stopping.clone().cancelled_owned(),
        ))
    });
    let router = api::router(app, stopping.clone());
    let on_shutdown = {
        let stopping = stopping.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            stopping.cancel();
        }
    };
    serve::serve(listener, router, header_read_timeout, on_shutdown).await;
    stopping.cancel();
    requests_done.cancel();
    background.join().await;
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    Ok(())
}
