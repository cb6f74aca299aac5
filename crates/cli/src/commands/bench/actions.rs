//! Shop actions through the real pages: the load generator's shoppers (cookies, CSRF
//! tokens, whole journeys) against a server, with the server's CPU time per action.

use std::time::Duration;

use anyhow::Context as _;
use protocol::AccountName;

use super::procfs::ProcessCpu;
use super::server::Server;
use super::setup::SHOP_ACCOUNT;
use crate::cli::LoadgenArgs;
use crate::commands::loadgen;

/// Shoppers at once, as in the goal.
const CONCURRENCY: usize = 16;
/// The journeys of a run's first round; round `r` walks those of `SEED + r`.
pub(crate) const SEED: u64 = 20_261_201;
/// How long the server may take to finish relaying after the last response.
const SETTLE: Duration = Duration::from_secs(30);

/// What load runs measured, added up over rounds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Actions {
    pub(crate) actions: u64,
    pub(crate) errors: u64,
    /// The server's CPU time over the runs.
    pub(crate) cpu: ProcessCpu,
    /// The runs' time, from the first shopper's start to the last one's end.
    pub(crate) elapsed: Duration,
}

impl Actions {
    pub(crate) fn add(&mut self, run: Actions) {
        self.actions += run.actions;
        self.errors += run.errors;
        self.cpu.add(run.cpu);
        self.elapsed += run.elapsed;
    }

    pub(crate) fn per_s(&self) -> f64 {
        self.actions as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn cpu_us_per_action(&self) -> f64 {
        self.cpu.total().as_secs_f64() * 1e6 / self.actions as f64
    }
}

/// `shoppers` shoppers walking the journeys of `seed`, `tracked_ratio` of them with a ref.
pub(crate) async fn measure(
    server: &Server,
    shoppers: u64,
    tracked_ratio: f64,
    seed: u64,
) -> anyhow::Result<Actions> {
    let args = LoadgenArgs {
        url: server.base_url(),
        account: AccountName::parse(SHOP_ACCOUNT).context("the shop account")?,
        shoppers,
        concurrency: CONCURRENCY,
        tracked_ratio,
        seed: Some(seed),
        events: Vec::new(),
        json: false,
    };
    let before = server.settle(SETTLE).await?;
    let outcome = loadgen::simulate(&args).await?;
    // The relay and the log's commits after the last response are part of the cost.
    let after = server.settle(SETTLE).await?;
    let totals = &outcome.totals;
    let actions = totals.tracked_actions() + totals.untracked_actions;
    if actions == 0 {
        anyhow::bail!("the shoppers made no action ({} errors)", totals.errors);
    }
    Ok(Actions {
        actions,
        errors: totals.errors,
        cpu: after.since(before),
        elapsed: outcome.elapsed,
    })
}
