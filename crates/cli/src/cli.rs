//! The command line, as clap types.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eventlog::{KeyPrefix, RedisUrl};
use protocol::AccountName;
use shop::{DatabaseUrl, ShopBackend, ShopSync};

#[derive(Debug, Parser)]
#[command(
    name = "ticketstream",
    version,
    about = "Ticketing webshop with privacy-first user tracking"
)]
pub(crate) struct Cli {
    /// Where the shop store and the event log live (unless --database-url and --eventlog
    /// put them elsewhere).
    #[arg(
        long,
        global = true,
        env = "TICKETSTREAM_DATA_DIR",
        default_value = "./ticketstream-data"
    )]
    pub(crate) data_dir: PathBuf,

    /// The shop store: unset for SQLite under the data directory, or
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE for PostgreSQL, shared by several
    /// server processes.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "TICKETSTREAM_DATABASE_URL"
    )]
    pub(crate) database_url: Option<DatabaseUrl>,

    /// Connections to PostgreSQL one process opens at most.
    #[arg(
        long,
        global = true,
        value_name = "N",
        default_value_t = ShopBackend::DEFAULT_POOL_SIZE,
        value_parser = clap::value_parser!(u32).range(1..=1000),
        env = "TICKETSTREAM_DATABASE_POOL_SIZE"
    )]
    pub(crate) database_pool_size: u32,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "TICKETSTREAM_LOG_FORMAT")]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

