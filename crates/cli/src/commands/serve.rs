//! `ticketstream serve`: opens the stores, binds the listener and serves until SIGINT or
//! SIGTERM.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use eventlog::{Backend, Clock, EventLog, OpenOptions, SystemClock};
use server::{App, AppConfig};
use shop::ShopBackend;
use tokio::net::TcpListener;

use super::admin::open_shop;
use crate::cli::ServeArgs;
use crate::shutdown;

pub(crate) async fn run(
    data_dir: &Path,
    shop_backend: &ShopBackend,
    args: ServeArgs,
) -> anyhow::Result<()> {
    let shop_backend = &shop_backend.clone().with_sync(args.shop_sync);
    // One server per data directory: the SQLite store and the embedded log each belong to
    // one process. With PostgreSQL and Redis nothing lives there, and any number of
    // servers share the stores.
    let uses_data_dir =
        matches!(shop_backend, ShopBackend::Sqlite { .. }) || args.eventlog.is_none();
    let _lock = if uses_data_dir {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
        Some(super::lock::exclusive(
            data_dir,
            "serve.lock",
            "ticketstream server",
        )?)
    } else {
        None
    };
    let shop = open_shop(shop_backend)
        .await?
        .with_reservation(args.reservation);
    let demo = if args.demo {
        Some(shop::demo_init(&shop).await?)
    } else {
        None
    };

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Where the items live, for the log line and for errors (a Redis error names its
    // password-free URL itself).
    let (backend, eventlog, context) = match &args.eventlog {
        Some(url) => (
            Backend::Redis {
                url: url.clone(),
                prefix: args.eventlog_prefix.clone(),
            },
            url.to_string(),
            "opening the event log".to_owned(),
        ),
        None => {
            let dir = data_dir.join("eventlog");
            let shown = dir.display().to_string();
            let context = format!("opening the event log in {shown}");
            (Backend::Embedded { dir }, shown, context)
        }
    };
    let log = EventLog::open(OpenOptions {
        retention: args.retention,
        clock: Arc::clone(&clock),
        ..OpenOptions::new(backend)
    })
    .await
    .context(context)?;

    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let metrics_listener = match &args.metrics_listen {
        Some(metrics) => {
            let listener = TcpListener::bind(metrics)
                .await
                .with_context(|| format!("binding the metrics address {metrics}"))?;
            tracing::info!(addr = %listener.local_addr()?, "serving metrics at /metrics");
            Some(listener)
        }
        None => None,
    };
    tracing::info!(
        %addr,
        shop = %shop.location(),
        %eventlog,
        retention = %humantime::format_duration(args.retention),
        "serving"
    );

    if let Some(demo) = demo {
        let base = format!("http://{addr}");
        let mut out = std::io::stdout().lock();
        writeln!(out, "ticketstream is serving the demo account on {base}")?;
        writeln!(out)?;
        if let Some(event) = demo.events.first() {
            writeln!(
                out,
                "Shop as a tracked shopper (the sales flow of {:?}, with ref=demo-user):",
                event.name
            )?;
            writeln!(
                out,
                "  {base}/widgets/{}/flow/saleslink?event={}&l=en&ref=demo-user",
                demo.account, event.id
            )?;
            writeln!(out)?;
            writeln!(
                out,
                "A signed addtickets widget (append &ref=... to track):"
            )?;
            let params = [("event".to_owned(), event.id.clone())];
            writeln!(
                out,
                "  {}",
                protocol::widget_url(
                    &base,
                    &demo.account,
                    "addtickets",
                    &params,
                    &demo.widget.accesskey,
                    &demo.widget.secretkey,
                    None,
                )
            )?;
            writeln!(out)?;
        }
        writeln!(
            out,
            "Read the demo eventstream (add ?wait=30 to long-poll):"
        )?;
        writeln!(
            out,
            "  curl -u '{}:{}' '{base}/api/1/{}/eventstream'",
            demo.api.accesskey, demo.api.secretkey, demo.account
        )?;
        writeln!(out)?;
        out.flush()?;
    }

    let config = AppConfig {
        api_requests_per_second: args.api_rate,
        api_burst: args.api_rate.saturating_mul(2),
        api_max_in_flight: args.api_max_in_flight,
        page_requests_per_minute: args.page_rate.saturating_mul(60),
        page_burst: args.page_rate.saturating_mul(5),
        trusted_proxies: args.trusted_proxies,
        api_max_in_flight_per_key: args.api_max_in_flight_per_key,
        api_max_streams: args.api_max_streams,
        api_max_streams_per_key: args.api_max_streams_per_key,
        header_read_timeout: args.header_read_timeout,
        media_dir: Some(super::admin::media_dir(data_dir)),
        ..AppConfig::default()
    };
    let app = App::new(shop, log, clock, config);
    server::run_with_metrics(listener, metrics_listener, app, shutdown::signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
