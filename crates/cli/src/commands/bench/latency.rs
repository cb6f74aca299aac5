//! From an action's response to a reader seeing its item, at a paced rate of actions.
//!
//! Each of 50 shoppers enters the shop once with a `ref` of its own and then views the
//! tickets page again and again (every view is a tracked `pageview` action), the views of
//! all shoppers spread evenly in time at the chosen rate. A long-polling reader
//! (`wait=30`) and an SSE reader follow the eventstream in the same process, so both ends
//! of each latency are read from one clock. A shopper's views are sequential, so its
//! k-th acknowledged view is the k-th item with its `ref`; a shopper whose request failed
//! (its item may or may not exist) is left out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode, Url, redirect};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::follow::Reader;
use super::setup::{ApiKey, SHOP_ACCOUNT};
use super::stats::Samples;

/// Shoppers viewing at once: at 1,000 views/s each views 20 times a second, so a slow
/// answer delays its own next view but not the others'.
const SHOPPERS: u64 = 50;
/// The event whose sales flow the shoppers enter.
const EVENT: u64 = 10003;
/// How long the readers may take to see the last items.
const CATCH_UP: Duration = Duration::from_secs(20);

/// What one paced run measured.
#[derive(Debug)]
pub(crate) struct Latency {
    pub(crate) long_poll: Samples,
    pub(crate) sse: Samples,
    /// The rate the actions were acknowledged at.
    pub(crate) actions_per_s: f64,
    /// Shoppers left out: a request failed, or a reader saw other than their views.
    pub(crate) left_out: u64,
}

/// When a reader saw each of the run's items, per `ref`, in the order seen.
pub(crate) type Seen = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

