//! The eventstream as Server-Sent Events (`Accept: text/event-stream`, spec section 5):
//! `id:` the item id, `event:` its type, `data:` the item JSON. A reconnecting client
//! resumes after `Last-Event-ID`; a comment is sent at least every 15 s so proxies keep
//! the connection open. A gap is announced as an `event: gap` before the items after it.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use eventlog::{EventLog, ReadRequest};
use futures_util::stream::{self, Stream, StreamExt};
use protocol::{AccountName, StartAt};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

const HEARTBEAT: Duration = Duration::from_secs(15);

struct Cursor {
    log: EventLog,
    account: AccountName,
    request: ReadRequest,
    stopping: CancellationToken,
    /// Held for as long as the stream is open: it counts as a request in flight.
    _permit: OwnedSemaphorePermit,
}

pub(crate) fn stream(
    log: EventLog,
    account: AccountName,
    request: ReadRequest,
    stopping: CancellationToken,
    permit: OwnedSemaphorePermit,
) -> Response {
    let cursor = Cursor {
        log,
        account,
        request,
        stopping,
        _permit: permit,
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
        let mut out = Vec::with_capacity(page.items.len() + 1);
        if page.gap {
            let requested = match cursor.request.start {
                StartAt::Id(id) => id.to_string(),
                _ => String::new(),
            };
            let oldest = page.oldest_id.map(|id| id.to_string()).unwrap_or_default();
            out.push(Ok(Event::default().event("gap").data(format!(
                r#"{{"requested":"{requested}","oldestid":"{oldest}"}}"#
            ))));
        }
        for item in &page.items {
            out.push(Ok(Event::default()
                .id(item.id.to_string())
                .event(item.kind.as_str())
                .data(item.json.as_ref())));
        }
        cursor.request.start = StartAt::Id(page.next_id);
        Some((stream::iter(out), Some(cursor)))
    })
    .flatten()
}
