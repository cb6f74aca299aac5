//! What a forwarder counts, readable while it runs: for logs, a progress bar and
//! Prometheus text metrics.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use protocol::{ItemId, Timestamp};

/// Live counters of one sink's forwarder. Shared as an `Arc`; every method is cheap.
#[derive(Debug, Default)]
pub struct SinkMetrics {
    forwarded: AtomicU64,
    batches: AtomicU64,
    send_failures: AtomicU64,
    poll_failures: AtomicU64,
    dead_lettered: AtomicU64,
    gaps: AtomicU64,
    position: Mutex<Position>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Position {
    cursor: Option<ItemId>,
    last_ts: Option<Timestamp>,
    /// The `ts` lag is measured from; `None` when caught up.
    behind_since: Option<Timestamp>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub forwarded: u64,
    pub batches: u64,
    pub send_failures: u64,
    pub poll_failures: u64,
    pub dead_lettered: u64,
    pub gaps: u64,
    /// The id the sink reads from next.
    pub cursor: Option<ItemId>,
    /// The `ts` of the last item forwarded.
    pub last_ts: Option<Timestamp>,
    /// Now minus the `ts` of the last forwarded item while items are waiting; zero once
    /// the sink has caught up with the stream.
    pub lag: Duration,
}

impl SinkMetrics {
    fn position(&self) -> std::sync::MutexGuard<'_, Position> {
        // The data is a few plain values: one left by a panicking writer is still usable.
        self.position.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add_forwarded(&self, n: usize) {
        self.forwarded.fetch_add(n as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_send_failure(&self) {
        self.send_failures.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_poll_failure(&self) {
        self.poll_failures.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn add_dead_lettered(&self, n: usize) {
        self.dead_lettered.fetch_add(n as u64, Ordering::Relaxed);
    }
    pub(crate) fn add_gap(&self) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_cursor(&self, cursor: ItemId, last_ts: Option<Timestamp>) {
        let mut p = self.position();
        p.cursor = Some(cursor);
        if last_ts.is_some() {
            p.last_ts = last_ts;
        }
    }

    /// Items up to `since` wait to be forwarded (`None`: caught up).
    pub(crate) fn set_behind(&self, since: Option<Timestamp>) {
        self.position().behind_since = since;
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        self.snapshot_at(Timestamp::now())
    }

    pub(crate) fn snapshot_at(&self, now: Timestamp) -> MetricsSnapshot {
        let p = *self.position();
        let lag = p.behind_since.map_or(Duration::ZERO, |since| {
            Duration::from_millis(u64::try_from(now.unix_ms() - since.unix_ms()).unwrap_or(0))
        });
        MetricsSnapshot {
            forwarded: self.forwarded.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            send_failures: self.send_failures.load(Ordering::Relaxed),
            poll_failures: self.poll_failures.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            gaps: self.gaps.load(Ordering::Relaxed),
            cursor: p.cursor,
            last_ts: p.last_ts,
            lag,
        }
    }
}

/// Prometheus text exposition (format 0.0.4) of several sinks' metrics.
pub fn render_prometheus<'a>(
    sinks: impl IntoIterator<Item = (&'a str, MetricsSnapshot)> + Clone,
) -> String {
    type Get = fn(&MetricsSnapshot) -> String;
    let families: [(&str, &str, &str, Get); 9] = [
        (
            "ticketstream_consume_items_forwarded_total",
            "counter",
            "Items the sink accepted.",
            |s| s.forwarded.to_string(),
        ),
        (
            "ticketstream_consume_batches_total",
            "counter",
            "Batches the sink accepted.",
            |s| s.batches.to_string(),
        ),
        (
            "ticketstream_consume_send_failures_total",
            "counter",
            "Failed deliveries that will be retried.",
            |s| s.send_failures.to_string(),
        ),
        (
            "ticketstream_consume_poll_failures_total",
            "counter",
            "Failed eventstream reads.",
            |s| s.poll_failures.to_string(),
        ),
        (
            "ticketstream_consume_dead_lettered_total",
            "counter",
            "Items the sink refused for good, written to its dead-letter file.",
            |s| s.dead_lettered.to_string(),
        ),
        (
            "ticketstream_consume_gaps_total",
            "counter",
            "Reads that reported gap: items deleted by retention before they were forwarded.",
            |s| s.gaps.to_string(),
        ),
        (
            "ticketstream_consume_lag_seconds",
            "gauge",
            "Now minus the ts of the last forwarded item while items wait; 0 when caught up.",
            |s| format!("{:.3}", s.lag.as_secs_f64()),
        ),
        (
            "ticketstream_consume_cursor_milliseconds",
            "gauge",
            "The ms part of the id the sink reads from next.",
            |s| s.cursor.map_or(0, |c| c.ms).to_string(),
        ),
        (
            "ticketstream_consume_last_forwarded_timestamp_seconds",
            "gauge",
            "The ts of the last forwarded item, as Unix seconds.",
            |s| {
                s.last_ts
                    .map_or(0.0, |ts| ts.unix_ms() as f64 / 1000.0)
                    .to_string()
            },
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, get) in families {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (sink, snapshot) in sinks.clone() {
            let _ = writeln!(
                out,
                "{name}{{sink=\"{}\"}} {}",
                escape_label(sink),
                get(&snapshot)
            );
        }
    }
    out
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lag_is_measured_only_while_behind() {
        let m = SinkMetrics::default();
        let t0 = Timestamp::from_unix_ms(1_000_000);
        let later = Timestamp::from_unix_ms(1_000_000 + 90_000);
        assert_eq!(m.snapshot_at(later).lag, Duration::ZERO);
        m.set_behind(Some(t0));
        assert_eq!(m.snapshot_at(later).lag, Duration::from_secs(90));
        m.set_behind(None);
        assert_eq!(m.snapshot_at(later).lag, Duration::ZERO);
    }

    #[test]
    fn renders_prometheus_text() {
        let m = SinkMetrics::default();
        m.add_forwarded(3);
        m.set_cursor(ItemId::new(42, 1), None);
        let text = render_prometheus([("hook", m.snapshot())]);
        assert!(text.contains("# TYPE ticketstream_consume_items_forwarded_total counter\n"));
        assert!(text.contains("ticketstream_consume_items_forwarded_total{sink=\"hook\"} 3\n"));
        assert!(text.contains("ticketstream_consume_cursor_milliseconds{sink=\"hook\"} 42\n"));
        assert!(text.ends_with('\n'));
    }
}
