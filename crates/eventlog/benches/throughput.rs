//! Event log throughput: appends in relay-sized batches, then reads everything back in
//! pages, and reports items/s and disk bytes per item.
//!
//! `cargo bench -p ticketstream-eventlog --bench throughput` (set `EVENTLOG_BENCH_ITEMS`
//! and `EVENTLOG_BENCH_PAD` to change the item count and the size of each item).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use eventlog::{Backend, EventLog, ManualClock, NewItem, OpenOptions, ReadRequest};
use protocol::{AccountName, StartAt, Timestamp};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn main() {
    let total = env_or("EVENTLOG_BENCH_ITEMS", 200_000);
    let pad = env_or("EVENTLOG_BENCH_PAD", 400);
    let batch = 500;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(1_800_000_000_000);
        let mut options = OpenOptions::new(Backend::Embedded {
            dir: dir.path().to_owned(),
        });
        options.clock = std::sync::Arc::new(clock.clone());
        let log = EventLog::open(options).await.unwrap();
        let account = AccountName::parse("bench").unwrap();
        let data = format!(
            r#"{{"page":"addtickets","params":{{"event":"10003"}},"ref":"{}"}}"#,
            "u".repeat(pad)
        );

        let started = Instant::now();
        for _ in 0..total.div_ceil(batch) {
            let items = (0..batch)
                .map(|_| NewItem {
                    ts: Timestamp::from_unix_ms(1_800_000_000_000),
                    kind: "webshop:pageview".into(),
                    data: data.clone(),
                })
                .collect();
            log.append(&account, items).await.unwrap();
            clock.advance(Duration::from_millis(1));
        }
        let append = started.elapsed();
        let appended = total.div_ceil(batch) * batch;

        let started = Instant::now();
        let mut read = 0;
        let mut start = StartAt::Oldest;
        loop {
            let page = log
                .read(
                    &account,
                    &ReadRequest {
                        start,
                        types: None,
                        limit: 10_000,
                    },
                )
                .await
                .unwrap();
            read += page.items.len();
            if !page.more {
                break;
            }
            start = StartAt::Id(page.next_id);
        }
        let reading = started.elapsed();
        assert_eq!(read, appended, "every appended item is read back");
        let bytes = dir_bytes(dir.path());
        println!(
            "items:        {appended} of {} bytes of JSON each",
            data.len() + 60
        );
        println!(
            "append:       {:.0} items/s (batches of {batch}, one commit each)",
            appended as f64 / append.as_secs_f64()
        );
        println!(
            "read:         {:.0} items/s (pages of 10000)",
            read as f64 / reading.as_secs_f64()
        );
        println!(
            "disk:         {bytes} bytes, {} per item",
            bytes / appended as u64
        );
    });
}
