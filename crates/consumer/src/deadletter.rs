//! Dead letters: the items a sink refused for good, one NDJSON line each (the item as
//! served), in `<state dir>/<sink>.deadletter.ndjson`, and their replay.
//!
//! A replay first renames the file aside (`.deadletter.replaying.ndjson`), so the
//! forwarder can go on appending dead letters to a fresh file meanwhile; whatever the
//! replay could not deliver is appended back at the end. An interrupted replay leaves
//! its file, and the next replay finishes it first.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use protocol::ItemId;
use serde_json::value::RawValue;

use crate::fsutil::{append_durably, sync_dir, write_atomic};
use crate::{Backoff, Outcome, ReceivedItem, Sink, SinkError};

/// One sink's dead-letter file.
#[derive(Debug, Clone)]
pub(crate) struct DeadLetters {
    path: PathBuf,
    replaying: PathBuf,
}

impl DeadLetters {
    pub(crate) fn new(state_dir: &Path, sink_name: &str) -> DeadLetters {
        DeadLetters {
            path: state_dir.join(format!("{sink_name}.deadletter.ndjson")),
            replaying: state_dir.join(format!("{sink_name}.deadletter.replaying.ndjson")),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends items durably (fsynced) before the cursor moves past them.
    pub(crate) async fn append(&self, items: &[&ReceivedItem]) -> io::Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for item in items {
            lines.extend_from_slice(item.raw().as_bytes());
            lines.push(b'\n');
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || append_to_current(&path, &lines))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)))
    }
}

/// Appends, and appends again if a replay renamed the file away meanwhile: at least
/// once, never only into a file that is about to be rewritten.
fn append_to_current(path: &Path, lines: &[u8]) -> io::Result<()> {
    for _ in 0..3 {
        let file = append_durably(path, lines)?;
        if still_at(path, &file)? {
            return Ok(());
        }
    }
    Err(io::Error::other(
        "the dead-letter file keeps being renamed away",
    ))
}

/// Whether `file` is still the file named `path`. A replay renames the file before it
/// reads it, so lines appended to a file that is still at `path` after the append are
/// either read by that replay or stay for the next.
#[cfg(unix)]
fn still_at(path: &Path, file: &std::fs::File) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let written = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(named) => Ok(written.ino() == named.ino() && written.dev() == named.dev()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn still_at(_path: &Path, _file: &std::fs::File) -> io::Result<bool> {
    Ok(true)
}

/// How a replay went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayReport {
    /// Dead letters the sink accepted this time (removed from the file).
    pub delivered: usize,
    /// Dead letters the sink refused for good again (kept).
    pub rejected: usize,
    /// Dead letters not tried because the sink kept failing temporarily (kept).
    pub untried: usize,
    /// Lines of the file that are not items (kept, never sent).
    pub unreadable: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("dead letters of sink {sink}: {source}")]
    Io { sink: String, source: io::Error },
}

/// Sends a sink's dead letters again, in batches of `batch_size`, and removes what it
/// accepts. A batch that keeps failing temporarily is retried `attempts` times with
/// backoff; after that the replay stops and keeps the rest.
pub async fn replay_dead_letters<S: Sink>(
    sink: &mut S,
    state_dir: &Path,
    batch_size: usize,
    attempts: u32,
    backoff: Backoff,
) -> Result<ReplayReport, ReplayError> {
    let name = sink.name().to_owned();
    let io_err = |source: io::Error| ReplayError::Io {
        sink: name.clone(),
        source,
    };
    let letters = DeadLetters::new(state_dir, &name);
    let mut report = ReplayReport::default();
    if !letters.replaying.exists() {
        match std::fs::rename(&letters.path, &letters.replaying) {
            Ok(()) => sync_dir(state_dir).map_err(io_err)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(report),
            Err(e) => return Err(io_err(e)),
        }
    }
    let text = tokio::fs::read_to_string(&letters.replaying)
        .await
        .map_err(io_err)?;
    let mut keep: Vec<String> = Vec::new();
    let mut items: Vec<ReceivedItem> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match RawValue::from_string(line.to_owned())
            .map_err(|e| e.to_string())
            .and_then(|raw| ReceivedItem::from_raw(raw).map_err(|e| e.to_string()))
        {
            Ok(item) => items.push(item),
            Err(e) => {
                tracing::warn!(sink = %name, error = %e, "a dead-letter line is not an item; kept as is");
                report.unreadable += 1;
                keep.push(line.to_owned());
            }
        }
    }

    let mut rest: &[ReceivedItem] = &items;
    'batches: while !rest.is_empty() {
        let (batch, after) = rest.split_at(batch_size.max(1).min(rest.len()));
        let mut attempt = 0;
        let rejected: Vec<ItemId> = loop {
            match sink.send(batch).await {
                Ok(Outcome::Accepted) => break Vec::new(),
                Ok(Outcome::PartlyRejected(r)) => {
                    for r in &r {
                        tracing::warn!(sink = %name, id = %r.id, reason = %r.reason, "dead letter refused again");
                    }
                    break r.into_iter().map(|r| r.id).collect();
                }
                Err(SinkError::Permanent(reason)) => {
                    tracing::warn!(sink = %name, first = %batch[0].id(), count = batch.len(), %reason, "dead letters refused again");
                    break batch.iter().map(|i| i.id()).collect();
                }
                Err(reason) if attempt + 1 < attempts => {
                    let delay = reason
                        .retry_after()
                        .unwrap_or_else(|| backoff.delay(attempt));
                    tracing::warn!(sink = %name, %reason, retry_in = ?delay, "replay failed; retrying");
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                }
                Err(reason) => {
                    tracing::error!(sink = %name, %reason, "replay stopped: the sink keeps failing");
                    break 'batches;
                }
            }
        };
        report.delivered += batch.len() - rejected.len();
        report.rejected += rejected.len();
        keep.extend(
            batch
                .iter()
                .filter(|i| rejected.contains(&i.id()))
                .map(|i| i.raw().to_owned()),
        );
        rest = after;
        // Checkpoint: what is left to do, so an interrupted replay never resends what
        // was accepted.
        let remaining = lines_of(&keep, rest);
        let path = letters.replaying.clone();
        tokio::task::spawn_blocking(move || write_atomic(&path, remaining.as_bytes()))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e)))
            .map_err(io_err)?;
    }
    report.untried = rest.len();

    // Hand back what stays, then drop the replay file.
    let remaining = lines_of(&keep, rest);
    let (live, replaying) = (letters.path.clone(), letters.replaying.clone());
    tokio::task::spawn_blocking(move || -> io::Result<()> {
        if !remaining.is_empty() {
            append_to_current(&live, remaining.as_bytes())?;
        }
        std::fs::remove_file(&replaying)?;
        sync_dir(replaying.parent().unwrap_or(Path::new(".")))
    })
    .await
    .unwrap_or_else(|e| Err(io::Error::other(e)))
    .map_err(io_err)?;
    Ok(report)
}

