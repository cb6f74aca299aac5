//! The NDJSON sink: one item a line, byte for byte as the server served it, to a file or
//! to stdout.
//!
//! A file is fsynced before a batch counts as accepted. A crash can still leave part of a
//! batch written and its last line half written (a batch takes several writes, and a
//! write is not atomic against SIGKILL either): opening the file cuts that torn tail,
//! which belongs to a batch whose cursor never moved and is sent again. Opening also
//! reads the id of the last complete line, and items up to that id are not written
//! again, so a restart after a crash does not even duplicate lines. A write that fails
//! is repaired the same way before the batch is tried again.

use std::fs::File;
use std::io::{self, IoSlice, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use protocol::ItemId;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::{Outcome, Sink, SinkError};
use crate::ReceivedItem;

/// Writes items as NDJSON lines.
#[derive(Debug)]
pub struct NdjsonSink {
    name: String,
    target: Target,
    /// The last id the file already holds: items up to it are skipped.
    written_up_to: Option<ItemId>,
}

#[derive(Debug)]
enum Target {
    Stdout(tokio::io::Stdout),
    File {
        path: PathBuf,
        /// Taken out while a blocking write runs; reopened if that write's task died.
        file: Option<File>,
    },
}

impl NdjsonSink {
    /// Appends to `path`, creating it, after cutting a torn last line.
    pub fn open(name: impl Into<String>, path: impl Into<PathBuf>) -> io::Result<NdjsonSink> {
        let path = path.into();
        let mut file = open_append(&path)?;
        let written_up_to = repair_and_find_last_id(&mut file)?;
        if let Some(id) = written_up_to {
            tracing::debug!(path = %path.display(), last_id = %id, "NDJSON file already holds items");
        }
        Ok(NdjsonSink {
            name: name.into(),
            target: Target::File {
                path,
                file: Some(file),
            },
            written_up_to,
        })
    }

    /// Writes to standard output (not fsynced; whoever reads the pipe owns durability).
    pub fn stdout(name: impl Into<String>) -> NdjsonSink {
        NdjsonSink {
            name: name.into(),
            target: Target::Stdout(tokio::io::stdout()),
            written_up_to: None,
        }
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    File::options()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
}

#[derive(Deserialize)]
struct IdOnly {
    id: ItemId,
}

/// Cuts everything after the last newline (a line the crash tore), then returns the id
/// of the last complete line, if it is an item.
fn repair_and_find_last_id(file: &mut File) -> io::Result<Option<ItemId>> {
    let len = file.metadata()?.len();
    let Some(end) = last_newline_before(file, len)? else {
        if len > 0 {
            tracing::warn!(bytes = len, "cutting a torn line from the NDJSON file");
            file.set_len(0)?;
            file.sync_data()?;
        }
        return Ok(None);
    };
    if end + 1 < len {
        tracing::warn!(
            bytes = len - end - 1,
            "cutting a torn line from the NDJSON file"
        );
        file.set_len(end + 1)?;
        file.sync_data()?;
    }
    let start = last_newline_before(file, end)?.map_or(0, |p| p + 1);
    let mut line = vec![0; usize::try_from(end - start).unwrap_or(0)];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut line)?;
    Ok(serde_json::from_slice::<IdOnly>(&line).ok().map(|l| l.id))
}

/// The offset of the last `\n` before `before`, reading backwards in chunks.
fn last_newline_before(file: &mut File, before: u64) -> io::Result<Option<u64>> {
    const CHUNK: u64 = 64 * 1024;
    let mut end = before;
    let mut buf = vec![0; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + i as u64));
        }
        end = start;
    }
    Ok(None)
}

impl Sink for NdjsonSink {
    fn name(&self) -> &str {
        &self.name
    }

    /// Three of the largest pages a server gives: a batch costs an fsync (and the
    /// cursor's two), whatever its size, so large batches are what makes a catch-up
    /// fast; beyond a few pages, the fsyncs saved no longer pay for the memory.
    fn preferred_batch_size(&self) -> Option<usize> {
        Some(3 * protocol::EventstreamQuery::MAX_LIMIT)
    }

