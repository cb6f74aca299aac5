//! Structured logs on stderr, filtered by `RUST_LOG` (default `info`). Stdout is kept for
//! command output, so `--json` output can be piped.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
