//! The eventstream as Server-Sent Events (`Accept: text/event-stream`, spec section 5):
//! `id:` the item id, `event:` its type, `data:` the item JSON. A reconnecting client
//! resumes after `Last-Event-ID`; a comment is sent at least every 15 s so proxies keep
//! the connection open. A gap is announced once, as soon as it is found, as an
//! `event: gap` before the items after it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use eventlog::{EventLog, ReadRequest};
use futures_util::stream::{self, Stream, StreamExt};
use protocol::{AccountName, ItemId, StartAt};

use super::limits::Admission;
use crate::App;
use crate::metrics::{Metrics, OpenGuard};
use tokio_util::sync::CancellationToken;

const HEARTBEAT: Duration = Duration::from_secs(15);

struct Cursor {
    log: EventLog,
    account: AccountName,
    request: ReadRequest,
    stopping: CancellationToken,
    metrics: Arc<Metrics>,
    /// Held for as long as the stream is open: it counts as an open stream of its key.
    _admission: Admission,
    _open: OpenGuard,
}

pub(crate) fn stream(
    app: &App,
    account: AccountName,
    request: ReadRequest,
    stopping: CancellationToken,
    admission: Admission,
) -> Response {
    let cursor = Cursor {
        log: app.log.clone(),
        account,
        request,
        stopping,
        metrics: Arc::clone(&app.metrics),
        _admission: admission,
        _open: Metrics::open(&app.metrics.sse_streams),
    };
    Sse::new(events(cursor))
        .keep_alive(KeepAlive::new().interval(HEARTBEAT))
        .into_response()
}

fn events(cursor: Cursor) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(Some(cursor), |cursor| async move {
        let mut cursor = cursor?;
        let page = tokio::select! {
            page = cursor.log.read_wait(&cursor.account, &cursor.request, HEARTBEAT) => page,
            _ = cursor.stopping.cancelled() => return None,
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                tracing::error!(error = %e, "event stream read failed; closing the stream");
                return None;
            }
        };
        cursor.metrics.items_served.inc_by(page.items.len() as u64);
        let mut out = Vec::with_capacity(page.items.len() + 1);
        if page.gap {
            out.push(Ok(gap_event(cursor.request.start, page.oldest_id)));
        }
        for item in &page.items {
            out.push(Ok(Event::default()
                .id(item.id.to_string())
                .event(&*item.kind)
                .data(item.json_str())));
        }
        cursor.request.start = StartAt::Id(page.next_id);
        Some((stream::iter(out), Some(cursor)))
    })
    .flatten()
}

/// `event: gap` with `{"requested", "oldestid"}`; `oldestid` is `null` when nothing is
/// retained, as in the JSON page. The cursor moves past the deleted items after it, so a
/// stream announces each loss once.
fn gap_event(start: StartAt, oldest: Option<ItemId>) -> Event {
    let requested = match start {
        StartAt::Id(id) => Some(id.to_string()),
        StartAt::Time(ts) => Some(ts.to_string()),
        StartAt::Oldest => None,
    };
    let data = serde_json::json!({
        "requested": requested,
        "oldestid": oldest.map(|id| id.to_string()),
    });
    Event::default().event("gap").data(data.to_string())
}
