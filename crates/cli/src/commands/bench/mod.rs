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
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use eventlog::{Backend, KeyPrefix};
use protocol::{AccountName, ItemId};

use self::items::Templates;
use self::plan::Plan;
use self::redis::RedisTarget;
use self::report::{Report, SCALEOUT, grouped};
use self::server::{ServeOptions, Server};
use self::setup::{Admin, ApiKey, READ_ACCOUNT, SHOP_ACCOUNT};
use crate::cli::BenchArgs;

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let plan = Plan::new(&args)?;
    let prefix = match &args.redis_prefix {
        Some(prefix) => prefix.clone(),
        None => default_prefix()?,
    };
    let reads = match &args.redis {
        Some(url) => Some(RedisTarget::new(url, prefix.clone())?),
        None => None,
    };
    let shop = match (&args.database_url, &args.redis) {
        (Some(_), None) => {
            bail!(
                "--database-url needs --redis: the scale-out deployment keeps its eventstream in Redis"
            )
        }
        (Some(db), Some(url)) => {
            let prefix = KeyPrefix::parse(&format!("{}-shop", prefix.as_str()))
                .map_err(|e| anyhow!("--redis-prefix: {e}"))?;
            Some((db.clone(), RedisTarget::new(url, prefix)?))
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
    shop: Option<&(String, RedisTarget)>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let work = tempfile::Builder::new()
        .prefix("ticketstream-bench-")
        .tempdir()
        .context("making a temporary directory")?;
    progress(&format!("working in {}", work.path().display()));

    let admin = Admin::new(&work.path().join("shop"), None)?;
    let templates = shop_figures(plan, &admin, &[], "", report).await?;

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
        extra: Vec::new(),
    };
    read_figures(plan, &options, &key, &ids, "", report, work.path()).await?;
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
        extra: redis.serve_args(),
    };
    let ids = Arc::new(redis_ids);
    read_figures(plan, &options, &key, &ids, SCALEOUT, report, work.path()).await?;
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
            if admin.takes_database_url(&["serve"]).await?
                && admin.takes_database_url(&["demo", "init"]).await?
                && admin.takes_database_url(&["catalog", "import"]).await?
            {
                shop_figures(plan, &admin, &target.serve_args(), SCALEOUT, report).await?;
            } else {
                report.remark(
                    "this ticketstream does not take --database-url yet: the scale-out action and latency figures were skipped",
                );
            }
        }
    }
    Ok(())
}

/// Actions and latency on a fresh shop; returns the tracked shoppers' items as templates.
async fn shop_figures(
    plan: &Plan,
    admin: &Admin,
    extra: &[String],
    prefix: &str,
    report: &mut Report,
) -> anyhow::Result<Templates> {
    let deployment = if prefix.is_empty() {
        "embedded"
    } else {
        "scale-out"
    };
    progress(&format!("setting up the shop ({deployment})"));
    let key = admin.shop_account().await?;
    let mut serve_args = admin.serve_args();
    serve_args.extend_from_slice(extra);
    let server = Server::start(&ServeOptions {
        data_dir: admin.data_dir.clone(),
        extra: serve_args,
    })
    .await?;

    progress(&format!("{} tracked shoppers", plan.shoppers));
    let tracked = actions::measure(&server, plan.shoppers, 1.0).await?;
    let (templates, next_id) = items::capture(&server.base_url(), SHOP_ACCOUNT, &key).await?;
    progress(&format!("{} untracked shoppers", plan.shoppers));
    let untracked = actions::measure(&server, plan.shoppers, 0.0).await?;
    progress(&format!(
        "paced page views at {:.0}/s for {:?}",
        plan.latency_rate, plan.latency_time
    ));
    let mut latency = latency::measure(
        &server.base_url(),
        &key,
        &next_id,
        plan.latency_rate,
        plan.latency_time,
    )
    .await?;
    server.stop().await?;

    for (name, run) in [("tracked", tracked), ("untracked", untracked)] {
        let note = format!(
            "{} shoppers, 16 at once: {} actions, {} errors",
            plan.shoppers, run.actions, run.errors
        );
        report.set(
            &format!("{prefix}{name}_actions_per_s"),
            run.per_s,
            note.clone(),
        );
        report.set(
            &format!("{prefix}server_cpu_us_per_{name}_action"),
            run.cpu_us_per_action,
            note,
        );
    }
    let note = format!(
        "{} views at {:.0}/s{}",
        latency.long_poll.len(),
        latency.actions_per_s,
        if latency.left_out > 0 {
            format!(", {} shoppers left out", latency.left_out)
        } else {
            String::new()
        }
    );
    let p50 = latency.long_poll.percentile_ms(50.0);
    let p99 = latency.long_poll.percentile_ms(99.0);
    let sse = latency.sse.percentile_ms(99.0);
    let (Some(p50), Some(p99), Some(sse)) = (p50, p99, sse) else {
        bail!("no latency samples");
    };
    report.set(&format!("{prefix}latency_p50_ms"), p50, note.clone());
    report.set(&format!("{prefix}latency_p99_ms"), p99, note.clone());
    report.set(&format!("{prefix}sse_latency_p99_ms"), sse, note);
    Ok(templates)
}

