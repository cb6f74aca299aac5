//! `ticketstream consume` catching up a backlog: started as a child process with an NDJSON
//! sink, timed from its start until the file holds every item of the stream.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::server::own_command;
use super::setup::ApiKey;
use anyhow::{Context as _, bail};

/// What the consumer did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Consumed {
    pub(crate) items_per_s: f64,
    /// Items in the file when the clock stopped: all of them, unless time ran out.
    pub(crate) items: u64,
    pub(crate) elapsed: Duration,
}

/// Items per second from the consumer's start until `items` lines are in the file, or
/// until `limit` (a backend too slow to catch up in time is measured, not waited for).
pub(crate) async fn measure(
    base_url: &str,
    account: &str,
    key: &ApiKey,
    work_dir: &Path,
    items: usize,
    limit: Duration,
) -> anyhow::Result<Consumed> {
    let state_dir = work_dir.join("consume-state");
    let file = work_dir.join("consumed.ndjson");
    let started = Instant::now();
    let mut child = own_command()?
        .arg("consume")
        .args(["--url", base_url, "--account", account])
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--sink")
        .arg(format!("bench=ndjson:{}", file.display()))
        .args(["--start", "oldest", "--no-progress"])
        .env("TICKETSTREAM_ACCESSKEY", &key.accesskey)
        .env("TICKETSTREAM_SECRETKEY", &key.secretkey)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting consume")?;

    let mut lines = LineCounter::default();
    loop {
        let done = lines.count(&file)?;
        if done >= items as u64 || started.elapsed() > limit {
            break;
        }
        if let Some(status) = child.try_wait()? {
            bail!("consume exited ({status}) after {done} of {items} items");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    child.kill().await.context("stopping consume")?;
    if lines.lines == 0 {
        bail!("consume forwarded nothing in {limit:?}");
    }
    Ok(Consumed {
        items_per_s: lines.lines as f64 / elapsed.as_secs_f64(),
        items: lines.lines,
        elapsed,
    })
}

/// Counts the lines of a growing file, reading only what was added since the last call.
#[derive(Debug, Default)]
pub(crate) struct LineCounter {
    offset: u64,
    lines: u64,
}

impl LineCounter {
    pub(crate) fn count(&mut self, file: &Path) -> anyhow::Result<u64> {
        let mut f = match std::fs::File::open(file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).with_context(|| format!("opening {}", file.display())),
        };
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = f.read(&mut buffer)?;
            if n == 0 {
                return Ok(self.lines);
            }
            self.offset += n as u64;
            self.lines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lines_are_counted_as_the_file_grows() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.ndjson");
        let mut counter = LineCounter::default();
        assert_eq!(counter.count(&file).unwrap(), 0);
        std::fs::write(&file, "{}\n{}\n{").unwrap();
        assert_eq!(counter.count(&file).unwrap(), 2);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        std::io::Write::write_all(&mut f, b"}\n{}\n").unwrap();
        assert_eq!(counter.count(&file).unwrap(), 4);
    }
}
