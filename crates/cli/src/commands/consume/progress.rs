//! A progress line per sink on a terminal: items forwarded, items/s and lag, so an
//! operator watching a catch-up sees it move.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use consumer::SinkMetrics;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const TICK: Duration = Duration::from_millis(250);

/// Draws until `stop`; does nothing when stderr is not a terminal.
pub(crate) fn spawn(
    sinks: Vec<(String, Arc<SinkMetrics>)>,
    stop: CancellationToken,
) -> Option<JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let style = ProgressStyle::with_template(
        "{spinner} {prefix:.bold}: {pos} items forwarded ({per_sec}), {msg}",
    )
    .ok()?;
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let bars: Vec<(ProgressBar, Arc<SinkMetrics>)> = sinks
        .into_iter()
        .map(|(name, metrics)| {
            let bar = multi.add(ProgressBar::no_length().with_style(style.clone()));
            bar.set_prefix(name);
            (bar, metrics)
        })
        .collect();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            for (bar, metrics) in &bars {
                let s = metrics.snapshot();
                bar.set_position(s.forwarded);
                let state = if s.lag.is_zero() {
                    "caught up".to_owned()
                } else {
                    format!(
                        "lag {}",
                        humantime::format_duration(Duration::from_secs(s.lag.as_secs()))
                    )
                };
                let failures = if s.send_failures + s.poll_failures > 0 {
                    format!(", {} failed tries", s.send_failures + s.poll_failures)
                } else {
                    String::new()
                };
                let dead = if s.dead_lettered > 0 {
                    format!(", {} dead letters", s.dead_lettered)
                } else {
                    String::new()
                };
                bar.set_message(format!("{state}{failures}{dead}"));
                bar.tick();
            }
        }
        for (bar, _) in &bars {
            bar.finish_and_clear();
        }
    }))
}
