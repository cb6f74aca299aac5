//! The end of a run: one JSON object (the last line of stdout, for scripts and tests that
//! compare it with the eventstream) or a summary for people.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use super::tally::{Counts, Totals};

/// What `loadgen --json` prints.
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    pub(crate) shoppers: u64,
    pub(crate) tracked_shoppers: u64,
    pub(crate) seed: u64,
    /// Per ref, per type: the actions whose response arrived and confirmed them. Exactly
    /// these must be in the eventstream.
    pub(crate) acknowledged: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per ref, per type: actions of requests that failed on the way. The eventstream may
    /// hold up to this many more than acknowledged.
    pub(crate) uncertain: BTreeMap<String, BTreeMap<String, u64>>,
    /// Actions of shoppers without a ref: these must not be in the eventstream.
    pub(crate) untracked_actions: u64,
    pub(crate) errors: u64,
    pub(crate) refused: u64,
    pub(crate) abandoned: u64,
    /// Shoppers who found everything they tried sold out (long runs empty the catalog).
    pub(crate) sold_out: u64,
    pub(crate) orders_confirmed: u64,
    pub(crate) elapsed_ms: u64,
    pub(crate) actions_per_sec: f64,
}

fn named(counts: &Counts) -> BTreeMap<String, u64> {
    counts
        .iter()
        .map(|(action, n)| (action.as_str().to_owned(), *n))
        .collect()
}

fn named_per_ref(per_ref: &BTreeMap<String, Counts>) -> BTreeMap<String, BTreeMap<String, u64>> {
    per_ref
        .iter()
        .map(|(r, counts)| (r.clone(), named(counts)))
        .collect()
}

impl Summary {
    pub(crate) fn new(totals: &Totals, seed: u64, elapsed: Duration) -> Summary {
        let actions = totals.tracked_actions() + totals.untracked_actions;
        let secs = elapsed.as_secs_f64();
        let actions_per_sec = if secs > 0.0 {
            (actions as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        };
        Summary {
            shoppers: totals.shoppers,
            tracked_shoppers: totals.tracked_shoppers,
            seed,
            acknowledged: named_per_ref(&totals.acknowledged),
            uncertain: named_per_ref(&totals.uncertain),
            untracked_actions: totals.untracked_actions,
            errors: totals.errors,
            refused: totals.refused,
            abandoned: totals.abandoned,
            sold_out: totals.sold_out,
            orders_confirmed: totals.orders_confirmed,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            actions_per_sec,
        }
    }

    pub(crate) fn print_json(&self, out: &mut impl Write) -> anyhow::Result<()> {
        writeln!(out, "{}", serde_json::to_string(self)?)?;
        Ok(())
    }

    pub(crate) fn print_text(&self, totals: &Totals, out: &mut impl Write) -> anyhow::Result<()> {
        let tracked = totals.tracked_actions();
        writeln!(
            out,
            "{} shopper{} ({} tracked, seed {}) in {:.1} s",
            self.shoppers,
            if self.shoppers == 1 { "" } else { "s" },
            self.tracked_shoppers,
            self.seed,
            self.elapsed_ms as f64 / 1000.0
        )?;
        writeln!(
            out,
            "actions: {} tracked and acknowledged, {} by untracked shoppers ({} per second)",
            tracked, self.untracked_actions, self.actions_per_sec
        )?;
        for (action, n) in totals.by_type() {
            writeln!(out, "  {:<34} {n}", action.as_str())?;
        }
        writeln!(
            out,
            "orders confirmed: {}, abandoned journeys: {}, sold out: {}, changes refused by the shop: {}",
            self.orders_confirmed, self.abandoned, self.sold_out, self.refused
        )?;
        let uncertain: u64 = totals.uncertain.values().flat_map(|c| c.values()).sum();
        writeln!(
            out,
            "errors: {} ({} actions of failed requests may or may not be in the eventstream)",
            self.errors, uncertain
        )?;
        Ok(())
    }
}
