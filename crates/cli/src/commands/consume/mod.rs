//! `ticketstream consume`: forwards an eventstream to sinks, at least once and in id
//! order, each sink with its own cursor in the state directory; and `consume replay`,
//! which sends a sink's dead letters again.

mod args;
mod metrics_server;
mod progress;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use consumer::{
    AnySink, EventstreamClient, Forwarder, REPLAY_ATTEMPTS, REPLAY_BACKOFF, SinkMetrics,
};
use tokio_util::sync::CancellationToken;

pub(crate) use args::ConsumeArgs;
use args::{ConsumeCommand, RunArgs};
use settings::{ReplaySettings, Settings};

pub(crate) async fn run(args: ConsumeArgs) -> anyhow::Result<()> {
    match args.command {
        Some(ConsumeCommand::Replay(replay_args)) => {
            replay(ReplaySettings::resolve(replay_args)?).await
        }
        None => forward(*args.run).await,
    }
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("ticketstream-consume/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .context("cannot set up the HTTP client")
}

async fn forward(args: RunArgs) -> anyhow::Result<()> {
    // First of all: a stop asked for while starting is a stop, not a kill.
    let mut signals = crate::shutdown::Signals::listen();
    let no_progress = args.no_progress;
    let settings = Settings::resolve(args)?;
    std::fs::create_dir_all(&settings.state_dir).with_context(|| {
        format!(
            "cannot create the state directory {}",
            settings.state_dir.display()
        )
    })?;
    // One consumer per state directory: two writing the same cursors would each move
    // them past items only the other had delivered.
    let _lock = crate::commands::lock::exclusive(&settings.state_dir, "consume.lock", "consumer")?;
    let http = http_client()?;
    let client = EventstreamClient::new(
        http.clone(),
        &settings.url,
        settings.account.clone(),
        settings.credentials.clone(),
        settings.auth,
    )?;
    tracing::info!(eventstream = %client.url(), "consuming");

    let mut forwarders: Vec<Forwarder<AnySink>> = Vec::new();
    for spec in &settings.sinks {
        let sink = spec.build(http.clone(), &settings.state_dir)?;
        tracing::info!(sink = %spec, "forwarding to");
        forwarders.push(Forwarder::new(
            client.clone(),
            sink,
            &settings.state_dir,
            settings.forwarder.clone(),
        ));
    }
    let metrics: Vec<(String, Arc<SinkMetrics>)> = forwarders
        .iter()
        .map(|f| (f.sink_name().to_owned(), f.metrics()))
        .collect();

    let shutdown = CancellationToken::new();
    let stopping = shutdown.clone();
    tokio::spawn(async move {
        signals.recv().await;
        tracing::info!("stopping after the batch in flight (signal again to stop at once)");
        stopping.cancel();
        signals.recv().await;
        tracing::warn!("stopping at once: the batch in flight is sent again on the next run");
        std::process::exit(130);
    });
    // Display and metrics stop only after the forwarders did, so they show the end.
    let displays = CancellationToken::new();
    let metrics_server = match settings.metrics {
        Some(addr) => Some(metrics_server::spawn(addr, metrics.clone(), displays.clone()).await?),
        None => None,
    };
    let progress = if no_progress {
        None
    } else {
        progress::spawn(metrics, displays.clone())
    };

    let result = consumer::run_all(forwarders, shutdown).await;
    displays.cancel();
    for task in [metrics_server, progress].into_iter().flatten() {
        let _ = task.await;
    }
    Ok(result?)
}

async fn replay(settings: ReplaySettings) -> anyhow::Result<()> {
    let http = http_client()?;
    let mut failed = false;
    for spec in &settings.sinks {
        let mut sink = spec.build(http.clone(), &settings.state_dir)?;
        let report = consumer::replay_dead_letters(
            &mut sink,
            &settings.state_dir,
            settings.batch_size,
            REPLAY_ATTEMPTS,
            REPLAY_BACKOFF,
        )
        .await?;
        let remaining = report.rejected + report.untried + report.unreadable;
        println!(
            "{}: {} delivered, {} refused again, {} not tried, {} unreadable",
            spec.name, report.delivered, report.rejected, report.untried, report.unreadable
        );
        if remaining > 0 {
            tracing::warn!(sink = %spec, remaining, "dead letters remain");
        }
        failed |= report.untried > 0;
    }
    if failed {
        anyhow::bail!("some dead letters could not be sent: the sink kept failing");
    }
    Ok(())
}
