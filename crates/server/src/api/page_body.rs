//! The body of an eventstream page, written straight from the log's buffers.
//!
//! The `results` of a page are slices of the buffers the log keeps its items in; the
//! body hands them to hyper one after the other with the exact length known up front, so
//! the page is sent with `Content-Length` and vectored writes, and no item byte is copied
//! on its way to the socket.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use eventlog::ReadPage;
use http_body::{Body, Frame, SizeHint};

/// A body of a few buffers, sent in order.
#[derive(Debug)]
pub(crate) struct PageBody {
    parts: VecDeque<Bytes>,
    remaining: u64,
}

impl PageBody {
    fn new(parts: VecDeque<Bytes>) -> Self {
        let remaining = parts.iter().map(|p| p.len() as u64).sum();
        PageBody { parts, remaining }
    }
}

impl Body for PageBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.parts.pop_front();
        if let Some(part) = &next {
            self.remaining -= part.len() as u64;
        }
        Poll::Ready(next.map(|part| Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// `{"results":[..],"nextid":..,"moreresults":..,"oldestid":..,"gap":..}` (spec section 5).
pub(crate) fn page_response(page: &ReadPage) -> Response {
    let joined = page.joined_items();
    let mut parts = VecDeque::with_capacity(joined.len() * 2 + 2);
    parts.push_back(Bytes::from_static(br#"{"results":["#));
    for (i, run) in joined.iter().enumerate() {
        if i > 0 {
            parts.push_back(Bytes::from_static(b","));
        }
        parts.push_back(run.clone());
    }
    let oldest = page
        .oldest_id
        .map_or_else(|| "null".to_owned(), |id| format!(r#""{id}""#));
    parts.push_back(Bytes::from(format!(
        r#"],"nextid":"{}","moreresults":{},"oldestid":{oldest},"gap":{}}}"#,
        page.next_id, page.more, page.gap
    )));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        axum::body::Body::new(PageBody::new(parts)),
    )
        .into_response()
}
