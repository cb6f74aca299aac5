//! `ticketstream loadgen`: simulated shoppers walking whole journeys through the real pages
//! over HTTP, each with its own cookie jar, the way a browser would.
//!
//! The run is also a check of the tracking contract: every tracked shopper has its own
//! `ref`, and the summary says exactly which actions the server acknowledged per ref
//! (see `tally`), so the eventstream can be compared with it afterwards. Failed requests
//! are counted and the run carries on, so it can be pointed at a server that restarts.

mod checkout;
mod html;
mod journey;
mod plan;
mod progress;
mod refs;
mod report;
mod shopper;
mod tally;
mod tickets;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Url;
use tokio::task::JoinSet;

use self::plan::Plan;
use self::progress::Progress;
use self::report::Summary;
use self::shopper::{Shopper, Stop};
use self::tally::Ending;
pub(crate) use self::tally::Totals;
use crate::cli::LoadgenArgs;

/// The demo catalog's events, shopped for when no `--event` is given.
const DEMO_EVENTS: [u64; 3] = [10003, 10004, 10005];

/// A worker whose shopper failed waits this long before the next one, so a server that is
/// restarting is not raced through all remaining shoppers in a moment.
const AFTER_ERROR: Duration = Duration::from_millis(200);

/// What every worker needs to know.
#[derive(Debug)]
struct Run {
    /// `{url}/widgets/{account}/`
    base: Url,
    shoppers: u64,
    tracked_ratio: f64,
    seed: u64,
    events: Vec<u64>,
    next: AtomicU64,
    progress: Arc<Progress>,
}

pub(crate) async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let outcome = simulate(&args).await?;
    let summary = Summary::new(&outcome.totals, outcome.seed, outcome.elapsed);
    let mut out = std::io::stdout().lock();
    if args.json {
        summary.print_json(&mut out)
    } else {
        summary.print_text(&outcome.totals, &mut out)
    }
}

/// What a run did, for `run` to print and for `bench` to measure.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) totals: Totals,
    pub(crate) seed: u64,
    /// From the first shopper's start to the last one's end.
    pub(crate) elapsed: Duration,
}

/// Runs every shopper and returns what the server acknowledged.
pub(crate) async fn simulate(args: &LoadgenArgs) -> anyhow::Result<Outcome> {
    if !(0.0..=1.0).contains(&args.tracked_ratio) {
        bail!("--tracked-ratio must be between 0 and 1");
    }
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let url = Url::parse(&args.url).with_context(|| format!("--url {:?}", args.url))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--url must be an http:// address");
    }
    let base = url
        .join(&format!("/widgets/{}/", args.account))
        .context("--url")?;
    let seed = args.seed.unwrap_or_else(|| rand::thread_rng().r#gen());
    let events = if args.events.is_empty() {
        DEMO_EVENTS.to_vec()
    } else {
        args.events.clone()
    };
    let run = Arc::new(Run {
        base,
        shoppers: args.shoppers,
        tracked_ratio: args.tracked_ratio,
        seed,
        events,
        next: AtomicU64::new(0),
        progress: Arc::new(Progress::new(args.shoppers)),
    });

    let started = Instant::now();
    let reporter = run.progress.report();
    let workers = u64::try_from(args.concurrency)
        .unwrap_or(u64::MAX)
        .min(args.shoppers);
    let mut set = JoinSet::new();
    for _ in 0..workers {
        set.spawn(worker(Arc::clone(&run)));
    }
    let mut totals = Totals::default();
    while let Some(done) = set.join_next().await {
        totals.merge(done.context("a loadgen worker panicked")??);
    }
    reporter.abort();

    Ok(Outcome {
        totals,
        seed,
        elapsed: started.elapsed(),
    })
}

/// Takes the next shopper until all are done.
async fn worker(run: Arc<Run>) -> anyhow::Result<Totals> {
    let mut totals = Totals::default();
    loop {
        let n = run.next.fetch_add(1, Ordering::Relaxed);
        if n >= run.shoppers {
            return Ok(totals);
        }
        let reference = if refs::is_tracked(n, run.tracked_ratio) {
            Some(refs::for_shopper(run.seed, n).context("making a ref")?)
        } else {
            None
        };
        // Each shopper draws from its own stream, so a seed gives the same plans whatever
        // the concurrency.
        let mut rng = StdRng::seed_from_u64(run.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let plan = Plan::draw(n, &run.events, &mut rng);
        let mut shopper = Shopper::new(n, run.base.clone(), reference.clone(), rng)
            .context("building an HTTP client")?;
        let ending = match journey::walk(&mut shopper, &plan, &run.events).await {
            Ok(()) => Ending::Bought,
            Err(Stop::Abandoned) => Ending::Abandoned,
            Err(Stop::SoldOut) => Ending::SoldOut,
            Err(Stop::Failed(what)) => {
                run.progress.error(n, &what);
                Ending::Failed
            }
        };
        run.progress
            .shopper_done(shopper.tally.actions(), shopper.tally.errors);
        totals.add(reference.as_ref(), shopper.tally, ending);
        if ending == Ending::Failed {
            tokio::time::sleep(AFTER_ERROR).await;
        }
    }
}