    async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        // Clones share the page's text: they only let the items go to the writing thread.
        let fresh: Vec<ReceivedItem> = batch
            .iter()
            .filter(|i| self.written_up_to.is_none_or(|last| i.id() > last))
            .cloned()
            .collect();
        let Some(last) = fresh.last() else {
            return Ok(Outcome::Accepted);
        };
        let last_id = last.id();
        match &mut self.target {
            Target::Stdout(out) => {
                let mut lines = Vec::with_capacity(fresh.iter().map(|i| i.raw().len() + 1).sum());
                for item in &fresh {
                    lines.extend_from_slice(item.raw().as_bytes());
                    lines.push(b'\n');
                }
                // A closed pipe will not reopen by itself: permanent.
                let written = async {
                    out.write_all(&lines).await?;
                    out.flush().await
                };
                written
                    .await
                    .map_err(|e| SinkError::Permanent(format!("cannot write to stdout: {e}")))?;
            }
            Target::File { path, file } => {
                let mut handle = match file.take() {
                    Some(handle) => handle,
                    None => open_append(path).map_err(|e| retryable(path, &e))?,
                };
                let (handle, written) = tokio::task::spawn_blocking(move || {
                    // The whole batch, then fsync: accepted means on disk.
                    let written =
                        write_lines(&mut handle, &fresh).and_then(|()| handle.sync_data());
                    (handle, written)
                })
                .await
                .map_err(|e| SinkError::Retryable(format!("the write task failed: {e}")))?;
                if let Err(e) = written {
                    // What was written may be torn: cut it, and skip the lines that did
                    // land, before the retry.
                    let mut handle = handle;
                    if let Ok(Some(landed)) = repair_and_find_last_id(&mut handle) {
                        self.written_up_to = Some(landed);
                    }
                    *file = Some(handle);
                    return Err(retryable(path, &e));
                }
                *file = Some(handle);
            }
        }
        self.written_up_to = Some(last_id);
        Ok(Outcome::Accepted)
    }
}

/// Writes the items one a line, straight from their pages: gathered writes of up to
/// 512 lines each, so the batch is not copied into a buffer of its own first (for a page
/// of 10,000 items, 8 MB copied and as many fresh pages of memory faulted in).
fn write_lines(file: &mut File, items: &[ReceivedItem]) -> io::Result<()> {
    const LINES_PER_WRITE: usize = 512;
    for chunk in items.chunks(LINES_PER_WRITE) {
        let mut slices: Vec<IoSlice<'_>> = chunk
            .iter()
            .flat_map(|item| [IoSlice::new(item.raw().as_bytes()), IoSlice::new(b"\n")])
            .collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            match file.write_vectored(slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut slices, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn retryable(path: &Path, e: &io::Error) -> SinkError {
    SinkError::Retryable(format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::value::RawValue;

    use super::*;

    fn item(ms: u64) -> ReceivedItem {
        let raw = format!(
            r#"{{"id":"{ms}-0","ts":"2022-09-13T11:46:25","type":"webshop:pageview","data":{{ "ref" : "x"}}}}"#
        );
        ReceivedItem::from_raw(RawValue::from_string(raw).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn writes_items_byte_for_byte_one_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let mut sink = NdjsonSink::open("f", &path).unwrap();
        let batch = [item(1), item(2)];
        assert_eq!(sink.send(&batch).await.unwrap(), Outcome::Accepted);
        let expected = format!("{}\n{}\n", batch[0].raw(), batch[1].raw());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    }

    #[tokio::test]
    async fn a_batch_larger_than_one_gathered_write_lands_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let mut sink = NdjsonSink::open("f", &path).unwrap();
        let batch: Vec<ReceivedItem> = (1..=1300).map(item).collect();
        assert_eq!(sink.send(&batch).await.unwrap(), Outcome::Accepted);
        let expected: String = batch.iter().map(|i| format!("{}\n", i.raw())).collect();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    }

    #[tokio::test]
    async fn cuts_a_torn_line_and_skips_what_the_file_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let (a, b, c) = (item(1), item(2), item(3));
        let torn = &c.raw()[..10];
        std::fs::write(&path, format!("{}\n{}\n{torn}", a.raw(), b.raw())).unwrap();

        let mut sink = NdjsonSink::open("f", &path).unwrap();
        // The batch in flight at the crash comes again; only its unwritten part lands.
        sink.send(&[b.clone(), c.clone()]).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n{}\n{}\n", a.raw(), b.raw(), c.raw())
        );
    }

    #[tokio::test]
    async fn a_file_of_one_torn_line_is_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        std::fs::write(&path, "{\"id\":\"1-").unwrap();
        let mut sink = NdjsonSink::open("f", &path).unwrap();
        sink.send(&[item(1)]).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", item(1).raw())
        );
    }

    #[test]
    fn finds_the_last_line_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.ndjson");
        let long = format!(
            r#"{{"id":"5-1","ts":"2022-09-13T11:46:25","type":"t","data":"{}"}}"#,
            "x".repeat(200_000)
        );
        std::fs::write(&path, format!("{}\n{long}\n", item(1).raw())).unwrap();
        let mut file = open_append(&path).unwrap();
        assert_eq!(
            repair_and_find_last_id(&mut file).unwrap(),
            Some(ItemId::new(5, 1))
        );
    }
}
