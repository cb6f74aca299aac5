//! `--metrics ADDR`: Prometheus text metrics at `/metrics`, on a tiny HTTP server of its
//! own (not the webshop's).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use consumer::SinkMetrics;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

type Sinks = Arc<Vec<(String, Arc<SinkMetrics>)>>;

/// Binds now (so a taken port fails the start), serves until `stop`.
pub(crate) async fn spawn(
    addr: SocketAddr,
    sinks: Vec<(String, Arc<SinkMetrics>)>,
    stop: CancellationToken,
) -> anyhow::Result<JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for --metrics"))?;
    let local = listener.local_addr()?;
    tracing::info!(metrics = %format!("http://{local}/metrics"), "serving metrics");
    let sinks: Sinks = Arc::new(sinks);
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let sinks = Arc::clone(&sinks);
            async move { render(&sinks) }
        }),
    );
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the metrics server failed");
        }
    }))
}

fn render(sinks: &Sinks) -> impl IntoResponse + use<> {
    let text = consumer::render_prometheus(
        sinks
            .iter()
            .map(|(name, metrics)| (name.as_str(), metrics.snapshot()))
            .collect::<Vec<_>>(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
