//! What the forwarder tests share: a client of the fake servers they start, and waiting.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::MethodRouter;
use consumer::{AuthScheme, Credentials, EventstreamClient};

/// Serves `route` as the eventstream of every account, on a free loopback port; returns
/// the base URL.
pub(crate) async fn serve_eventstream<S: Clone + Send + Sync + 'static>(
    route: MethodRouter<S>,
    state: S,
) -> String {
    let app = Router::new()
        .route("/api/1/{account}/eventstream", route)
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A client of account `club` at `url`.
pub(crate) fn client(url: &str, auth: AuthScheme) -> EventstreamClient {
    EventstreamClient::new(
        reqwest::Client::new(),
        url,
        "club".parse().unwrap(),
        Credentials {
            accesskey: "142dda885ec6024f934a40c1".into(),
            secretkey: "abd2e5893bd447dc7331af1db8df42fdc62fc5c8f9f04784".into(),
        },
        auth,
    )
    .unwrap()
}

/// Polls `done` until it holds; fails the test after 20 s.
pub(crate) async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
