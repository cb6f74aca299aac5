//! The items the read figures read: real ones first, taken from the eventstream after
//! tracked shoppers walked the pages, then repeated (type and data byte for byte) into
//! a large stream through the event log's own `append`, as the relay's `append_rows`
//! but without the record of an outbox row per item. The
//! ids are spread over the retention window as a live shop's would be, so that reading
//! old items means reading across the whole retained range.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use consumer::{AuthScheme, Credentials, EventstreamClient, PageRequest};
use eventlog::{Backend, EventLog, ManualClock, NewItem, OpenOptions};
use protocol::{AccountName, ItemId, StartAt, Timestamp, item_json};

use super::setup::ApiKey;

/// Items per append: the relay's batch.
const BATCH: usize = 1000;
/// How far back the oldest prefilled item lies: most of the 4 h retention window, with
/// room for a long run before retention would delete anything.
const SPAN: Duration = Duration::from_secs(3 * 3600);

/// The type and data of a real item.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    kind: String,
    data: String,
}

/// Real items, to be repeated.
#[derive(Debug, Clone)]
pub(crate) struct Templates(Vec<Template>);

impl Templates {
    /// The average size of an item's JSON as served.
    pub(crate) fn mean_json_bytes(&self) -> f64 {
        let id = ItemId::new(1_800_000_000_000, 123);
        let ts = Timestamp::from_unix_ms(1_800_000_000_000);
        let total: usize = self
            .0
            .iter()
            .map(|t| item_json(id, ts, &t.kind, &t.data).len())
            .sum();
        total as f64 / self.0.len().max(1) as f64
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Every item of `account`'s eventstream, read over HTTP with the consumer's client; also
/// the `nextid` after them.
pub(crate) async fn capture(
    base_url: &str,
    account: &str,
    key: &ApiKey,
) -> anyhow::Result<(Templates, String)> {
    let account: AccountName = account.parse().context("an account name")?;
    let credentials = Credentials {
        accesskey: key.accesskey.clone(),
        secretkey: key.secretkey.clone(),
    };
    let client = EventstreamClient::new(
        reqwest::Client::new(),
        base_url,
        account,
        credentials,
        AuthScheme::Basic,
    )?;
    let mut request = PageRequest {
        start: StartAt::Oldest,
        types: None,
        limit: Some(10_000),
        wait: None,
    };
    let mut templates = Vec::new();
    let id = loop {
        let page = client
            .fetch(&request)
            .await
            .context("reading the eventstream")?;
        templates.extend(page.results.iter().map(|item| Template {
            kind: item.kind().as_str().to_owned(),
            data: item.data().to_owned(),
        }));
        if !page.moreresults {
            break page.nextid.to_string();
        }
        request.start = StartAt::Id(page.nextid);
    };
    if templates.is_empty() {
        bail!("the tracked shoppers left no items to copy");
    }
    Ok((Templates(templates), id))
}

/// Appends `count` items, the templates over and over, to `account` in `backend`, with
/// ids from `SPAN` ago up to now; returns their ids, oldest first.
pub(crate) async fn prefill(
    backend: Backend,
    account: &AccountName,
    templates: &Templates,
    count: usize,
) -> anyhow::Result<Vec<ItemId>> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_millis();
    let now_ms = u64::try_from(now_ms).context("the clock is far in the future")?;
    let span_ms = u64::try_from(SPAN.as_millis()).unwrap_or(u64::MAX);
    let mut ms = now_ms - span_ms;
    let clock = ManualClock::new(ms);
    let mut options = OpenOptions::new(backend);
    options.clock = Arc::new(clock.clone());
    let log = EventLog::open(options)
        .await
        .context("opening the event log")?;

    let batches = count.div_ceil(BATCH).max(1);
    let step_ms = span_ms / batches as u64;
    let mut ids = Vec::with_capacity(count);
    let mut next = templates.0.iter().cycle();
    while ids.len() < count {
        clock.set_ms(ms);
        let ts = Timestamp::from_unix_ms(i64::try_from(ms).unwrap_or(i64::MAX));
        let items: Vec<NewItem> = next
            .by_ref()
            .take(BATCH.min(count - ids.len()))
            .map(|t| NewItem {
                ts,
                kind: t.kind.clone(),
                data: t.data.clone(),
            })
            .collect();
        ids.extend(
            log.append(account, items)
                .await
                .context("appending items")?,
        );
        ms += step_ms;
    }
    Ok(ids)
}
