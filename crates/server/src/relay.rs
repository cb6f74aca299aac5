//! The outbox relay: moves committed outbox rows into the event log, which assigns their
//! ids, then deletes them from the outbox.
//!
//! Only the process whose turn it is relays ([`shop::ShopStore::relay_turn`]): with
//! SQLite that is the one process; with PostgreSQL, the holder of an advisory lock, woken
//! by the commits of every process. Each batch is appended per account together with the
//! ids of the rows it carries, and the log leaves out, in the same atomic step, any row
//! an earlier append already carried. Rows are then deleted by id. So a row is never
//! skipped (a row that commits late, after rows with larger ids were relayed, is simply
//! read by a later pass) and never appended twice (after a crash between the append and
//! the delete, the next pass finds the rows carried and only deletes them).

use std::time::Duration;

use eventlog::RowItem;
use shop::OutboxRow;
use tokio_util::sync::CancellationToken;

use crate::App;

/// Rows moved per round trip: large enough to amortise the log's fsync under load.
const BATCH: usize = 1000;
/// A safety net: rows are normally relayed the moment a commit is signalled.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// The pause after a failed pass, so a failing store is not hammered.
const RETRY_AFTER_ERROR: Duration = Duration::from_millis(200);

/// Runs until `requests_done` (no request can commit any more), then, if it is this
/// process's turn, relays what is left and returns. Every wait, the pause after an error
/// included, ends on it, so a store that keeps failing cannot hold up shutdown.
pub(crate) async fn run(app: App, requests_done: CancellationToken) {
    let signal = app.shop.outbox_signal();
    // Kept until the final drain is done: dropping it hands the turn to another process.
    let mut turn = app.shop.relay_turn();
    loop {
        let mine = turn.is_mine();
        app.relay.set_leading(mine);
        let failed = mine
            && match relay_all(&app).await {
                Ok(_) => false,
                Err(e) => {
                    tracing::error!(error = %e, "outbox relay failed; retrying");
                    true
                }
            };
        tokio::select! {
            _ = requests_done.cancelled() => break,
            () = turn.changed() => {}
            // After a failure, retry after the pause, not at every commit.
            _ = signal.notified(), if !failed => {}
            _ = tokio::time::sleep(if failed { RETRY_AFTER_ERROR } else { IDLE_POLL }) => {}
        }
    }
    // Every request has finished: what they committed still goes out (or, when another
    // process has the turn, that process relays it).
    if turn.is_mine()
        && let Err(e) = relay_all(&app).await
    {
        tracing::error!(error = %e, "outbox relay failed at shutdown; the rows stay in the outbox for the next start");
    }
    app.relay.set_leading(false);
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    #[error("{0}")]
    Shop(#[from] shop::Error),
    #[error("{0}")]
    Log(#[from] eventlog::Error),
}

/// Relays until the outbox is empty. Returns how many rows were appended.
///
/// A batch shorter than [`BATCH`] held every row committed when it was read, so the
/// pass ends there instead of reading the outbox once more to find it empty: a row
/// committed since has signalled the relay, which then passes again.
pub(crate) async fn relay_all(app: &App) -> Result<usize, RelayError> {
    let mut appended = 0;
    loop {
        let rows = app.shop.outbox_batch(BATCH).await?;
        record_lag(app, rows.first());
        if rows.is_empty() {
            return Ok(appended);
        }
        let full = rows.len() >= BATCH;
        let ids = rows.iter().map(|r| r.id).collect();
        appended += relay_batch(app, rows).await?;
        app.shop.outbox_delete(ids).await?;
        if !full {
            record_lag(app, None);
            return Ok(appended);
        }
    }
}

async fn relay_batch(app: &App, rows: Vec<OutboxRow>) -> Result<usize, RelayError> {
    let mut appended = 0;
    // Rows come in id order; keep that order within each account.
    let mut groups: Vec<(protocol::AccountName, Vec<RowItem>)> = Vec::new();
    for row in rows {
        let item = RowItem {
            row: row.id,
            item: eventlog::NewItem {
                ts: row.ts,
                kind: row.kind,
                data: row.data,
            },
        };
        match groups.iter_mut().find(|(a, _)| *a == row.account) {
            Some((_, group)) => group.push(item),
            None => groups.push((row.account, vec![item])),
        }
    }
    for (account, group) in groups {
        // The kinds of the rows this append carries for the first time, for the metrics.
        let kinds: Vec<(u64, String)> =
            group.iter().map(|r| (r.row, r.item.kind.clone())).collect();
        let done = app.log.append_rows(&account, group).await?;
        if !done.already_carried.is_empty() {
            tracing::info!(
                %account,
                rows = done.already_carried.len(),
                "outbox rows were already in the event log (a relay stopped before deleting them); deleting them only"
            );
        }
        appended += done.ids.len();
        record_appended(
            app,
            kinds
                .into_iter()
                .filter(|(row, _)| !done.already_carried.contains(row))
                .map(|(_, kind)| kind)
                .collect(),
        );
    }
    Ok(appended)
}

/// Metrics: how old the oldest row waiting in the outbox is (0 when none waits).
fn record_lag(app: &App, oldest: Option<&OutboxRow>) {
    let lag_ms = oldest.map_or(0, |row| {
        let now = i64::try_from(app.clock.now_ms()).unwrap_or(i64::MAX);
        now.saturating_sub(row.ts.unix_ms()).max(0)
    });
    app.metrics.relay_lag.set(lag_ms as f64 / 1000.0);
}

/// Metrics: the actions just appended, by type.
fn record_appended(app: &App, kinds: Vec<String>) {
    app.metrics.items_appended.inc_by(kinds.len() as u64);
    for kind in kinds {
        app.metrics
            .tracked_actions
            .get_or_create(&crate::metrics::TypeLabel { r#type: kind })
            .inc();
    }
}
