//! The loop of spec section 5 for one sink: read a page, hand its items to the sink,
//! move the sink's cursor, repeat. One forwarder per sink, each with its own cursor and
//! its own reads, so a failing sink never holds up another.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use protocol::{EventstreamQuery, ItemId, StartAt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::{ClientError, EventstreamClient, PageRequest};
use crate::cursor::{Cursor, CursorError, CursorFile};
use crate::deadletter::DeadLetters;
use crate::page::Page;
use crate::readahead::{Next, ReadAhead, requested_id};
use crate::{Backoff, Outcome, ReceivedItem, Sink, SinkError, SinkMetrics};

/// How a forwarder reads and paces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwarderConfig {
    /// Where a sink without a cursor starts.
    pub start: StartAt,
    /// `eventtypes`: `None` forwards every type.
    pub types: Option<Vec<String>>,
    /// Page size (`limit`), for servers that honour it.
    pub limit: Option<usize>,
    /// Long-poll (`wait`) when the server honours it; zero never long-polls.
    pub wait: Duration,
    /// The pause between reads when the server does not long-poll.
    pub poll_interval: Duration,
    /// Log a warning while the lag exceeds this (retention deletes items after 4 h).
    pub lag_warning: Option<Duration>,
    /// Spacing of retries of the sink and of the server.
    pub backoff: Backoff,
}

