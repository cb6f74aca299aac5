//! Pages read ahead while the sink writes.
//!
//! While a backlog is caught up, the time of a page is the server's answer plus parsing
//! it plus the sink's write (and fsync) plus the cursor's. A read-ahead task reads the
//! pages that follow, one after the other, while the forwarder delivers: reading overlaps
//! writing, and when the sink is the slower side, the pages that piled up meanwhile can
//! go to it as one batch, with one fsync and one cursor write for all of them.
//!
//! Only reads move ahead. What the forwarder hands to the sink, and when it moves the
//! cursor, is unchanged: a batch is delivered, then its cursor written, then the next
//! batch goes; what a crash repeats is at most the batch in flight.

use std::time::Duration;

use protocol::{ItemId, StartAt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::client::{ClientError, EventstreamClient, PageRequest};
use crate::page::Page;

/// One read: what was asked, what came back, and how long the server took to answer
/// (which tells whether it held the request).
#[derive(Debug)]
pub(crate) struct Read {
    pub(crate) request: PageRequest,
    pub(crate) page: Result<Page, ClientError>,
    pub(crate) elapsed: Duration,
}

/// Where reading goes on after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Next {
    /// The id to read from next: never behind the one asked for, whatever a server
    /// answers.
    pub(crate) nextid: ItemId,
    /// The page brought an item to deliver, or moved the position.
    pub(crate) progressed: bool,
    /// More items are waiting at `nextid`: read again at once.
    pub(crate) more: bool,
}

impl Next {
    /// After `page`, read from `start`. Items before the requested id would be a server
    /// fault: they are not delivered, so they are no progress either.
    pub(crate) fn after(start: StartAt, page: &Page) -> Next {
        let requested = requested_id(start);
        let nextid = requested.map_or(page.nextid, |r| page.nextid.max(r));
        let delivers = page
            .results
            .iter()
            .any(|i| requested.is_none_or(|r| i.id() >= r));
        let progressed = delivers || Some(nextid) != requested;
        Next {
            nextid,
            progressed,
            more: page.moreresults && progressed,
        }
    }
}

/// The id a read from `start` asked for, if it asked for one.
pub(crate) fn requested_id(start: StartAt) -> Option<ItemId> {
    match start {
        StartAt::Id(id) => Some(id),
        StartAt::Oldest | StartAt::Time(_) => None,
    }
}

/// A task reading pages from a request on, each from where the last one ended, while
/// the pages say that more items wait; it stops after a page without more, or a failed
/// read, and pauses while `depth` pages wait to be taken. Dropping it stops it: a
/// forwarder that stops does not leave requests behind.
#[derive(Debug)]
pub(crate) struct ReadAhead {
    reads: mpsc::Receiver<Read>,
    /// A read taken from the channel to look at, not yet handed out.
    ready: Option<Read>,
    task: JoinHandle<()>,
}

impl ReadAhead {
    pub(crate) fn spawn(client: &EventstreamClient, first: PageRequest, depth: usize) -> ReadAhead {
        let (sender, reads) = mpsc::channel(depth.max(1));
        let client = client.clone();
        let task = tokio::spawn(async move {
            let mut request = first;
            loop {
                let asked = Instant::now();
                let page = client.fetch(&request).await;
                let elapsed = asked.elapsed();
                let next = page
                    .as_ref()
                    .ok()
                    .map(|page| Next::after(request.start, page))
                    .filter(|next| next.more)
                    .map(|next| PageRequest {
                        start: StartAt::Id(next.nextid),
                        ..request.clone()
                    });
                let read = Read {
                    request,
                    page,
                    elapsed,
                };
                if sender.send(read).await.is_err() {
                    return;
                }
                match next {
                    Some(next) => request = next,
                    None => return,
                }
            }
        });
        ReadAhead {
            reads,
            ready: None,
            task,
        }
    }

    /// The next read, waiting for it; `None` once the task stopped and every read was
    /// taken.
    pub(crate) async fn next(&mut self) -> Option<Read> {
        match self.ready.take() {
            Some(read) => Some(read),
            None => self.reads.recv().await,
        }
    }

    /// Whether a page answering `request` is already here, so that taking it costs no
    /// waiting.
    pub(crate) fn has_page_for(&mut self, request: &PageRequest) -> bool {
        if self.ready.is_none() {
            self.ready = self.reads.try_recv().ok();
        }
        self.ready
            .as_ref()
            .is_some_and(|read| read.page.is_ok() && read.request == *request)
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}
