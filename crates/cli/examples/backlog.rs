//! Fills an event log with a backlog, to measure how fast `ticketstream consume` catches
//! up (`docs/performance.md`, "consume"): COUNT items whose type and data are copied,
//! byte for byte and over and over, from an NDJSON file of real items (one that `consume`
//! wrote after a `loadgen` run), with ids spread over the last 3 hours, appended through
//! `EventLog::append` in batches of 1,000 as the relay appends them.
//!
//! ```sh
//! cargo run --release -p ticketstream --example backlog -- DATA_DIR/eventlog ITEMS.ndjson COUNT ACCOUNT
//! ```
//!
//! Run it while no server uses DATA_DIR; `ticketstream --data-dir DATA_DIR serve` then
//! serves the backlog.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use eventlog::{Backend, EventLog, ManualClock, NewItem, OpenOptions};
use protocol::{AccountName, Item, Timestamp};

/// Items per append: the relay's batch.
const BATCH: usize = 1000;
/// How far back the oldest item lies: well inside the 4 h retention window.
const SPAN: Duration = Duration::from_secs(3 * 3600);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, items, count, account] = args.as_slice() else {
        bail!("usage: backlog EVENTLOG_DIR ITEMS.ndjson COUNT ACCOUNT");
    };
    let count: usize = count.parse().context("COUNT")?;
    let account = AccountName::parse(account)?;
    let text = std::fs::read_to_string(items).with_context(|| format!("reading {items}"))?;
    let templates = text
        .lines()
        .map(|line| {
            let item: Item = serde_json::from_str(line)?;
            Ok((item.kind.as_str().to_owned(), item.data.get().to_owned()))
        })
        .collect::<Result<Vec<(String, String)>, serde_json::Error>>()
        .with_context(|| format!("{items} is not NDJSON of items"))?;
    if templates.is_empty() {
        bail!("{items} holds no items");
    }

    let now_ms = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let span_ms = u64::try_from(SPAN.as_millis())?;
    let step_ms = span_ms / count.div_ceil(BATCH).max(1) as u64;
    let mut ms = now_ms - span_ms;
    // The log takes ids from its clock: a manual one spreads them over the span.
    let clock = ManualClock::new(ms);
    let mut options = OpenOptions::new(Backend::Embedded { dir: dir.into() });
    options.clock = Arc::new(clock.clone());
    let log = EventLog::open(options)
        .await
        .context("opening the event log")?;

    let mut next = templates.iter().cycle();
    let mut appended = 0;
    while appended < count {
        clock.set_ms(ms);
        let ts = Timestamp::from_unix_ms(i64::try_from(ms)?);
        let batch: Vec<NewItem> = next
            .by_ref()
            .take(BATCH.min(count - appended))
            .map(|(kind, data)| NewItem {
                ts,
                kind: kind.clone(),
                data: data.clone(),
            })
            .collect();
        appended += log.append(&account, batch).await?.len();
        ms += step_ms;
    }
    println!("appended {appended} items to {account} in {dir}");
    Ok(())
}
