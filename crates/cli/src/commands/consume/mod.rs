//! `ticketstream consume`: forwards an eventstream to sinks.

use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct ConsumeArgs {
    /// The eventstream server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub(crate) url: Option<String>,
}

pub(crate) async fn run(args: ConsumeArgs) -> anyhow::Result<()> {
    anyhow::bail!("consume is not available yet ({:?})", args.url)
}
