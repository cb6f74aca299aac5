//! Structured logs on stderr, filtered by `RUST_LOG` (default `info`). Stdout is kept for
//! command output, so `--json` output can be piped.
//!
//! When a command draws progress lines on stderr (`consume` on a terminal), log lines are
//! written with the progress lines lifted out of the way, so neither garbles the other.

use std::io::{self, Write};
use std::sync::Mutex;

use indicatif::MultiProgress;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// The progress lines on stderr right now, if any.
static PROGRESS: Mutex<Option<MultiProgress>> = Mutex::new(None);

pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogWriter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Tells the log writer about progress lines drawn on stderr (`None` when they are gone).
pub(crate) fn show_progress(progress: Option<MultiProgress>) {
    *PROGRESS.lock().unwrap_or_else(|p| p.into_inner()) = progress;
}

/// Writes one log line to stderr, around the progress lines when there are some.
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let progress = PROGRESS.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match progress {
            Some(progress) => progress.suspend(|| io::stderr().write_all(buf))?,
            None => io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
