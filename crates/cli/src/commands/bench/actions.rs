//! Shop actions through the real pages: the load generator's shoppers (cookies, CSRF
//! tokens, whole journeys) against a server, with the server's CPU time per action.

use std::time::Duration;

use anyhow::Context as _;
use protocol::AccountName;

use super::server::Server;
use super::setup::SHOP_ACCOUNT;
use crate::cli::LoadgenArgs;
use crate::commands::loadgen;

/// Shoppers at once, as in the goal.
const CONCURRENCY: usize = 16;
/// The same journeys every run.
const SEED: u64 = 20_261_201;
/// How long the server may take to finish relaying after the last response.
const SETTLE: Duration = Duration::from_secs(30);

/// What one load run measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actions {
    pub(crate) per_s: f64,
    pub(crate) cpu_us_per_action: f64,
    pub(crate) actions: u64,
    pub(crate) errors: u64,
}

/// `shoppers` shoppers, `tracked_ratio` of them with a ref.
pub(crate) async fn measure(
    server: &Server,
    shoppers: u64,
    tracked_ratio: f64,
) -> anyhow::Result<Actions> {
    let args = LoadgenArgs {
        url: server.base_url(),
        account: AccountName::parse(SHOP_ACCOUNT).context("the shop account")?,
        shoppers,
        concurrency: CONCURRENCY,
        tracked_ratio,
        seed: Some(SEED),
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
    let cpu = after.saturating_sub(before);
    Ok(Actions {
        per_s: actions as f64 / outcome.elapsed.as_secs_f64(),
        cpu_us_per_action: cpu.as_secs_f64() * 1e6 / actions as f64,
        actions,
        errors: totals.errors,
    })
}
