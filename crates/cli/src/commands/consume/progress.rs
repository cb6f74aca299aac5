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

struct Line {
    bar: ProgressBar,
    metrics: Arc<SinkMetrics>,
    /// Items forwarded at the last tick.
    last: u64,
    rate: f64,
}

/// Draws until `stop`; does nothing when stderr is not a terminal.
pub(crate) fn spawn(
    sinks: Vec<(String, Arc<SinkMetrics>)>,
    stop: CancellationToken,
) -> Option<JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let style =
        ProgressStyle::with_template("{spinner} {prefix:.bold}: {pos} items forwarded, {msg}")
            .ok()?;
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    crate::telemetry::show_progress(Some(multi.clone()));
    let mut bars: Vec<Line> = sinks
        .into_iter()
        .map(|(name, metrics)| {
            let bar = multi.add(ProgressBar::no_length().with_style(style.clone()));
            bar.set_prefix(name);
            Line {
                bar,
                metrics,
                last: 0,
                rate: 0.0,
            }
        })
        .collect();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            for line in &mut bars {
                let s = line.metrics.snapshot();
                // Items/s smoothed over about two seconds, so the number can be read.
                let instant = (s.forwarded - line.last) as f64 / TICK.as_secs_f64();
                line.rate = 0.9 * line.rate + 0.1 * instant;
                line.last = s.forwarded;
                let bar = &line.bar;
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
                bar.set_message(format!("{:.0} items/s, {state}{failures}{dead}", line.rate));
                bar.tick();
            }
        }
        for line in &bars {
            line.bar.finish_and_clear();
        }
        crate::telemetry::show_progress(None);
    }))
}
