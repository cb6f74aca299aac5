//! The ticketstream HTTP application.
//!
//! [`run`] serves an already bound listener until `shutdown` resolves, so the binary binds
//! the configured address and tests bind port 0. Background loops (retention, reservation
//! expiry, the outbox relay) run beside the server and stop with it; the relay drains the
//! outbox before [`run`] returns.

mod api;
mod app;
mod background;
mod pages;
mod relay;

pub use app::{App, AppConfig};

use std::future::Future;
use std::io;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets
/// requests in flight finish (long-polls answer at once with what they have) and stops the
/// background loops.
pub async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let stopping = CancellationToken::new();
    let background = background::spawn(&app, stopping.clone());
    let router = api::router(app, stopping.clone());
    let on_shutdown = {
        let stopping = stopping.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            stopping.cancel();
        }
    };
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(on_shutdown)
    .await;
    stopping.cancel();
    background.join().await;
    served
}
