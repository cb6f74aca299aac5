//! `GET /api/1/{account}/eventstream` (spec section 5). Items are spliced into the page as
//! the bytes the log stored at append; nothing is parsed or serialized again on read.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use eventlog::ReadRequest;
use protocol::{EventstreamQuery, ItemId, StartAt};

use super::ApiState;
use super::auth::authorize;
use super::error::ApiError;
use super::page_body::page_response;

pub(crate) async fn get(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let entry = state.limits.enter()?;
    let Path(account) = path.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let who = authorize(&state.app, &state.keys, &headers, &account).await?;
    state.limits.check_rate(&who.accesskey)?;
    let account = who.account;

    let raw: protocol::RawQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
    let query = EventstreamQuery::parse(&raw).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let mut request = ReadRequest {
        start: query.start,
        types: query.types,
        limit: query.limit,
    };

    if wants_event_stream(&headers) {
        if let Some(last) = last_event_id(&headers)? {
            request.start = StartAt::Id(last.successor());
        }
        let admission = state.limits.admit_stream(entry, &who.accesskey)?;
        return Ok(super::sse::stream(
            &state.app,
            account,
            request,
            state.stopping.clone(),
            admission,
        ));
    }
    let _admission = state.limits.admit_request(entry, &who.accesskey)?;

    let log = &state.app.log;
    let metrics = &state.app.metrics;
    let page = if query.wait.is_zero() {
        log.read(&account, &request).await?
    } else {
        let _open = crate::metrics::Metrics::open(&metrics.long_polls);
        tokio::select! {
            page = log.read_wait(&account, &request, query.wait) => page?,
            // Shutting down: answer now with what there is instead of holding the
            // request until the wait ends.
            _ = state.stopping.cancelled() => log.read(&account, &request).await?,
        }
    };
    metrics.items_served.inc_by(page.items.len() as u64);
    Ok(page_response(&page))
}

fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().starts_with("text/event-stream"))
        })
}

/// A reconnecting SSE client's position: it has the item with this id. An empty value is
/// what a client sends before it has seen any item, so it counts as absent.
fn last_event_id(headers: &HeaderMap) -> Result<Option<ItemId>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let malformed = || ApiError::BadRequest("header Last-Event-ID: not an item id".into());
    let value = value.to_str().map_err(|_| malformed())?.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value.parse().map(Some).map_err(|_| malformed())
}
