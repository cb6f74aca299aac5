//! The next page, read while the sink still writes the last one.
//!
//! While a backlog is caught up, the time of a page is the server's answer plus parsing
//! it plus the sink's write (and fsync) plus the cursor's. Reading page N+1 while page N
//! is delivered overlaps the first two with the last two. Only the read moves ahead:
//! page N+1 is handed to the sink, and its cursor written, only after page N's cursor,
//! so what a crash repeats is still at most the batch in flight.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::client::{ClientError, EventstreamClient, Page, PageRequest};

/// A read running on its own task. Dropping it cancels the read: a forwarder that stops
/// does not leave requests behind.
#[derive(Debug)]
pub(crate) struct Prefetch {
    /// The answer, and how long the server took to give it.
    task: JoinHandle<(Result<Page, ClientError>, Duration)>,
    request: PageRequest,
}

impl Prefetch {
    pub(crate) fn spawn(client: &EventstreamClient, request: PageRequest) -> Prefetch {
        let client = client.clone();
        let read = request.clone();
        Prefetch {
            task: tokio::spawn(async move {
                let asked = Instant::now();
                let fetched = client.fetch(&read).await;
                (fetched, asked.elapsed())
            }),
            request,
        }
    }

    /// The request it answers.
    pub(crate) fn request(&self) -> &PageRequest {
        &self.request
    }

    /// The page, or why there is none, and how long the server took to answer (which
    /// tells whether it held the request: not the time since it was sent).
    pub(crate) async fn page(&mut self) -> (Result<Page, ClientError>, Duration) {
        match (&mut self.task).await {
            Ok(answered) => answered,
            Err(e) => (
                Err(ClientError::Network(format!("the read task failed: {e}"))),
                Duration::ZERO,
            ),
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
