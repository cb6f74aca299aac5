//! The two readers of the latency figures: a long-poll loop (`wait=30`) and an SSE
//! stream, each noting when it saw which of the run's items, by `ref`.

use anyhow::{Context as _, bail};
use reqwest::Client;
use reqwest::header::ACCEPT;
use tokio::time::Instant;

use super::latency::Seen;
use super::setup::ApiKey;

const PAGEVIEW: &str = "webshop:pageview";

#[derive(Clone)]
pub(crate) struct Reader {
    pub(crate) client: Client,
    pub(crate) url: String,
    pub(crate) key: ApiKey,
    /// The run's refs start with this; other items are not looked at.
    pub(crate) prefix: String,
}

/// Only what matching needs of an item.
#[derive(serde::Deserialize)]
struct Lite {
    #[serde(rename = "type")]
    kind: String,
    data: LiteData,
}

#[derive(serde::Deserialize)]
struct LiteData {
    #[serde(rename = "ref")]
    reference: Option<String>,
}

impl Reader {
    fn note(&self, item: Lite, at: Instant, seen: &Seen) {
        if item.kind != PAGEVIEW {
            return;
        }
        if let Some(reference) = item.data.reference.filter(|r| r.starts_with(&self.prefix)) {
            seen.lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(reference)
                .or_default()
                .push(at);
        }
    }

    pub(crate) async fn long_poll(self, mut id: String, seen: Seen) -> anyhow::Result<()> {
        #[derive(serde::Deserialize)]
        struct Page {
            results: Option<Vec<Lite>>,
            nextid: String,
        }
        loop {
            let response = self
                .client
                .get(&self.url)
                .query(&[("id", id.as_str()), ("wait", "30"), ("limit", "1000")])
                .basic_auth(&self.key.accesskey, Some(&self.key.secretkey))
                .send()
                .await?
                .error_for_status()?;
            let body = response.bytes().await?;
            let at = Instant::now();
            let page: Page = serde_json::from_slice(&body).context("a long-poll page")?;
            for item in page.results.unwrap_or_default() {
                self.note(item, at, &seen);
            }
            id = page.nextid;
        }
    }

    pub(crate) async fn sse_response(&self, id: &str) -> anyhow::Result<reqwest::Response> {
        self.client
            .get(&self.url)
            .query(&[("id", id)])
            .header(ACCEPT, "text/event-stream")
            .basic_auth(&self.key.accesskey, Some(&self.key.secretkey))
            .send()
            .await
            .context("opening the SSE stream")?
            .error_for_status()
            .context("opening the SSE stream")
    }

    pub(crate) async fn sse(
        self,
        mut response: reqwest::Response,
        seen: Seen,
    ) -> anyhow::Result<()> {
        let mut buffer = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            let at = Instant::now();
            buffer.extend_from_slice(&chunk);
            while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                // Other events (a gap) have data that is not an item.
                if let Some(data) = line.strip_prefix(b"data:")
                    && let Ok(item) = serde_json::from_slice::<Lite>(data.trim_ascii())
                {
                    self.note(item, at, &seen);
                }
            }
        }
        bail!("the SSE stream ended")
    }
}
