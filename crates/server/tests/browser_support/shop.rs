//! The real server with the demo account and catalog, on port 0 with a temporary data
//! dir, and its eventstream read over the HTTP API the way an integrator reads it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eventlog::{Backend, EventLog, OpenOptions, SystemClock};
use serde_json::Value;
use server::{App, AppConfig};
use shop::{KeyJson, ShopStore};
use tokio::sync::oneshot;

/// How long items may take to show up before a test gives up.
const ITEMS_DEADLINE: Duration = Duration::from_secs(10);
/// How long to keep watching after the expected count arrived, so that an extra item
/// (one too many) is seen too.
const SETTLE: Duration = Duration::from_millis(400);

pub(crate) struct Shop {
    pub(crate) base: String,
    api: KeyJson,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Shop {
    pub(crate) async fn spawn() -> Shop {
        let dir = tempfile::tempdir().unwrap();
        let store = ShopStore::open(dir.path()).await.unwrap();
        let setup = shop::demo_init(&store).await.unwrap();
        let mut options = OpenOptions::new(Backend::Embedded {
            dir: dir.path().join("eventlog"),
        });
        options.clock = Arc::new(SystemClock);
        let log = EventLog::open(options).await.unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = App::new(store, log, Arc::new(SystemClock), AppConfig::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(server::run(listener, app, async move {
            let _ = stopped.await;
        }));
        Shop {
            base,
            api: setup.api,
            http: reqwest::Client::new(),
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        }
    }

    /// The public sales-flow link of the demo event in `lang`, as an integrator hands
    /// it out.
    pub(crate) fn saleslink(&self, lang: &str, reference: &str) -> String {
        format!(
            "{}/widgets/demo/flow/saleslink?event=10003&l={lang}&ref={reference}",
            self.base
        )
    }

    /// Every item of the demo eventstream, oldest first, once there are `expected` of them
    /// and no more arrive shortly after. Panics with what did arrive otherwise.
    pub(crate) async fn items(&self, expected: usize) -> Vec<Value> {
        let started = Instant::now();
        let mut items = self.read_all().await;
        while items.len() < expected && started.elapsed() < ITEMS_DEADLINE {
            tokio::time::sleep(Duration::from_millis(50)).await;
            items = self.read_all().await;
        }
        tokio::time::sleep(SETTLE).await;
        let items = self.read_all().await;
        assert_eq!(
            items.len(),
            expected,
            "expected {expected} items, the eventstream has {}: {:?}",
            items.len(),
            labels(&items)
        );
        items
    }

    async fn read_all(&self) -> Vec<Value> {
        let response = self
            .http
            .get(format!("{}/api/1/demo/eventstream?limit=10000", self.base))
            .basic_auth(&self.api.accesskey, Some(&self.api.secretkey))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["moreresults"], false);
        page["results"].as_array().cloned().unwrap_or_default()
    }

    pub(crate) async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.server.take().unwrap().await.unwrap().unwrap();
    }
}

/// `add_tickets`, or `pageview(summary)` for a page view: the shape the tests compare.
pub(crate) fn label(item: &Value) -> String {
    let kind = item["type"].as_str().unwrap();
    let action = kind
        .strip_prefix("webshop:")
        .unwrap_or_else(|| panic!("item type without the webshop: prefix: {kind}"));
    if action == "pageview" {
        format!("pageview({})", item["data"]["page"].as_str().unwrap())
    } else {
        action.to_owned()
    }
}

pub(crate) fn labels(items: &[Value]) -> Vec<String> {
    items.iter().map(label).collect()
}
