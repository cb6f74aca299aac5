//! The `ticketstream` binary: parses the command line, sets up logging, runs the command
//! and turns its outcome into an exit code. The work itself lives in the library crates.

mod cli;
mod commands;
mod shutdown;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // No transparent huge pages for this process, also where the host backs every
    // anonymous mapping with them (`always`): mimalloc's arenas would then be faulted
    // in and held 2 MiB at a time (mimalloc itself is built not to ask for them).
    // Refused only by kernels older than 3.15, where the process simply keeps them.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let cli = cli::Cli::parse();
    telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole chain of causes on one line.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