/// Hot and cold reads, `consume` catching up, and the RSS, on a server of the read stream.
async fn read_figures(
    plan: &Plan,
    options: &ServeOptions,
    key: &ApiKey,
    ids: &Arc<Vec<ItemId>>,
    prefix: &str,
    report: &mut Report,
    work: &Path,
) -> anyhow::Result<()> {
    let server = Server::start(options).await?;
    let stream = read::Stream {
        url: format!("{}/api/1/{READ_ACCOUNT}/eventstream", server.base_url()),
        key: key.clone(),
        ids: Arc::clone(ids),
    };
    let where_ = if prefix.is_empty() {
        "embedded log"
    } else {
        "Redis Streams"
    };
    progress(&format!("reading the newest items ({where_})"));
    let (hot, hot_cores) = server
        .busy(read::measure(&stream, read::Pages::Tail, plan.read_time))
        .await?;
    progress(&format!("reading old items ({where_})"));
    let (cold, cold_cores) = server
        .busy(read::measure(
            &stream,
            read::Pages::Anywhere,
            plan.read_time,
        ))
        .await?;
    progress(&format!("consume catching up ({where_})"));
    let consume_dir = work.join(format!("{prefix}consume"));
    std::fs::create_dir_all(&consume_dir)?;
    let (consumed, consume_cores) = server
        .busy(consumer::measure(
            &server.base_url(),
            READ_ACCOUNT,
            key,
            &consume_dir,
            ids.len(),
            plan.consume_limit,
        ))
        .await?;
    let resident = server.resident()?;
    server.stop().await?;
    // The consumer's copy of the stream is not needed any more.
    let _ = std::fs::remove_dir_all(&consume_dir);

    let items = plan.items_note();
    let pages = format!("{items}, 1000-item pages, 4 connections");
    let load = |reads: read::Reads, cores: f64| {
        let errors = match reads.errors {
            0 => String::new(),
            n => format!(", {n} error answers"),
        };
        format!(", server busy {cores:.2} cores{errors}")
    };
    report.set(
        &format!("{prefix}read_items_per_s"),
        hot.items_per_s,
        format!("newest of {pages}{}", load(hot, hot_cores)),
    );
    report.set(
        &format!("{prefix}read_cold_items_per_s"),
        cold.items_per_s,
        format!("anywhere in {pages}{}", load(cold, cold_cores)),
    );
    let all = consumed.items == ids.len() as u64;
    report.set(
        &format!("{prefix}consumer_items_per_s"),
        consumed.items_per_s,
        if all {
            format!("{items} backlog to NDJSON, server busy {consume_cores:.2} cores")
        } else {
            format!(
                "{items} backlog to NDJSON: only {} in {:.0} s, server busy {consume_cores:.2} cores",
                grouped(consumed.items as f64, 0),
                consumed.elapsed.as_secs_f64()
            )
        },
    );
    let mb = |bytes: u64| bytes as f64 / 1_048_576.0;
    let rss_note = format!(
        "{}{items} after reading {}: {:.0} MB heap, {:.0} MB mapped files",
        if plan.items == Plan::FULL_ITEMS {
            ""
        } else {
            "not 1M but "
        },
        if all { "them all" } else { "part of them" },
        mb(resident.anon),
        mb(resident.file)
    );
    report.set(
        &format!("{prefix}rss_mb_1m_items"),
        mb(resident.total),
        rss_note,
    );
    Ok(())
}