fn lines_of(keep: &[String], rest: &[ReceivedItem]) -> String {
    let mut text = String::new();
    for line in keep
        .iter()
        .map(String::as_str)
        .chain(rest.iter().map(|i| i.raw()))
    {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The retry count and spacing `consume replay` uses by default.
pub const REPLAY_ATTEMPTS: u32 = 5;
pub const REPLAY_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(500),
    max: Duration::from_secs(10),
};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Rejection;

    fn item(ms: u64) -> ReceivedItem {
        let raw = format!(
            r#"{{"id":"{ms}-0","ts":"2022-09-13T11:46:25","type":"webshop:pageview","data":{{}}}}"#
        );
        ReceivedItem::from_raw(RawValue::from_string(raw).unwrap()).unwrap()
    }

    /// Accepts everything but item 2, and meanwhile a forwarder dead-letters item 9.
    struct Picky {
        letters: DeadLetters,
        sent: Vec<ItemId>,
    }

    impl Sink for Picky {
        fn name(&self) -> &str {
            "picky"
        }

        async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
            if self.sent.is_empty() {
                self.letters.append(&[&item(9)]).await.unwrap();
            }
            self.sent.extend(batch.iter().map(|i| i.id()));
            let refused: Vec<Rejection> = batch
                .iter()
                .filter(|i| i.id().ms == 2)
                .map(|i| Rejection {
                    id: i.id(),
                    reason: "still no".into(),
                })
                .collect();
            Ok(if refused.is_empty() {
                Outcome::Accepted
            } else {
                Outcome::PartlyRejected(refused)
            })
        }
    }

    #[tokio::test]
    async fn replay_removes_what_was_accepted_and_keeps_what_arrived_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let letters = DeadLetters::new(dir.path(), "picky");
        let (a, b, c) = (item(1), item(2), item(3));
        letters.append(&[&a, &b]).await.unwrap();
        letters.append(&[&c]).await.unwrap();
        let mut sink = Picky {
            letters: letters.clone(),
            sent: Vec::new(),
        };
        let report = replay_dead_letters(&mut sink, dir.path(), 2, 1, REPLAY_BACKOFF)
            .await
            .unwrap();
        assert_eq!(
            report,
            ReplayReport {
                delivered: 2,
                rejected: 1,
                untried: 0,
                unreadable: 0
            }
        );
        assert_eq!(
            sink.sent,
            vec![ItemId::new(1, 0), ItemId::new(2, 0), ItemId::new(3, 0)]
        );
        // Left: what arrived during the replay, then what was refused again.
        let left = std::fs::read_to_string(letters.path()).unwrap();
        assert_eq!(left, format!("{}\n{}\n", item(9).raw(), b.raw()));
        assert!(!letters.replaying.exists());
    }

    #[tokio::test]
    async fn nothing_to_replay_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = Picky {
            letters: DeadLetters::new(dir.path(), "picky"),
            sent: Vec::new(),
        };
        let report = replay_dead_letters(&mut sink, dir.path(), 10, 1, REPLAY_BACKOFF)
            .await
            .unwrap();
        assert_eq!(report, ReplayReport::default());
        assert!(sink.sent.is_empty());
    }
}
