//! From the command line and the config file to typed, checked settings: everything is
//! validated here, before anything connects or writes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use consumer::{AuthScheme, Backoff, Credentials, ForwarderConfig, SinkSpec};
use protocol::{AccountName, ItemId, StartAt, Timestamp};
use serde::Deserialize;

use super::args::{ReplayArgs, RunArgs};

/// The config file: the same options as the command line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    url: Option<String>,
    account: Option<String>,
    key: Option<String>,
    secret: Option<String>,
    auth: Option<String>,
    state_dir: Option<PathBuf>,
    types: Option<Vec<String>>,
    start: Option<String>,
    #[serde(default)]
    sinks: Vec<String>,
    poll_interval: Option<String>,
    wait: Option<u64>,
    limit: Option<usize>,
    lag_warning: Option<String>,
    metrics: Option<String>,
}

impl ConfigFile {
    fn load(path: Option<&Path>) -> anyhow::Result<ConfigFile> {
        let Some(path) = path else {
            return Ok(ConfigFile::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// Everything `consume` needs, checked.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) url: String,
    pub(crate) account: AccountName,
    pub(crate) credentials: Credentials,
    pub(crate) auth: AuthScheme,
    pub(crate) state_dir: PathBuf,
    pub(crate) sinks: Vec<SinkSpec>,
    pub(crate) forwarder: ForwarderConfig,
    pub(crate) metrics: Option<SocketAddr>,
}

impl Settings {
    pub(crate) fn resolve(args: RunArgs) -> anyhow::Result<Settings> {
        let file = ConfigFile::load(args.config.as_deref())?;
        let missing = |what: &str, flag: &str| {
            anyhow::anyhow!("missing {what}: pass {flag} or set it in the --config file")
        };
        let url = args
            .url
            .or(file.url)
            .ok_or_else(|| missing("the server URL", "--url"))?;
        let account = args
            .account
            .or(file.account)
            .ok_or_else(|| missing("the account", "--account"))?;
        let account = AccountName::parse(&account)?;
        let accesskey = args
            .key
            .or(file.key)
            .ok_or_else(|| missing("the access key", "--key (or TICKETSTREAM_ACCESSKEY)"))?;
        let secretkey = args
            .secret
            .or(file.secret)
            .ok_or_else(|| missing("the secret key", "--secret (or TICKETSTREAM_SECRETKEY)"))?;
        let auth = match args.auth.or(file.auth) {
            None => AuthScheme::Basic,
            Some(s) => s.parse().map_err(anyhow::Error::msg)?,
        };
        let state_dir = args
            .state_dir
            .or(file.state_dir)
            .ok_or_else(|| missing("the state directory", "--state-dir"))?;
        let sinks = parse_sinks(if args.sinks.is_empty() {
            file.sinks
        } else {
            args.sinks
        })?;
        let types = args.types.or(file.types).filter(|t| !t.is_empty());
        if let Some(types) = &types
            && let Some(bad) = types
                .iter()
                .find(|t| t.trim().is_empty() || t.contains(','))
        {
            bail!("--types: {bad:?} is not a type name");
        }
        let start = parse_start(args.start.or(file.start).as_deref().unwrap_or("oldest"))?;
        let poll_interval = match args.poll_interval.or(file.poll_interval) {
            None => Duration::from_secs(5),
            Some(s) => parse_duration("--poll-interval", &s)?,
        };
        if !(Duration::from_secs(5)..=Duration::from_secs(60)).contains(&poll_interval) {
            bail!("--poll-interval must be from 5s to 60s (the interval the API asks for)");
        }
        let wait = args.wait.or(file.wait).unwrap_or(30);
        if wait > 60 {
            bail!("--wait must be from 0 to 60 seconds");
        }
        let limit = args.limit.or(file.limit);
        if limit.is_some_and(|l| !(1..=10_000).contains(&l)) {
            bail!("--limit must be from 1 to 10000");
        }
        let lag_warning = match args.lag_warning.or(file.lag_warning) {
            None => Duration::from_secs(3600),
            Some(s) => parse_duration("--lag-warning", &s)?,
        };
        let metrics = match args.metrics.or(file.metrics) {
            None => None,
            Some(addr) => Some(
                addr.parse::<SocketAddr>()
                    .with_context(|| format!("--metrics {addr:?}: expected HOST:PORT"))?,
            ),
        };
        Ok(Settings {
            url,
            account,
            credentials: Credentials {
                accesskey,
                secretkey,
            },
            auth,
            state_dir,
            sinks,
            forwarder: ForwarderConfig {
                start,
                types,
                limit,
                wait: Duration::from_secs(wait),
                poll_interval,
                lag_warning: Some(lag_warning),
                backoff: Backoff::default(),
            },
            metrics,
        })
    }
}

/// The settings of `consume replay`.
#[derive(Debug)]
pub(crate) struct ReplaySettings {
    pub(crate) state_dir: PathBuf,
    pub(crate) sinks: Vec<SinkSpec>,
    pub(crate) batch_size: usize,
}

impl ReplaySettings {
    pub(crate) fn resolve(args: ReplayArgs) -> anyhow::Result<ReplaySettings> {
        let file = ConfigFile::load(args.config.as_deref())?;
        let state_dir = args.state_dir.or(file.state_dir).ok_or_else(|| {
            anyhow::anyhow!(
                "missing the state directory: pass --state-dir or set it in the --config file"
            )
        })?;
        let sinks = parse_sinks(if args.sinks.is_empty() {
            file.sinks
        } else {
            args.sinks
        })?;
        if !(1..=10_000).contains(&args.batch_size) {
            bail!("--batch-size must be from 1 to 10000");
        }
        Ok(ReplaySettings {
            state_dir,
            sinks,
            batch_size: args.batch_size,
        })
    }
}

fn parse_sinks(specs: Vec<String>) -> anyhow::Result<Vec<SinkSpec>> {
    if specs.is_empty() {
        bail!("no sink: pass --sink, e.g. --sink ndjson:items.ndjson");
    }
    let mut sinks: Vec<SinkSpec> = Vec::new();
    for spec in specs {
        let sink: SinkSpec = spec.parse()?;
        if sinks.iter().any(|s| s.name == sink.name) {
            bail!(
                "two sinks are named {:?}: name them apart with NAME=KIND:..., they need a cursor each",
                sink.name
            );
        }
        sinks.push(sink);
    }
    Ok(sinks)
}

/// `oldest`, `now`, an item id (`<ms>-<seq>`) or a timestamp.
pub(crate) fn parse_start(s: &str) -> anyhow::Result<StartAt> {
    match s {
        "oldest" => Ok(StartAt::Oldest),
        "now" => Ok(StartAt::Time(Timestamp::now())),
        _ => {
            if let Ok(id) = s.parse::<ItemId>() {
                Ok(StartAt::Id(id))
            } else if let Ok(ts) = s.parse::<Timestamp>() {
                Ok(StartAt::Time(ts))
            } else {
                bail!(
                    "--start {s:?}: use oldest, now, an item id such as 1661358385340-0, or a timestamp such as 2022-09-13T11:46:25Z"
                )
            }
        }
    }
}

fn parse_duration(flag: &str, s: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(s).with_context(|| format!("{flag} {s:?}: expected e.g. 5s, 2m, 1h"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn start_forms() {
        assert_eq!(parse_start("oldest").unwrap(), StartAt::Oldest);
        assert!(matches!(parse_start("now").unwrap(), StartAt::Time(_)));
        assert_eq!(
            parse_start("1661358385340-2").unwrap(),
            StartAt::Id(ItemId::new(1661358385340, 2))
        );
        assert_eq!(
            parse_start("2022-09-13T11:46:25Z").unwrap(),
            StartAt::Time("2022-09-13T11:46:25".parse().unwrap())
        );
        assert!(parse_start("yesterday").is_err());
    }

    #[test]
    fn config_file_fills_in_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consume.toml");
        std::fs::write(
            &path,
            r#"
url = "http://file.test"
account = "demo"
key = "AK"
secret = "SK"
auth = "hmac"
state_dir = "/var/lib/ts"
sinks = ["ndjson:a.ndjson"]
poll_interval = "10s"
wait = 20
"#,
        )
        .unwrap();
        let args = RunArgs {
            config: Some(path),
            url: Some("http://flag.test".into()),
            account: None,
            key: None,
            secret: None,
            auth: None,
            state_dir: None,
            types: None,
            start: None,
            sinks: vec![],
            poll_interval: None,
            wait: Some(0),
            limit: None,
            lag_warning: None,
            metrics: None,
            no_progress: false,
        };
        let s = Settings::resolve(args).unwrap();
        assert_eq!(s.url, "http://flag.test");
        assert_eq!(s.account.as_str(), "demo");
        assert_eq!(s.auth, AuthScheme::Hmac);
        assert_eq!(s.forwarder.poll_interval, Duration::from_secs(10));
        assert_eq!(s.forwarder.wait, Duration::ZERO);
        assert_eq!(s.sinks.len(), 1);
    }
}
