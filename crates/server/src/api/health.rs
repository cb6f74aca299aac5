//! Health and readiness, for load balancers and orchestrators.
//!
//! `/healthz` says the process serves HTTP at all. `/readyz` says it can do its work now:
//! both stores answer within [`CHECK_TIMEOUT`]. A store that is down makes it 503 (a load
//! balancer then sends shoppers elsewhere), and it turns 200 again by itself once the
//! store is back. The body names each store's state and whether this process relays the
//! outbox; the reasons go to the log, not to the body.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::App;

/// A check that takes longer counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

pub(crate) async fn readyz(State(app): State<App>) -> Response {
    let (shop, log) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, app.shop.ping()),
        tokio::time::timeout(CHECK_TIMEOUT, app.log.ping()),
    );
    let shop = verdict(
        "shop store",
        shop.map_err(|_| "no answer in time".to_owned())
            .and_then(|r| r.map_err(|e| e.to_string())),
    );
    let log = verdict(
        "event log",
        log.map_err(|_| "no answer in time".to_owned())
            .and_then(|r| r.map_err(|e| e.to_string())),
    );
    let ready = shop.is_ok() && log.is_ok();
    let relay = if app.relay.leading() {
        "relays the outbox"
    } else {
        "stands by (another process relays the outbox)"
    };
    let body = format!(
        "{}\nshop store: {}\nevent log: {}\nrelay: {relay}\n",
        if ready { "ready" } else { "not ready" },
        shop.unwrap_or_else(|e| e),
        log.unwrap_or_else(|e| e),
    );
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `Ok("ok")`, or `Err("unavailable")` after logging why.
fn verdict(store: &str, outcome: Result<(), String>) -> Result<&'static str, &'static str> {
    match outcome {
        Ok(()) => Ok("ok"),
        Err(reason) => {
            tracing::warn!(store, error = %reason, "not ready");
            Err("unavailable")
        }
    }
}
