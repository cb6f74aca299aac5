//! Supervised background loops: retention, reservation expiry and the outbox relay. Each
//! stops on its shutdown token, also while it waits to retry; a failing iteration is
//! logged and retried at the next tick rather than taking the server down.

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::App;

#[derive(Debug)]
pub(crate) struct Background {
    tasks: JoinSet<()>,
}

impl Background {
    pub(crate) async fn join(mut self) {
        while let Some(done) = self.tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "background task panicked");
            }
        }
    }
}

/// The periodic loops stop on `stopping`; the relay runs until `requests_done`, so that
/// what the last requests commit still goes out.
pub(crate) fn spawn(
    app: &App,
    stopping: CancellationToken,
    requests_done: CancellationToken,
) -> Background {
    let mut tasks = JoinSet::new();
    tasks.spawn(retention_loop(app.clone(), stopping.clone()));
    tasks.spawn(expiry_loop(app.clone(), stopping));
    tasks.spawn(crate::relay::run(app.clone(), requests_done));
    Background { tasks }
}

/// Deletes items older than the retention window, so nothing older is kept on disk.
async fn retention_loop(app: App, stopping: CancellationToken) {
    let mut tick = tokio::time::interval(app.config.purge_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopping.cancelled() => return,
            _ = tick.tick() => {}
        }
        match app.log.purge().await {
            Ok(report) => {
                app.metrics.purge_runs.inc();
                app.metrics.purged_items.inc_by(report.deleted);
                if report.deleted > 0 {
                    tracing::info!(deleted = report.deleted, "retention purge");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "retention purge failed; retrying at the next tick")
            }
        }
        record_retained(&app).await;
    }
}

/// Metrics: what the log keeps, after the purge.
async fn record_retained(app: &App) {
    match app.log.stats().await {
        Ok(stats) => {
            let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            if let Some(items) = stats.items {
                app.metrics.retained_items.set(gauge(items));
            }
            if let Some(bytes) = stats.bytes {
                app.metrics.retained_bytes.set(gauge(bytes));
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count the items the event log keeps"),
    }
}

/// Releases the seats of reservations that ran out, and forgets idle sessions.
async fn expiry_loop(app: App, stopping: CancellationToken) {
    let mut tick = tokio::time::interval(app.config.expiry_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopping.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = crate::pages::now(&app);
        match app.shop.expire_orders(now).await {
            Ok(report) => {
                if report.expired > 0 {
                    tracing::info!(orders = report.expired, "reservations expired");
                }
                for (order, e) in report.failed {
                    tracing::error!(%order, error = %e, "expiring a reservation failed; retrying at the next tick");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "expiring reservations failed; retrying at the next tick")
            }
        }
        if let Err(e) = app.shop.purge_sessions(now).await {
            tracing::error!(error = %e, "purging idle sessions failed; retrying at the next tick");
        }
    }
}
