//! Eventstream reads over HTTP: 4 connections, each asking for 1000-item pages one after
//! the other, as fast as the server answers.
//!
//! The client does not parse the pages (that would cost more CPU than the server spends
//! on them, on the same two cores). A page is checked instead by its `nextid`: the ids of
//! the stream are known, so a `nextid` past the page's last item and not past the next
//! one proves the page held exactly the items asked for.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use protocol::ItemId;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::task::JoinSet;

use super::setup::ApiKey;

/// Items per page and connections, as in the goal.
pub(crate) const PAGE: usize = 1000;
pub(crate) const CONNECTIONS: usize = 4;

/// A stream of known ids on a server.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    pub(crate) url: String,
    pub(crate) key: ApiKey,
    pub(crate) ids: Arc<Vec<ItemId>>,
}

/// Which pages the connections ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pages {
    /// The newest 1000 items, again and again: what live readers read.
    Tail,
    /// 1000 items from a random position of the whole stream: old items.
    Anywhere,
}

/// What the connections read.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Reads {
    pub(crate) items_per_s: f64,
    /// Answers other than 200 (a 503 of a backend that timed out, say): counted, paused
    /// after, and read on.
    pub(crate) errors: u64,
}

/// After an error answer: the server asked for a pause, and a tight loop of errors would
/// only measure the client.
const AFTER_ERROR: Duration = Duration::from_millis(100);

/// Reads for `duration`.
pub(crate) async fn measure(
    stream: &Stream,
    pages: Pages,
    duration: Duration,
) -> anyhow::Result<Reads> {
    if stream.ids.len() < PAGE {
        bail!("the stream holds fewer than {PAGE} items");
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut set = JoinSet::new();
    for connection in 0..CONNECTIONS {
        let stream = stream.clone();
        set.spawn(
            async move { connection_loop(&stream, pages, deadline, connection as u64).await },
        );
    }
    let mut items = 0;
    let mut errors = 0;
    let mut last_error = None;
    while let Some(done) = set.join_next().await {
        let (n, e, last) = done.context("a reader panicked")??;
        items += n;
        errors += e;
        last_error = last_error.or(last);
    }
    if items == 0 {
        bail!(
            "no page was served ({errors} errors, the last: {})",
            last_error.unwrap_or_default()
        );
    }
    Ok(Reads {
        items_per_s: items as f64 / started.elapsed().as_secs_f64(),
        errors,
    })
}

async fn connection_loop(
    stream: &Stream,
    pages: Pages,
    deadline: Instant,
    seed: u64,
) -> anyhow::Result<(u64, u64, Option<String>)> {
    // One client per connection, so the 4 really are 4 keep-alive connections.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .context("building an HTTP client")?;
    let mut rng = StdRng::seed_from_u64(seed);
    let ids = &stream.ids;
    let mut items = 0;
    let mut errors = 0;
    let mut last_error = None;
    let mut tail = Vec::with_capacity(2 * TAIL);
    while Instant::now() < deadline {
        let first = match pages {
            Pages::Tail => ids.len() - PAGE,
            Pages::Anywhere => rng.gen_range(0..=ids.len() - PAGE),
        };
        let id = ids[first].to_string();
        let mut response = client
            .get(&stream.url)
            .query(&[("id", id.as_str()), ("limit", "1000")])
            .basic_auth(&stream.key.accesskey, Some(&stream.key.secretkey))
            .send()
            .await
            .context("reading a page")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.context("reading a page")?;
            errors += 1;
            last_error = Some(format!("{status}: {}", String::from_utf8_lossy(&body)));
            tokio::time::sleep(AFTER_ERROR).await;
            continue;
        }
        tail.clear();
        while let Some(chunk) = response.chunk().await.context("reading a page")? {
            keep_tail(&mut tail, &chunk);
        }
        let last = first + PAGE - 1;
        check_next_id(&tail, ids[last], ids.get(last + 1).copied())?;
        items += PAGE as u64;
    }
    Ok((items, errors, last_error))
}

/// How much of a page's end is kept: its `nextid` and the fields after it, with room.
const TAIL: usize = 512;

/// Keeps the last [`TAIL`] bytes of what arrived so far. A page is read as it arrives and
/// not gathered into one buffer, as the Redis client skips over its reply: on two cores
/// the client's copies would take CPU from the server it measures.
fn keep_tail(tail: &mut Vec<u8>, chunk: &[u8]) {
    if chunk.len() >= TAIL {
        tail.clear();
        tail.extend_from_slice(&chunk[chunk.len() - TAIL..]);
    } else {
        tail.extend_from_slice(chunk);
        let excess = tail.len().saturating_sub(TAIL);
        tail.drain(..excess);
    }
}

/// The page's `nextid` must lie after `last` and not after `following`.
pub(crate) fn check_next_id(
    body: &[u8],
    last: ItemId,
    following: Option<ItemId>,
) -> anyhow::Result<()> {
    let next = next_id(body).context("a page without a readable nextid")?;
    let fits = next > last && following.is_none_or(|f| next <= f);
    if !fits {
        bail!("a page ended at {next}, not after {last}: it did not hold the items asked for");
    }
    Ok(())
}

/// The `nextid` of a page, found from the end (it follows the items).
fn next_id(body: &[u8]) -> Option<ItemId> {
    const KEY: &[u8] = br#""nextid":""#;
    let start = body.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let len = body[start..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&body[start..start + len])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn id(s: &str) -> ItemId {
        s.parse().unwrap()
    }

    #[test]
    fn the_tail_of_a_page_is_its_last_bytes_whatever_the_chunks() {
        let page: Vec<u8> = (0..3000u32)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        for size in [1, 7, 300, 511, 512, 513, 2999, 3000] {
            let mut tail = Vec::new();
            for chunk in page.chunks(size) {
                keep_tail(&mut tail, chunk);
            }
            assert_eq!(tail, &page[page.len() - TAIL..], "chunks of {size}");
        }
        let mut short = Vec::new();
        keep_tail(&mut short, b"abc");
        keep_tail(&mut short, b"de");
        assert_eq!(short, b"abcde");
    }

    #[test]
    fn the_next_id_is_found_after_the_items() {
        // An item whose data holds the key must not confuse it: the real one comes last.
        let body = br#"{"results":[{"id":"5-0","data":{"x":"\"nextid\":\"9-9\""}}],"nextid":"5-1","moreresults":false,"oldestid":"1-0","gap":false}"#;
        assert_eq!(next_id(body), Some(id("5-1")));
        assert_eq!(next_id(b"{}"), None);
    }

    #[test]
    fn a_page_must_end_between_its_last_item_and_the_next() {
        let body = br#"{"results":[],"nextid":"5-1","moreresults":true}"#;
        check_next_id(body, id("5-0"), Some(id("5-1"))).unwrap();
        check_next_id(body, id("5-0"), None).unwrap();
        // Too short a page stops before its last item; too long a one goes past the next.
        assert!(check_next_id(body, id("5-1"), Some(id("6-0"))).is_err());
        assert!(check_next_id(body, id("4-0"), Some(id("4-1"))).is_err());
        assert!(check_next_id(b"{}", id("4-0"), None).is_err());
    }
}
