//! The real server with the demo account, on port 0 with a temporary data dir, and a
//! shopper that speaks HTTP to its pages like a browser without JavaScript.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use eventlog::{Backend, EventLog, OpenOptions, SystemClock};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;
use server::{App, AppConfig};
use shop::{DemoSetup, ShopStore};
use tokio::sync::oneshot;

pub(crate) struct TestShop {
    pub(crate) base: String,
    pub(crate) demo: DemoSetup,
    pub(crate) http: reqwest::Client,
    pub(crate) store: ShopStore,
    _stop: oneshot::Sender<()>,
    _dir: Option<tempfile::TempDir>,
}

/// The shop, with a page rate limit no test of the pages reaches unless it means to.
pub(crate) async fn spawn_shop() -> TestShop {
    spawn_shop_with(AppConfig {
        page_requests_per_minute: 10_000_000,
        page_burst: 100_000,
        ..AppConfig::default()
    })
    .await
}

/// The shop with `config`.
pub(crate) async fn spawn_shop_with(config: AppConfig) -> TestShop {
    let dir = tempfile::tempdir().unwrap();
    let store = ShopStore::open(dir.path()).await.unwrap();
    let log = EventLog::open(OpenOptions::new(Backend::Embedded {
        dir: dir.path().join("eventlog"),
    }))
    .await
    .unwrap();
    let mut shop = spawn_shop_on(store, log, config).await;
    shop._dir = Some(dir);
    shop
}

/// The shop over these stores, with the demo account set up in them.
pub(crate) async fn spawn_shop_on(store: ShopStore, log: EventLog, config: AppConfig) -> TestShop {
    let demo = shop::demo_init(&store).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = App::new(store.clone(), log, Arc::new(SystemClock), config);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::run(listener, app, async move {
        let _ = stopped.await;
    }));
    TestShop {
        base,
        demo,
        store,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _stop: stop,
        _dir: None,
    }
}

/// A shopper with a cookie and the CSRF token of the last page seen.
pub(crate) struct Shopper<'a> {
    pub(crate) shop: &'a TestShop,
    pub(crate) cookie: Option<String>,
    pub(crate) csrf: String,
}

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers[LOCATION].to_str().unwrap()
    }
}

impl<'a> Shopper<'a> {
    pub(crate) fn new(shop: &'a TestShop) -> Self {
        Shopper {
            shop,
            cookie: None,
            csrf: String::new(),
        }
    }

    pub(crate) async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(c) => request.header("cookie", c.as_str()),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(set) = headers.get(SET_COOKIE) {
            let set = set.to_str().unwrap();
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
        }
        let body = response.text().await.unwrap();
        if let Some(start) = body.find(r#"name="csrf" value=""#) {
            let rest = &body[start + 19..];
            self.csrf = rest[..rest.find('"').unwrap()].to_owned();
        }
        Page {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let url = format!("{}{path}", self.shop.base);
        self.send(self.shop.http.get(url)).await
    }

    /// GET, following redirects within the shop.
    pub(crate) async fn visit(&mut self, path: &str) -> Page {
        let mut page = self.get(path).await;
        while page.status == StatusCode::SEE_OTHER {
            let next = page.location().to_owned();
            page = self.get(&next).await;
        }
        page
    }

    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = format!("{}/widgets/demo{path}", self.shop.base);
        let mut form: Vec<(&str, &str)> = vec![("csrf", "")];
        form.extend_from_slice(fields);
        let csrf = self.csrf.clone();
        form[0].1 = &csrf;
        let page = self.send(self.shop.http.post(url).form(&form)).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}: {}", page.body);
        page
    }

    /// The session id of this shopper's cookie.
    pub(crate) fn session_id(&self) -> &str {
        self.cookie
            .as_deref()
            .and_then(|c| c.split_once('='))
            .map(|(_, v)| v)
            .unwrap()
    }

    /// POSTs `body` exactly as given (a forged form), with this shopper's cookie; no
    /// expectation on the answer.
    pub(crate) async fn post_body(&mut self, path: &str, body: String) -> Page {
        let url = format!("{}/widgets/demo{path}", self.shop.base);
        let request = self
            .shop
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// POST, then follow the redirect like a browser.
    pub(crate) async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.post(path, fields).await;
        let next = page.location().to_owned();
        self.visit(&next).await
    }
}

pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl TestShop {
    pub(crate) fn flow_url(&self, reference: Option<&str>) -> String {
        let mut url = "/widgets/demo/flow/saleslink?event=10003&l=en".to_owned();
        if let Some(r) = reference {
            url.push_str("&ref=");
            url.push_str(&enc(r));
        }
        url
    }

    /// Every item of the stream, once the relay has caught up with `expect` items.
    pub(crate) async fn items(&self, expect: usize) -> Vec<Value> {
        let mut items = Vec::new();
        for _ in 0..50 {
            items = self.read_all().await;
            if items.len() >= expect {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        items
    }

    /// Every item of the stream once the relay has moved everything committed so far:
    /// the actions of every request that has been answered.
    pub(crate) async fn read_all(&self) -> Vec<Value> {
        for _ in 0..200 {
            if self.store.outbox_len().await.unwrap() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(
            self.store.outbox_len().await.unwrap(),
            0,
            "the relay did not drain the outbox"
        );
        self.items_since("0").await.0
    }

    /// Every item after `from`, and the `nextid` to read on from.
    pub(crate) async fn items_since(&self, from: &str) -> (Vec<Value>, String) {
        let mut items = Vec::new();
        let mut next = from.to_owned();
        loop {
            let page: Value = self
                .http
                .get(format!(
                    "{}/api/1/demo/eventstream?id={next}&limit=10000",
                    self.base
                ))
                .basic_auth(&self.demo.api.accesskey, Some(&self.demo.api.secretkey))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            items.extend(page["results"].as_array().unwrap().iter().cloned());
            next = page["nextid"].as_str().unwrap().to_owned();
            if page["moreresults"] == false {
                return (items, next);
            }
        }
    }
}

pub(crate) fn kinds(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            let kind = i["type"].as_str().unwrap().trim_start_matches("webshop:");
            match i["data"]["page"].as_str() {
                Some(page) => format!("{kind}:{page}"),
                None => kind.to_owned(),
            }
        })
        .collect()
}
