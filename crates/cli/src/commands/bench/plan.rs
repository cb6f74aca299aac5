//! How big a run is: the full run of the performance goals, `--quick` for a smoke check,
//! and hidden knobs that make it smaller still for the binary's own tests.

use std::time::Duration;

use anyhow::bail;
use shop::ShopSync;

use super::read::PAGE;
use crate::cli::BenchArgs;

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Items in the stream the read figures read (and the RSS is measured with).
    pub(crate) items: usize,
    /// Shoppers per action run (tracked, then untracked).
    pub(crate) shoppers: u64,
    /// How long each read figure reads.
    pub(crate) read_time: Duration,
    /// How long the paced actions of the latency figures last.
    pub(crate) latency_time: Duration,
    /// Paced actions per second for the latency figures.
    pub(crate) latency_rate: f64,
    /// How long `consume` may take to catch up before its rate so far is taken.
    pub(crate) consume_limit: Duration,
    /// `serve --shop-sync` of the embedded shop.
    pub(crate) shop_sync: ShopSync,
}

impl Plan {
    pub(crate) const FULL_ITEMS: usize = 1_000_000;

    pub(crate) fn new(args: &BenchArgs) -> anyhow::Result<Plan> {
        let mut plan = if args.quick {
            Plan {
                items: 100_000,
                shoppers: 150,
                read_time: Duration::from_secs(3),
                latency_time: Duration::from_secs(3),
                latency_rate: 1000.0,
                consume_limit: Duration::from_secs(30),
                shop_sync: args.shop_sync,
            }
        } else {
            Plan {
                items: Self::FULL_ITEMS,
                shoppers: 1000,
                read_time: Duration::from_secs(10),
                latency_time: Duration::from_secs(10),
                latency_rate: 1000.0,
                consume_limit: Duration::from_secs(60),
                shop_sync: args.shop_sync,
            }
        };
        if let Some(items) = args.items {
            if items < 2 * PAGE {
                bail!("--items must be at least {}", 2 * PAGE);
            }
            plan.items = items;
        }
        if let Some(shoppers) = args.shoppers {
            if shoppers == 0 {
                bail!("--shoppers must be at least 1");
            }
            plan.shoppers = shoppers;
        }
        if let Some(seconds) = args.seconds {
            if !(seconds > 0.0 && seconds <= 600.0) {
                bail!("--seconds must be above 0 and at most 600");
            }
            plan.read_time = Duration::from_secs_f64(seconds);
            plan.latency_time = Duration::from_secs_f64(seconds);
        }
        Ok(plan)
    }

    /// What the RSS figure was measured at, when that is not the 1M items of its name.
    pub(crate) fn items_note(&self) -> String {
        format!("{} items", super::report::grouped(self.items as f64, 0))
    }
}
