//! `ticketstream bench`: a reproducible benchmark of the whole product. It starts real
//! servers of this same binary on loopback ports with temporary data directories, runs
//! each scenario against them over HTTP, and prints the figures of the performance goals
//! as a table (and with `--json` one JSON object as the last line of stdout).
//!
//! A run, in order:
//! 1. the shop (demo catalog, capacities raised): shop actions through the real pages
//!    with the load generator, tracked and untracked, with the server's CPU per action;
//!    then paced page views for the latency from an action to a long-polling and an SSE
//!    reader. The tracked shoppers' items are kept as templates.
//! 2. the read stream: the templates repeated into a stream of `--items` items through
//!    the event log's own append, then hot and cold reads, `consume` catching up, the
//!    server's RSS, and the disk bytes per item after the server stopped.
//! 3. with `--redis`: the same items in Redis (XRANGE for comparison), and the read stream
//!    served from Redis Streams (`scaleout_` figures); with `--database-url` also the
//!    shop on PostgreSQL with Redis Streams, where `serve` accepts it.
//!
//! Progress goes to stderr. Servers and children die with the run (also on Ctrl-C), the
//! temporary directories and Redis keys are removed.

mod actions;
mod catalog;
mod consumer;
mod figures;
mod follow;
mod items;
mod latency;
mod plan;
mod procfs;
mod read;
mod redis;
mod report;
mod resp;
mod server;
mod setup;
mod stats;

use std::io::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use eventlog::{Backend, KeyPrefix};
use protocol::AccountName;
use shop::{DatabaseUrl, ShopSync};

use self::plan::Plan;
use self::redis::RedisTarget;
use self::report::{Report, SCALEOUT, grouped};
use self::server::ServeOptions;
use self::setup::{Admin, READ_ACCOUNT};
use crate::cli::BenchArgs;

pub(crate) async fn run(args: BenchArgs, database_url: Option<DatabaseUrl>) -> anyhow::Result<()> {
    let plan = Plan::new(&args)?;
    let prefix = match &args.redis_prefix {
        Some(prefix) => prefix.clone(),
        None => default_prefix()?,
    };
    let reads = match &args.redis {
        Some(url) => Some(RedisTarget::new(url, prefix.clone())?),
        None => None,
    };
    let shop = match (database_url, &args.redis) {
        (Some(_), None) => {
            bail!(
                "--database-url needs --redis: the scale-out deployment keeps its eventstream in Redis"
            )
        }
        (Some(db), Some(url)) => {
            let prefix = KeyPrefix::parse(&format!("{}-shop", prefix.as_str()))
                .map_err(|e| anyhow!("--redis-prefix: {e}"))?;
            Some((db, RedisTarget::new(url, prefix)?))
        }
        _ => None,
    };

    let mut report = Report::default();
    let measured = tokio::select! {
        result = measure(&plan, reads.as_ref(), shop.as_ref(), &mut report) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    // Whatever happened, this run's keys go.
    for target in reads.iter().chain(shop.iter().map(|(_, t)| t)) {
        match target.clean_up().await {
            Ok(n) => progress(&format!(
                "deleted {n} Redis keys under {}",
                target.prefix.as_str()
            )),
            Err(e) => eprintln!(
                "warning: could not delete the Redis keys under {}: {e:#}",
                target.prefix.as_str()
            ),
        }
    }
    measured?;

    let mut out = std::io::stdout().lock();
    report.print_table(&mut out)?;
    if args.json {
        writeln!(out, "{}", report.json())?;
    }
    out.flush()?;
    Ok(())
}

fn default_prefix() -> anyhow::Result<KeyPrefix> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    KeyPrefix::parse(&format!("tsbench-{}-{nanos}", std::process::id()))
        .map_err(|e| anyhow!("the Redis key prefix: {e}"))
}

/// A progress line on stderr, with the time since the run started.
pub(crate) fn progress(message: &str) {
    static STARTED: OnceLock<Instant> = OnceLock::new();
    let since = STARTED.get_or_init(Instant::now).elapsed();
    eprintln!("bench: {:6.1} s: {message}", since.as_secs_f64());
}

async fn measure(
    plan: &Plan,
    reads: Option<&RedisTarget>,
    shop: Option<&(DatabaseUrl, RedisTarget)>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let work = tempfile::Builder::new()
        .prefix("ticketstream-bench-")
        .tempdir()
        .context("making a temporary directory")?;
    progress(&format!("working in {}", work.path().display()));

    let admin = Admin::new(&work.path().join("shop"), None)?;
    let sync = [(
        "TICKETSTREAM_SHOP_SYNC".to_owned(),
        plan.shop_sync.as_str().to_owned(),
    )];
    let templates = figures::shop_figures(plan, &admin, &sync, "", report).await?;
    if plan.shop_sync != ShopSync::default() {
        report.remark(format!(
            "the embedded shop ran with --shop-sync {}",
            plan.shop_sync.as_str()
        ));
    }

    let admin = Admin::new(&work.path().join("log"), None)?;
    let key = admin.read_account().await?;
    let account = AccountName::parse(READ_ACCOUNT).context("the read account")?;
    progress(&format!(
        "appending {} items ({} real ones repeated, {:.0} B of JSON each on average)",
        grouped(plan.items as f64, 0),
        templates.len(),
        templates.mean_json_bytes()
    ));
    let dir = admin.data_dir.join("eventlog");
    let backend = Backend::Embedded { dir: dir.clone() };
    let ids = Arc::new(items::prefill(backend, &account, &templates, plan.items).await?);
    let options = ServeOptions {
        data_dir: admin.data_dir.clone(),
        env: Vec::new(),
    };
    figures::read_figures(plan, &options, &key, &ids, "", report, work.path()).await?;
    let bytes = server::dir_bytes(&dir)?;
    report.set(
        "bytes_per_item",
        bytes as f64 / ids.len() as f64,
        format!(
            "{}, {:.0} B of JSON each, files after the server stopped",
            plan.items_note(),
            templates.mean_json_bytes()
        ),
    );

    let Some(redis) = reads else {
        report.remark("without --redis: no Redis or scale-out figures");
        return Ok(());
    };
    progress(&format!(
        "appending the same items to Redis under {}",
        redis.prefix.as_str()
    ));
    let redis_ids = items::prefill(redis.backend(), &account, &templates, plan.items).await?;
    progress("Redis XRANGE");
    let xrange = redis
        .xrange_tail(READ_ACCOUNT, &redis_ids, plan.read_time)
        .await?;
    report.set(
        "redis_xrange_items_per_s",
        xrange,
        format!(
            "XRANGE COUNT 1000 on the newest of {}, 4 connections",
            plan.items_note()
        ),
    );
    let options = ServeOptions {
        data_dir: admin.data_dir.clone(),
        env: redis.serve_env(),
    };
    let ids = Arc::new(redis_ids);
    figures::read_figures(plan, &options, &key, &ids, SCALEOUT, report, work.path()).await?;
    report.set(
        "scaleout_bytes_per_item",
        redis.bytes_per_item(READ_ACCOUNT, ids.len()).await?,
        format!("Redis MEMORY USAGE of the stream, {}", plan.items_note()),
    );

    match shop {
        None => report.remark(
            "without --database-url: the scale-out action and latency figures were not measured",
        ),
        Some((database_url, target)) => {
            let admin = Admin::new(&work.path().join("scaleout"), Some(database_url.clone()))?;
            figures::shop_figures(plan, &admin, &target.serve_env(), SCALEOUT, report).await?;
        }
    }
    Ok(())
}