impl Default for ForwarderConfig {
    fn default() -> Self {
        ForwarderConfig {
            start: StartAt::Oldest,
            types: None,
            limit: None,
            wait: Duration::from_secs(30),
            poll_interval: Duration::from_secs(5),
            lag_warning: Some(Duration::from_secs(3600)),
            backoff: Backoff::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(transparent)]
    Cursor(#[from] CursorError),
    #[error("cannot write the dead letters of sink {sink} to {path}: {source}")]
    DeadLetters {
        sink: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The very first read was refused for good (wrong keys, unknown account, bad URL).
    #[error("sink {sink}: {source}")]
    Server { sink: String, source: ClientError },
    /// The sink's health check said it can never work.
    #[error("sink {sink} cannot start: {reason}")]
    Sink { sink: String, reason: String },
}

/// Whether the server holds a `wait` request, as far as we have seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitSupport {
    Unknown,
    Honoured,
    Ignored,
}

/// Forwards one eventstream to one sink.
#[derive(Debug)]
pub struct Forwarder<S> {
    client: EventstreamClient,
    sink: S,
    config: ForwarderConfig,
    cursor_file: CursorFile,
    dead_letters: DeadLetters,
    metrics: Arc<SinkMetrics>,
    lag_warned: Option<Instant>,
}

/// How many pages the read-ahead holds, waiting for the sink: with pages of 10,000
/// items of 800 bytes, up to 25 MB.
const READ_AHEAD_PAGES: usize = 3;

/// How often a lasting lag is warned about again.
const LAG_REWARN: Duration = Duration::from_secs(300);

impl<S: Sink> Forwarder<S> {
    /// The sink's cursor and dead letters live in `state_dir`, named after
    /// [`Sink::name`]. The directory must exist.
    pub fn new(
        client: EventstreamClient,
        sink: S,
        state_dir: impl Into<PathBuf>,
        config: ForwarderConfig,
    ) -> Forwarder<S> {
        let state_dir = state_dir.into();
        let cursor_file = CursorFile::new(&state_dir, sink.name());
        let dead_letters = DeadLetters::new(&state_dir, sink.name());
        Forwarder {
            client,
            sink,
            config,
            cursor_file,
            dead_letters,
            metrics: Arc::default(),
            lag_warned: None,
        }
    }

    /// The live counters, for a progress display or metrics endpoint.
    pub fn metrics(&self) -> Arc<SinkMetrics> {
        Arc::clone(&self.metrics)
    }

    pub fn sink_name(&self) -> &str {
        self.sink.name()
    }

    /// Runs until `shutdown` is cancelled. A batch being sent when that happens is
    /// finished (and its cursor written) first; a batch waiting for a retry is left for
    /// the next run.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), ForwardError> {
        let name = self.sink.name().to_owned();
        match self.sink.health_check().await {
            Ok(()) => {}
            Err(SinkError::Permanent(reason)) => {
                return Err(ForwardError::Sink { sink: name, reason });
            }
            Err(reason) => {
                tracing::warn!(sink = %name, %reason, "the sink's health check failed; starting anyway");
            }
        }
        let mut cursor = self.cursor_file.load().await?;
        let mut position = match cursor {
            Some(c) => {
                tracing::info!(sink = %name, nextid = %c.nextid, cursor = %self.cursor_file.path().display(), "resuming from the cursor");
                self.metrics.set_cursor(c.nextid, c.last_ts);
                StartAt::Id(c.nextid)
            }
            None => {
                tracing::info!(sink = %name, start = %describe_start(self.config.start), "no cursor yet: starting");
                self.config.start
            }
        };
        let mut wait_support = WaitSupport::Unknown;
        let mut read_failures: u32 = 0;
        let mut ever_read = false;
        // Whether the server showed our extensions, so it honours `limit`.
        let mut honours_limit = false;
        // Pages being read while the sink writes.
        let mut ahead: Option<ReadAhead> = None;
        // Items read and not yet delivered: pages that arrive while the sink writes go to
        // it together. Only ever held across pages that are already here.
        let mut batch: Vec<ReceivedItem> = Vec::new();

        while !shutdown.is_cancelled() {
            let request = self.request(position, wait_support, honours_limit);
            let wait = request.wait;
            let Some((fetched, elapsed)) =
                read(&self.client, &request, &mut ahead, &shutdown).await
            else {
                break;
            };
            let page = match fetched {
                Ok(page) => page,
                Err(e) if !ever_read && e.is_permanent() => {
                    return Err(ForwardError::Server {
                        sink: name,
                        source: e,
                    });
                }
                Err(e) => {
                    ahead = None;
                    self.metrics.add_poll_failure();
                    let delay = e
                        .retry_after()
                        .unwrap_or_else(|| self.config.backoff.delay(read_failures));
                    read_failures = read_failures.saturating_add(1);
                    if e.is_permanent() {
                        tracing::error!(sink = %name, error = %e, retry_in = ?delay, "the eventstream server refuses to serve this consumer");
                    } else {
                        tracing::warn!(sink = %name, error = %e, retry_in = ?delay, "cannot read the eventstream");
                    }
                    self.warn_if_lagging(&name);
                    if sleep_or_stop(delay, &shutdown).await {
                        break;
                    }
                    continue;
                }
            };
            if read_failures > 0 {
                tracing::info!(sink = %name, "reading the eventstream again");
                read_failures = 0;
            }
            ever_read = true;
            honours_limit |= page.extended;

            if let Some(wait) = wait {
                let held = elapsed >= wait / 2;
                let next = if page.extended {
                    WaitSupport::Honoured
                } else if page.results.is_empty() && !page.moreresults {
                    if held {
                        WaitSupport::Honoured
                    } else {
                        WaitSupport::Ignored
                    }
                } else {
                    wait_support
                };
                if next == WaitSupport::Ignored && wait_support != WaitSupport::Ignored {
                    tracing::info!(sink = %name, poll_interval = ?self.config.poll_interval, "the server does not long-poll (wait): polling at the interval");
                }
                wait_support = next;
            }

            if page.gap {
                self.metrics.add_gap();
                tracing::error!(
                    sink = %name,
                    requested = %describe_start(position),
                    oldestid = %page.oldestid.map_or_else(|| "none".to_owned(), |id| id.to_string()),
                    "gap: items from the requested id up to the oldest retained one were deleted by retention before this sink forwarded them"
                );
            }

            let next = Next::after(position, &page);
            // Items before the requested id would be a server fault; never send them.
            let requested = requested_id(position);
            batch.extend(
                page.results
                    .into_iter()
                    .filter(|i| requested.is_none_or(|r| i.id() >= r)),
            );
            position = StartAt::Id(next.nextid);
            if !next.more {
                ahead = None;
            } else {
                let due = self.request(position, wait_support, honours_limit);
                let ahead = ahead.get_or_insert_with(|| {
                    ReadAhead::spawn(&self.client, due.clone(), READ_AHEAD_PAGES)
                });
                // The next page is already here: it joins this batch.
                if batch.len() < self.batch_target() && ahead.has_page_for(&due) {
                    continue;
                }
            }

            let mut last = cursor.and_then(|c| c.last_id.zip(c.last_ts));
            if let (Some(first), Some(last_item)) = (batch.first(), batch.last()) {
                self.metrics.set_behind(Some(first.ts()));
                self.warn_if_lagging(&name);
                if !self.deliver(&name, &batch, &shutdown).await? {
                    break;
                }
                last = Some((last_item.id(), last_item.ts()));
            }
            batch.clear();
            let stored = Cursor {
                nextid: next.nextid,
                last_id: last.map(|l| l.0),
                last_ts: last.map(|l| l.1),
            };
            if cursor != Some(stored) {
                self.cursor_file.store(stored).await?;
                cursor = Some(stored);
            }
            self.metrics.set_cursor(next.nextid, stored.last_ts);
            self.metrics
                .set_behind(if next.more { stored.last_ts } else { None });
            self.warn_if_lagging(&name);

            let held = wait.is_some_and(|w| elapsed >= w / 2);
            let poll_now =
                next.more || (wait_support != WaitSupport::Ignored && (held || next.progressed));
            if !poll_now && sleep_or_stop(self.config.poll_interval, &shutdown).await {
                break;
            }
        }
        tracing::info!(sink = %name, nextid = %cursor.map_or_else(|| "none".to_owned(), |c| c.nextid.to_string()), "stopped");
        Ok(())
    }

    /// The read due at `position`: long-polling unless the server ignores it, and pages
    /// of the sink's preferred batch size (at most the largest page there is) once the
    /// server showed that it honours `limit`, unless the configuration sets one.
    fn request(
        &self,
        position: StartAt,
        wait_support: WaitSupport,
        honours_limit: bool,
    ) -> PageRequest {
        let wait = (wait_support != WaitSupport::Ignored && !self.config.wait.is_zero())
            .then_some(self.config.wait);
        let limit = self.config.limit.or_else(|| {
            honours_limit
                .then(|| self.sink.preferred_batch_size())
                .flatten()
                .map(|size| size.clamp(1, EventstreamQuery::MAX_LIMIT))
        });
        PageRequest {
            start: position,
            types: self.config.types.clone(),
            limit,
            wait,
        }
    }

    /// Up to how many items pages that are already here are joined into one batch: the
    /// sink's preferred batch size; without one, every page is a batch of its own.
    fn batch_target(&self) -> usize {
        self.sink.preferred_batch_size().unwrap_or(0)
    }

    /// Hands a batch to the sink until it takes it or refuses it for good. `false`: the
    /// shutdown came while waiting for a retry; the batch was not delivered.
    async fn deliver(
        &mut self,
        name: &str,
        items: &[ReceivedItem],
        shutdown: &CancellationToken,
    ) -> Result<bool, ForwardError> {
        let (first, last) = (first_id(items), last_id(items));
        let mut attempt: u32 = 0;
        loop {
            // Never cancelled: the batch in flight is finished before a shutdown.
            let sent = self.sink.send(items).await;
            match sent {
                Ok(Outcome::Accepted) => {
                    if attempt > 0 {
                        tracing::info!(sink = %name, %first, %last, retries = attempt, "delivered after retrying");
                    }
                    self.metrics.add_forwarded(items.len());
                    return Ok(true);
                }
                Ok(Outcome::PartlyRejected(rejections)) => {
                    let refused: Vec<&ReceivedItem> = items
                        .iter()
                        .filter(|i| rejections.iter().any(|r| r.id == i.id()))
                        .collect();
                    for r in &rejections {
                        tracing::warn!(sink = %name, id = %r.id, reason = %r.reason, dead_letters = %self.dead_letters.path().display(), "item refused for good: kept as a dead letter");
                    }
                    self.dead_letter(name, &refused).await?;
                    self.metrics.add_forwarded(items.len() - refused.len());
                    return Ok(true);
                }
                Err(SinkError::Permanent(reason)) => {
                    tracing::error!(sink = %name, %first, %last, count = items.len(), %reason, dead_letters = %self.dead_letters.path().display(), "batch refused for good: kept as dead letters (replay with `consume replay`)");
                    let all: Vec<&ReceivedItem> = items.iter().collect();
                    self.dead_letter(name, &all).await?;
                    return Ok(true);
                }
                Err(reason) => {
                    self.metrics.add_send_failure();
                    let delay = reason
                        .retry_after()
                        .unwrap_or_else(|| self.config.backoff.delay(attempt));
                    attempt = attempt.saturating_add(1);
                    tracing::warn!(sink = %name, %first, %last, attempt, %reason, retry_in = ?delay, "delivery failed; retrying");
                    self.warn_if_lagging(name);
                    if sleep_or_stop(delay, shutdown).await {
                        return Ok(false);
                    }
                }
            }
        }
    }

    async fn dead_letter(
        &mut self,
        name: &str,
        items: &[&ReceivedItem],
    ) -> Result<(), ForwardError> {
        self.dead_letters
            .append(items)
            .await
            .map_err(|source| ForwardError::DeadLetters {
                sink: name.to_owned(),
                path: self.dead_letters.path().to_owned(),
                source,
            })?;
        self.metrics.add_dead_lettered(items.len());
        Ok(())
    }

    fn warn_if_lagging(&mut self, name: &str) {
        let Some(threshold) = self.config.lag_warning else {
            return;
        };
        let snapshot = self.metrics.snapshot();
        if snapshot.lag > threshold {
            if self.lag_warned.is_none_or(|at| at.elapsed() >= LAG_REWARN) {
                tracing::warn!(
                    sink = %name,
                    lag = %format_duration(snapshot.lag),
                    threshold = %format_duration(threshold),
                    last_forwarded = %snapshot.last_ts.map_or_else(|| "none".to_owned(), |ts| ts.to_string()),
                    "forwarding lags behind: items not forwarded before the retention window ends are lost"
                );
                self.lag_warned = Some(Instant::now());
            }
        } else if self.lag_warned.take().is_some() {
            tracing::info!(sink = %name, lag = %format_duration(snapshot.lag), "lag back under the warning threshold");
        }
    }
}

fn describe_start(start: StartAt) -> String {
    match start {
        StartAt::Oldest => "the oldest retained item".to_owned(),
        StartAt::Id(id) => format!("id {id}"),
        StartAt::Time(ts) => format!("ts {ts}Z"),
    }
}

fn first_id(items: &[ReceivedItem]) -> ItemId {
    items.first().map_or(ItemId::ZERO, |i| i.id())
}

fn last_id(items: &[ReceivedItem]) -> ItemId {
    items.last().map_or(ItemId::ZERO, |i| i.id())
}

/// The read due: taken from the read-ahead when it read exactly that, otherwise read
/// now (and a read-ahead that went another way is dropped). `None`: the shutdown came
/// first.
async fn read(
    client: &EventstreamClient,
    request: &PageRequest,
    ahead: &mut Option<ReadAhead>,
    shutdown: &CancellationToken,
) -> Option<(Result<Page, ClientError>, Duration)> {
    if let Some(reading) = ahead.as_mut() {
        let read = tokio::select! {
            biased;
            () = shutdown.cancelled() => return None,
            read = reading.next() => read,
        };
        match read {
            Some(read) if read.request == *request => return Some((read.page, read.elapsed)),
            _ => *ahead = None,
        }
    }
    let asked = Instant::now();
    tokio::select! {
        biased;
        () = shutdown.cancelled() => None,
        fetched = client.fetch(request) => Some((fetched, asked.elapsed())),
    }
}

/// Sleeps, or returns `true` at once when the shutdown comes first.
async fn sleep_or_stop(delay: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        biased;
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(delay) => false,
    }
}

/// `1h02m`, `3m05s`, `12s`: lags for people.
pub(crate) fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// Runs forwarders side by side until `shutdown`. When one fails for good, the others
/// are stopped too and its error is returned (a supervisor restarts the whole consumer).
pub async fn run_all<S: Sink + 'static>(
    forwarders: Vec<Forwarder<S>>,
    shutdown: CancellationToken,
) -> Result<(), ForwardError> {
    let mut tasks = tokio::task::JoinSet::new();
    for forwarder in forwarders {
        tasks.spawn(forwarder.run(shutdown.clone()));
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let failed = match joined {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(e) => Some(ForwardError::Sink {
                sink: "?".into(),
                reason: format!("the forwarder task died: {e}"),
            }),
        };
        if let Some(e) = failed {
            shutdown.cancel();
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_for_people() {
        assert_eq!(format_duration(Duration::from_secs(12)), "12s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1h02m");
    }
}