impl Cli {
    /// Where the shop store lives.
    pub(crate) fn shop_backend(&self) -> ShopBackend {
        match &self.database_url {
            Some(url) => ShopBackend::Postgres {
                url: url.clone(),
                pool_size: self.database_pool_size,
            },
            None => ShopBackend::from(self.data_dir.clone()),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the webshop and the eventstream API.
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage key pairs.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Set up the demo account.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Manage an account's catalog.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Print a signed widget URL.
    WidgetUrl(WidgetUrlArgs),
    /// Simulate shoppers walking through the real pages over HTTP.
    Loadgen(LoadgenArgs),
    /// Forward an eventstream to sinks (NDJSON, webhook, GA4, Matomo), at least once.
    Consume(crate::commands::consume::ConsumeArgs),
    /// Measure the product: real servers on loopback, each scenario, a table of figures.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Print one JSON object with every figure as the last line of stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// A short run (about a minute; a smoke check): 100,000 items, fewer shoppers,
    /// 3 s per figure.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Also measure Redis: XRANGE over the same items, and the eventstream served from
    /// Redis Streams (the scaleout_ figures). Keys go under a temporary prefix and are
    /// deleted at the end.
    #[arg(long, value_name = "URL")]
    pub(crate) redis: Option<String>,
    /// How the embedded shop store syncs a commit, as `serve --shop-sync`.
    #[arg(long, value_name = "full|normal", default_value = "full")]
    pub(crate) shop_sync: ShopSync,
    /// Items in the read stream (for tests).
    #[arg(long, hide = true)]
    pub(crate) items: Option<usize>,
    /// Shoppers per action run (for tests).
    #[arg(long, hide = true)]
    pub(crate) shoppers: Option<u64>,
    /// Seconds per read figure and of paced actions (for tests).
    #[arg(long, hide = true)]
    pub(crate) seconds: Option<f64>,
    /// The Redis key prefix (for tests; default: a fresh one per run).
    #[arg(long, hide = true)]
    pub(crate) redis_prefix: Option<KeyPrefix>,
}

#[derive(Debug, Args)]
pub(crate) struct LoadgenArgs {
    /// The shop's address, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub(crate) url: String,
    #[arg(long)]
    pub(crate) account: AccountName,
    /// How many shoppers to simulate.
    #[arg(long)]
    pub(crate) shoppers: u64,
    /// How many shoppers shop at the same time.
    #[arg(long, default_value_t = 8)]
    pub(crate) concurrency: usize,
    /// The share of shoppers that come with a ref (0 to 1).
    #[arg(long, default_value_t = 0.8)]
    pub(crate) tracked_ratio: f64,
    /// Seed of the random journeys, for repeatable runs.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// The events to shop for (repeatable; default: the demo catalog's).
    #[arg(long = "event")]
    pub(crate) events: Vec<u64>,
    /// Print one JSON summary object as the last line of stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// Import a catalog file (TOML; see examples/catalog.toml). Importing the same file
    /// again updates the catalog in place.
    Import {
        file: PathBuf,
        #[arg(long)]
        account: AccountName,
    },
}

#[derive(Debug, Args)]
pub(crate) struct WidgetUrlArgs {
    #[arg(long)]
    pub(crate) account: AccountName,
    /// addtickets, basket or checkout.
    #[arg(long, value_parser = ["addtickets", "basket", "checkout"])]
    pub(crate) widget: String,
    /// A widget parameter, e.g. --param event=10003 (repeatable).
    #[arg(long = "param", value_parser = parse_param)]
    pub(crate) params: Vec<(String, String)>,
    /// Append this ref (the shopper's consent to be tracked).
    #[arg(long = "ref")]
    pub(crate) reference: Option<String>,
    /// The shop's public address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub(crate) url: String,
    /// The widget key to sign with (default: the account's first widget key).
    #[arg(long)]
    pub(crate) accesskey: Option<String>,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))?;
    if name.is_empty() {
        return Err(format!("{s:?} has an empty name"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", env = "TICKETSTREAM_LISTEN")]
    pub(crate) listen: String,
    /// How long items are kept in the eventstream, e.g. 4h, 90m.
    #[arg(long, default_value = "4h", value_parser = parse_duration, env = "TICKETSTREAM_RETENTION")]
    pub(crate) retention: Duration,
    /// Where the eventstream lives: unset for the embedded log under the data directory,
    /// or redis://HOST:PORT/DB for Redis Streams (6.2+) shared by several server processes.
    #[arg(long, value_name = "URL", env = "TICKETSTREAM_EVENTLOG")]
    pub(crate) eventlog: Option<RedisUrl>,
    /// The prefix of every Redis key and channel, so deployments can share one Redis.
    #[arg(long, value_name = "PREFIX", default_value = KeyPrefix::DEFAULT, env = "TICKETSTREAM_EVENTLOG_PREFIX")]
    pub(crate) eventlog_prefix: KeyPrefix,
    /// Run `demo init` first and print ready-to-use commands.
    #[arg(long)]
    pub(crate) demo: bool,
    /// How the SQLite shop store syncs a commit to disk before the change is answered:
    /// `full` (an answered change survives a crash of the process and a power cut) or
    /// `normal` (WAL with synchronous=NORMAL: it survives a crash of the process, kill -9
    /// included, but a power cut or an operating system crash may lose the changes of
    /// the last moments). PostgreSQL keeps its own server's settings.
    #[arg(
        long,
        value_name = "MODE",
        default_value = "full",
        env = "TICKETSTREAM_SHOP_SYNC"
    )]
    pub(crate) shop_sync: ShopSync,
    /// How long an unpaid order holds its seats.
    #[arg(long, default_value = "15m", value_parser = parse_duration, env = "TICKETSTREAM_RESERVATION")]
    pub(crate) reservation: Duration,
    /// Eventstream requests per second one access key may make (more get 429).
    #[arg(long, default_value_t = 100, env = "TICKETSTREAM_API_RATE")]
    pub(crate) api_rate: u32,
    /// Eventstream requests served at once, all keys together, long-polls included and
    /// SSE streams not (more get 503).
    #[arg(long, default_value_t = 4096, env = "TICKETSTREAM_API_MAX_IN_FLIGHT")]
    pub(crate) api_max_in_flight: usize,
    /// Shop page requests per second one client address may make (burst: five times
    /// that; more get a 429 page).
    #[arg(long, default_value_t = 20, env = "TICKETSTREAM_PAGE_RATE")]
    pub(crate) page_rate: u32,
    /// A reverse proxy whose X-Forwarded-For names the client address (repeatable).
    #[arg(
        long = "trusted-proxy",
        value_name = "ADDR",
        env = "TICKETSTREAM_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub(crate) trusted_proxies: Vec<std::net::IpAddr>,
    /// Eventstream requests one access key may have in flight (more get 429).
    #[arg(
        long,
        default_value_t = 64,
        env = "TICKETSTREAM_API_MAX_IN_FLIGHT_PER_KEY"
    )]
    pub(crate) api_max_in_flight_per_key: usize,
    /// SSE streams open at once, all keys together (more get 503).
    #[arg(long, default_value_t = 1024, env = "TICKETSTREAM_API_MAX_STREAMS")]
    pub(crate) api_max_streams: usize,
    /// SSE streams one access key may have open (more get 429).
    #[arg(
        long,
        default_value_t = 16,
        env = "TICKETSTREAM_API_MAX_STREAMS_PER_KEY"
    )]
    pub(crate) api_max_streams_per_key: usize,
    /// How long a client may take to send a request's headers (and a kept-alive
    /// connection may sit idle) before its connection is closed.
    #[arg(long, default_value = "30s", value_parser = parse_duration, env = "TICKETSTREAM_HEADER_READ_TIMEOUT")]
    pub(crate) header_read_timeout: Duration,
    /// Serve Prometheus metrics at /metrics on this address (off when unset). It is not
    /// behind the API keys: give an address only monitoring reaches, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR", env = "TICKETSTREAM_METRICS_LISTEN")]
    pub(crate) metrics_listen: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Create an account (an organiser).
    Create {
        /// Short name used in URLs: lowercase letters, digits, '-' and '_'.
        name: AccountName,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a key pair and print it.
    Create {
        #[arg(long)]
        account: AccountName,
        /// A widget key pair (signs widget URLs) instead of an API key pair.
        #[arg(long)]
        widget: bool,
        /// Print {"accesskey": ..., "secretkey": ...}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DemoCommand {
    /// Create the demo account and keys, once; later runs print the same.
    Init {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 4h, 90m, 30s)"))?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(d)
}
