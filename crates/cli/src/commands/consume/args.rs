//! The `consume` command line, as clap types. Every option can also come from the
//! `--config` file; what the command line (or an environment variable) gives wins.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ConsumeArgs {
    #[command(subcommand)]
    pub(crate) command: Option<ConsumeCommand>,
    #[command(flatten)]
    pub(crate) run: Box<RunArgs>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConsumeCommand {
    /// Send a sink's dead letters again, and remove those it accepts.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// A TOML file with any of the options below (keys as the long options, with `_`
    /// for `-`, and `sinks = [...]`).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// The eventstream server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// The account whose eventstream to read.
    #[arg(long)]
    pub(crate) account: Option<String>,
    /// The API access key.
    #[arg(long, env = "TICKETSTREAM_ACCESSKEY")]
    pub(crate) key: Option<String>,
    /// The API secret key.
    #[arg(long, env = "TICKETSTREAM_SECRETKEY", hide_env_values = true)]
    pub(crate) secret: Option<String>,
    /// How to authenticate: basic, or hmac (the secret never travels) [default: basic].
    #[arg(long)]
    pub(crate) auth: Option<String>,
    /// Where the cursors and dead letters live (one set per sink).
    #[arg(long)]
    pub(crate) state_dir: Option<PathBuf>,
    /// Forward only these types (comma-separated), e.g. webshop:checkout_confirm.
    #[arg(long, value_delimiter = ',')]
    pub(crate) types: Option<Vec<String>>,
    /// Where a sink without a cursor starts: oldest, now, an item id or a timestamp
    /// [default: oldest]. Later runs resume from the cursor.
    #[arg(long)]
    pub(crate) start: Option<String>,
    /// A destination (repeatable): [NAME=]ndjson:PATH, ndjson:-,
    /// webhook:URL[,secret=S][,timeout=30s], ga4:..., matomo:...
    #[arg(long = "sink")]
    pub(crate) sinks: Vec<String>,
    /// The pause between reads when the server does not long-poll, 5s to 60s [default: 5s].
    #[arg(long)]
    pub(crate) poll_interval: Option<String>,
    /// Long-poll seconds per read where the server supports it, 0 to 60 [default: 30].
    #[arg(long)]
    pub(crate) wait: Option<u64>,
    /// Items per read, 1 to 10000, where the server supports it [default: the server's].
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// Warn while the lag exceeds this [default: 1h].
    #[arg(long)]
    pub(crate) lag_warning: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9464.
    #[arg(long)]
    pub(crate) metrics: Option<String>,
    /// Never draw the progress bar (it is drawn only when stderr is a terminal).
    #[arg(long)]
    pub(crate) no_progress: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// A TOML file as for `consume` (only `state_dir` and `sinks` are used).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// The state directory the consumer runs with.
    #[arg(long)]
    pub(crate) state_dir: Option<PathBuf>,
    /// The sinks whose dead letters to replay, exactly as given to `consume`
    /// (repeatable; default: every sink of the config file).
    #[arg(long = "sink")]
    pub(crate) sinks: Vec<String>,
    /// Dead letters per request.
    #[arg(long, default_value_t = 100)]
    pub(crate) batch_size: usize,
}