pub(crate) async fn measure(
    base_url: &str,
    key: &ApiKey,
    start_id: &str,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<Latency> {
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let prefix = format!("bench-latency-{run}-");
    let stream_url = format!("{base_url}/api/1/{SHOP_ACCOUNT}/eventstream");
    let reader = Reader {
        client: Client::new(),
        url: stream_url,
        key: key.clone(),
        prefix: prefix.clone(),
    };

    let long_polled: Seen = Arc::default();
    let streamed: Seen = Arc::default();
    let mut readers = JoinSet::new();
    readers.spawn(
        reader
            .clone()
            .long_poll(start_id.to_owned(), Arc::clone(&long_polled)),
    );
    let sse = reader.sse_response(start_id).await?;
    readers.spawn(reader.clone().sse(sse, Arc::clone(&streamed)));

    let client = Client::builder()
        .redirect(redirect::Policy::none())
        .pool_max_idle_per_host(usize::try_from(SHOPPERS).unwrap_or(64))
        .build()
        .context("building an HTTP client")?;
    let (go, started) = watch::channel(None::<Instant>);
    let (entered_tx, mut entered) = tokio::sync::mpsc::channel(64);
    let mut shoppers = JoinSet::new();
    for n in 0..SHOPPERS {
        let shopper = Shopper {
            client: client.clone(),
            entry: Url::parse(&format!(
                "{base_url}/widgets/{SHOP_ACCOUNT}/flow/saleslink?event={EVENT}&l=en&ref={prefix}{n}"
            ))?,
            reference: format!("{prefix}{n}"),
        };
        let pace = Pace {
            offset: Duration::from_secs_f64(n as f64 / rate),
            every: Duration::from_secs_f64(SHOPPERS as f64 / rate),
            duration,
        };
        shoppers.spawn(shopper.walk(pace, started.clone(), entered_tx.clone()));
    }
    drop(entered_tx);
    // Everybody in the shop first, then the paced views.
    for _ in 0..SHOPPERS {
        if entered.recv().await.is_none() {
            break;
        }
    }
    let t0 = Instant::now() + Duration::from_millis(50);
    go.send_replace(Some(t0));

    let mut acknowledged: HashMap<String, Vec<Instant>> = HashMap::new();
    let mut left_out = 0;
    let mut paced = 0u64;
    let mut last_ack = t0;
    while let Some(done) = shoppers.join_next().await {
        let walked = done.context("a shopper panicked")?;
        if walked.failed {
            left_out += 1;
            continue;
        }
        // The first view came before the pacing.
        paced += walked.acks.len().saturating_sub(1) as u64;
        if let Some(&last) = walked.acks.last() {
            last_ack = last_ack.max(last);
        }
        acknowledged.insert(walked.reference, walked.acks);
    }
    if acknowledged.is_empty() {
        bail!("every latency shopper failed");
    }

    let deadline = Instant::now() + CATCH_UP;
    while Instant::now() < deadline
        && !(caught_up(&acknowledged, &long_polled) && caught_up(&acknowledged, &streamed))
    {
        if let Some(Some(Err(e))) = readers.try_join_next().map(|r| r.ok()) {
            return Err(e.context("a reader stopped"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    readers.abort_all();

    let (long_poll, missing_lp) = latencies(&acknowledged, &long_polled);
    let (sse, missing_sse) = latencies(&acknowledged, &streamed);
    left_out += missing_lp.max(missing_sse);
    if long_poll.len() == 0 || sse.len() == 0 {
        bail!(
            "no action was matched with its item (long-poll: {missing_lp} shoppers unmatched, SSE: {missing_sse})"
        );
    }
    let elapsed = last_ack.saturating_duration_since(t0).as_secs_f64();
    Ok(Latency {
        long_poll,
        sse,
        actions_per_s: if elapsed > 0.0 {
            paced as f64 / elapsed
        } else {
            0.0
        },
        left_out,
    })
}

fn caught_up(acknowledged: &HashMap<String, Vec<Instant>>, seen: &Seen) -> bool {
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    acknowledged
        .iter()
        .all(|(r, acks)| seen.get(r).map_or(0, Vec::len) >= acks.len())
}

/// The latency of every paced view whose item was seen; and how many shoppers' items did
/// not line up with their views.
fn latencies(acknowledged: &HashMap<String, Vec<Instant>>, seen: &Seen) -> (Samples, u64) {
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    let mut samples = Samples::default();
    let mut unmatched = 0;
    for (reference, acks) in acknowledged {
        let items = seen.get(reference).map_or(&[][..], Vec::as_slice);
        if items.len() != acks.len() {
            unmatched += 1;
            continue;
        }
        for (ack, item) in acks.iter().zip(items).skip(1) {
            samples.push(item.saturating_duration_since(*ack));
        }
    }
    (samples, unmatched)
}

/// When a shopper's views are due: `offset`, then every `every`, for `duration`.
#[derive(Debug, Clone, Copy)]
struct Pace {
    offset: Duration,
    every: Duration,
    duration: Duration,
}

struct Shopper {
    client: Client,
    entry: Url,
    reference: String,
}

struct Walked {
    reference: String,
    acks: Vec<Instant>,
    failed: bool,
}

impl Shopper {
    async fn walk(
        self,
        pace: Pace,
        mut started: watch::Receiver<Option<Instant>>,
        entered: tokio::sync::mpsc::Sender<()>,
    ) -> Walked {
        let mut acks = Vec::new();
        let result = async {
            let (cookie, page) = self.enter().await?;
            acks.push(self.view(&page, &cookie).await?);
            let _ = entered.send(()).await;
            drop(entered);
            let t0 = loop {
                if let Some(t0) = *started.borrow_and_update() {
                    break t0;
                }
                started.changed().await.context("the run was called off")?;
            };
            let mut at = t0 + pace.offset;
            while at < t0 + pace.duration {
                tokio::time::sleep_until(at).await;
                acks.push(self.view(&page, &cookie).await?);
                at += pace.every;
            }
            Ok::<_, anyhow::Error>(())
        }
        .await;
        Walked {
            reference: self.reference,
            acks,
            failed: result.is_err(),
        }
    }

    /// The entry link: a session cookie and the page it leads to.
    async fn enter(&self) -> anyhow::Result<(String, Url)> {
        let response = self.client.get(self.entry.clone()).send().await?;
        if response.status() != StatusCode::SEE_OTHER {
            bail!("the entry link answered {}", response.status());
        }
        let cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("the entry link gave no Location"))?;
        let page = response.url().join(location)?;
        Ok((cookie, page))
    }

    /// One view of the page: a tracked action. Returns when its answer arrived.
    async fn view(&self, page: &Url, cookie: &str) -> anyhow::Result<Instant> {
        let response = self
            .client
            .get(page.clone())
            .header(COOKIE, cookie)
            .send()
            .await?;
        let at = Instant::now();
        let status = response.status();
        response.bytes().await?;
        if status != StatusCode::OK {
            bail!("the page answered {status}");
        }
        Ok(at)
    }
}
