//! The figures of one deployment: the shop's (actions through the pages, CPU per action,
//! latency to readers) and the read stream's (hot and cold reads, `consume`, memory),
//! each measured on a server of its own and written into the report.

use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use protocol::ItemId;

use super::items::{self, Templates};
use super::plan::Plan;
use super::report::{Report, grouped};
use super::server::{Busy, ServeOptions, Server};
use super::setup::{Admin, ApiKey, READ_ACCOUNT, SHOP_ACCOUNT};
use super::{actions, consumer, latency, progress, read};

/// Actions and latency on a fresh shop; returns the tracked shoppers' items as templates.
pub(crate) async fn shop_figures(
    plan: &Plan,
    admin: &Admin,
    env: &[(String, String)],
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
    let server = Server::start(&ServeOptions {
        data_dir: admin.data_dir.clone(),
        env: [env, &admin.env()].concat(),
    })
    .await?;

    let ((tracked, untracked), actions_busy) = server
        .busy(tracked_and_untracked(&server, plan.shoppers))
        .await?;
    let (templates, next_id) = items::capture(&server.base_url(), SHOP_ACCOUNT, &key).await?;
    progress(&format!(
        "paced page views at {:.0}/s for {:?}",
        plan.latency_rate, plan.latency_time
    ));
    let (mut latency, latency_busy) = server
        .busy(latency::measure(
            &server.base_url(),
            &key,
            &next_id,
            plan.latency_rate,
            plan.latency_time,
        ))
        .await?;
    server.stop().await?;

    let rounds = rounds(plan.shoppers);
    for (name, run) in [("tracked", tracked), ("untracked", untracked)] {
        let note = format!(
            "{} shoppers, 16 at once, in {rounds} rounds: {} actions, {} errors",
            plan.shoppers, run.actions, run.errors
        );
        report.set(
            &format!("{prefix}{name}_actions_per_s"),
            run.per_s(),
            note.clone(),
        );
        report.set(
            &format!("{prefix}server_cpu_us_per_{name}_action"),
            run.cpu_us_per_action(),
            format!("{note}; {:.0} % of it in user space", run.cpu.user_pct()),
        );
    }
    report.set(
        &format!("{prefix}actions_steal_pct"),
        actions_busy.steal_pct,
        "of the machine's CPU time while the shoppers ran, given to other guests",
    );
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
    report.set(
        &format!("{prefix}latency_steal_pct"),
        latency_busy.steal_pct,
        "of the machine's CPU time during the paced views, given to other guests",
    );
    Ok(templates)
}

/// Tracked and untracked shoppers take turns in this many rounds, each round's second
/// kind going first in the next (tracked, untracked; untracked, tracked; ...). A machine
/// whose speed drifts during the run (other work on it, its caches, the server's own
/// warming up) then weighs on both kinds alike, and the ratio of their CPU times is not
/// decided by which kind ran first.
const ROUNDS: u64 = 4;

fn rounds(shoppers: u64) -> u64 {
    ROUNDS.min(shoppers)
}

/// `shoppers` tracked and as many untracked shoppers, in rounds (see [`ROUNDS`]). Both
/// kinds of a round walk the same journeys.
async fn tracked_and_untracked(
    server: &Server,
    shoppers: u64,
) -> anyhow::Result<(actions::Actions, actions::Actions)> {
    let rounds = rounds(shoppers);
    let (mut tracked, mut untracked) = (actions::Actions::default(), actions::Actions::default());
    for round in 0..rounds {
        let these = shoppers * (round + 1) / rounds - shoppers * round / rounds;
        let seed = actions::SEED + round;
        progress(&format!(
            "round {} of {rounds}: {these} tracked and {these} untracked shoppers",
            round + 1
        ));
        let order: [bool; 2] = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for with_ref in order {
            let ratio = if with_ref { 1.0 } else { 0.0 };
            let run = actions::measure(server, these, ratio, seed).await?;
            if with_ref {
                tracked.add(run);
            } else {
                untracked.add(run);
            }
        }
    }
    Ok((tracked, untracked))
}

/// Hot and cold reads, `consume` catching up, and the RSS, on a server of the read stream.
pub(crate) async fn read_figures(
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
    let (hot, hot_busy) = server
        .busy(read::measure(&stream, read::Pages::Tail, plan.read_time))
        .await?;
    progress(&format!("reading old items ({where_})"));
    let (cold, cold_busy) = server
        .busy(read::measure(
            &stream,
            read::Pages::Anywhere,
            plan.read_time,
        ))
        .await?;
    progress(&format!("consume catching up ({where_})"));
    let consume_dir = work.join(format!("{prefix}consume"));
    std::fs::create_dir_all(&consume_dir)?;
    let (consumed, consume_busy) = server
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
    let load = |reads: read::Reads, busy: Busy| {
        let errors = match reads.errors {
            0 => String::new(),
            n => format!(", {n} error answers"),
        };
        format!(", {busy}{errors}")
    };
    report.set(
        &format!("{prefix}read_items_per_s"),
        hot.items_per_s,
        format!("newest of {pages}{}", load(hot, hot_busy)),
    );
    report.set(
        &format!("{prefix}read_cold_items_per_s"),
        cold.items_per_s,
        format!("anywhere in {pages}{}", load(cold, cold_busy)),
    );
    let all = consumed.items == ids.len() as u64;
    report.set(
        &format!("{prefix}consumer_items_per_s"),
        consumed.items_per_s,
        if all {
            format!("{items} backlog to NDJSON, {consume_busy}")
        } else {
            format!(
                "{items} backlog to NDJSON: only {} in {:.0} s, {consume_busy}",
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
