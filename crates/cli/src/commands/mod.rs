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
    let shop = cli.shop_backend();
    match cli.command {
        Command::Serve(args) => serve::run(&cli.data_dir, &shop, args).await,
        Command::Account(cmd) => admin::account(&shop, cmd).await,
        Command::Keys(cmd) => admin::keys(&shop, cmd).await,
        Command::Demo(cmd) => admin::demo(&shop, cmd).await,
        Command::Catalog(cmd) => catalog::catalog(&shop, cmd).await,
        Command::WidgetUrl(args) => catalog::widget_url(&shop, args).await,
        Command::Loadgen(args) => loadgen::run(args).await,
        Command::Consume(args) => consume::run(args).await,
        Command::Bench(args) => bench::run(args, cli.database_url).await,
    }
}
