//! `ticketstream loadgen`: simulated shoppers walking whole journeys through the real pages.

use crate::cli::LoadgenArgs;

pub(crate) async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    anyhow::bail!("loadgen is not available yet ({} shoppers requested)", args.shoppers)
}
