//! One module per command.

mod admin;
mod bench;
mod catalog;
pub(crate) mod consume;
pub(crate) mod loadgen;
mod lock;
mod serve;

use crate::cli::{Cli, Command};

pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.data_dir, args).await,
        Command::Account(cmd) => admin::account(&cli.data_dir, cmd).await,
        Command::Keys(cmd) => admin::keys(&cli.data_dir, cmd).await,
        Command::Demo(cmd) => admin::demo(&cli.data_dir, cmd).await,
        Command::Catalog(cmd) => catalog::catalog(&cli.data_dir, cmd).await,
        Command::WidgetUrl(args) => catalog::widget_url(&cli.data_dir, args).await,
        Command::Loadgen(args) => loadgen::run(args).await,
        Command::Consume(args) => consume::run(args).await,
        Command::Bench(args) => bench::run(args).await,
    }
}
