//! The outbox relay: moves committed outbox rows into the event log, which assigns their
//! ids, then deletes them from the outbox.
//!
//! Each batch is appended per account with the id of its last row as the source
//! position, stored by the log in the same commit. After a crash between the append and
//! the delete, the rows at or below the log's position are recognised and only deleted:
//! nothing is lost and nothing is appended twice.

use std::time::Duration;

use eventlog::NewItem;
use shop::OutboxRow;
use tokio_util::sync::CancellationToken;

use crate::App;

/// Rows moved per round trip: large enough to amortise the log's fsync under load.
const BATCH: usize = 1000;
/// A safety net: rows are normally relayed the moment the shop signals a commit.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// The pause after a failed pass, so a failing store is not hammered.
const RETRY_AFTER_ERROR: Duration = Duration::from_millis(200);

/// Runs until `requests_done` (no request can commit any more), then relays what is left
/// and returns. Every wait, the pause after an error included, ends on it, so a store
/// that keeps failing cannot hold up shutdown.
pub(crate) async fn run(app: App, requests_done: CancellationToken) {
    let signal = app.shop.outbox_signal();
    loop {
        let failed = match relay_all(&app).await {
            Ok(_) => false,
            Err(e) => {
                tracing::error!(error = %e, "outbox relay failed; retrying");
                true
            }
        };
        tokio::select! {
            _ = requests_done.cancelled() => break,
            // After a failure, retry after the pause, not at every commit.
            _ = signal.notified(), if !failed => {}
            _ = tokio::time::sleep(if failed { RETRY_AFTER_ERROR } else { IDLE_POLL }) => {}
        }
    }
    // Every request has finished: what they committed still goes out.
    if let Err(e) = relay_all(&app).await {
        tracing::error!(error = %e, "outbox relay failed at shutdown; the rows stay in the outbox for the next start");
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    #[error("{0}")]
    Shop(#[from] shop::Error),
    #[error("{0}")]
    Log(#[from] eventlog::Error),
}

/// Relays until the outbox is empty. Returns how many rows were appended.
pub(crate) async fn relay_all(app: &App) -> Result<usize, RelayError> {
    let mut appended = 0;
    loop {
        let rows = app.shop.outbox_batch(BATCH).await?;
        if rows.is_empty() {
            return Ok(appended);
        }
        let ids = rows.iter().map(|r| r.id).collect();
        appended += relay_batch(app, rows).await?;
        app.shop.outbox_delete(ids).await?;
    }
}

async fn relay_batch(app: &App, rows: Vec<OutboxRow>) -> Result<usize, RelayError> {
    let mut appended = 0;
    // Rows come in commit order; keep that order within each account.
    let mut groups: Vec<(protocol::AccountName, Vec<OutboxRow>)> = Vec::new();
    for row in rows {
        match groups.iter_mut().find(|(a, _)| *a == row.account) {
            Some((_, group)) => group.push(row),
            None => groups.push((row.account.clone(), vec![row])),
        }
    }
    for (account, group) in groups {
        let done = app.log.source_position(&account).await?.unwrap_or(0);
        let fresh: Vec<OutboxRow> = group.into_iter().filter(|r| r.id > done).collect();
        let Some(position) = fresh.last().map(|r| r.id) else {
            continue;
        };
        let items: Vec<NewItem> = fresh
            .into_iter()
            .map(|r| NewItem {
                ts: r.ts,
                kind: r.kind,
                data: r.data,
            })
            .collect();
        appended += items.len();
        app.log.append(&account, items, Some(position)).await?;
    }
    Ok(appended)
}
