//! What shoppers, integrators and load balancers see while a store is down, and that the
//! same server recovers by itself once it is back: `/readyz` answers 503 naming the store,
//! shop pages answer a 503 page without changing anything, the API answers 503 JSON, and
//! nothing a shopper was told had happened is lost.
//!
//! Needs TICKETSTREAM_TEST_DATABASE_URL (PostgreSQL) and TICKETSTREAM_TEST_REDIS_URL
//! (Redis tests run at all; this one starts its own `redis-server`, since it stops it);
//! without them the tests say they skipped.

#![allow(clippy::unwrap_used)]

mod pages_support;

use std::time::Duration;

use eventlog::{Backend, EventLog, KeyPrefix, OpenOptions, RedisUrl};
use pages_support::{Shopper, TestShop, enc, spawn_shop_on};
use reqwest::StatusCode;
use server::AppConfig;
use shop::{DatabaseUrl, ShopBackend, ShopStore};
use testsupport::{PrivateRedis, REDIS_ENV, TestDatabase};

fn config() -> AppConfig {
    AppConfig {
        page_requests_per_minute: 10_000_000,
        page_burst: 100_000,
        ..AppConfig::default()
    }
}

/// `/readyz`: its status and body.
async fn readyz(shop: &TestShop) -> (StatusCode, String) {
    let response = shop
        .http
        .get(format!("{}/readyz", shop.base))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn wait_until_ready(shop: &TestShop) {
    wait_until(shop, "ready").await;
}

/// Waits up to 15 s for `/readyz` to answer 200 with a line `line`.
async fn wait_until(shop: &TestShop, line: &str) {
    for _ in 0..300 {
        let (status, body) = readyz(shop).await;
        if status == StatusCode::OK && body.lines().any(|l| l == line) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/readyz does not say {line:?}: {:?}", readyz(shop).await);
}

/// The form that sets the number of Normal tickets of the demo event.
fn tickets(n: &str) -> [(&str, &str); 2] {
    [("event", "10003"), ("q_580", n)]
}

/// Sets the tickets, whatever the answer.
async fn post_tickets(shopper: &mut Shopper<'_>, n: &str) -> pages_support::Page {
    let body = format!("csrf={}&event=10003&q_580={n}", enc(&shopper.csrf));
    shopper.post_body("/shop/tickets", body).await
}

/// The eventstream answers 503 JSON (with Retry-After), not 500.
async fn assert_api_unavailable(shop: &TestShop) {
    let api = shop
        .http
        .get(format!("{}/api/1/demo/eventstream", shop.base))
        .basic_auth(&shop.demo.api.accesskey, Some(&shop.demo.api.secretkey))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.headers()["retry-after"], "1");
    assert_eq!(api.json::<serde_json::Value>().await.unwrap()["code"], 503);
}

/// For each `add_tickets` item, how many tickets the order held after it.
fn tickets_after_each_add(items: &[serde_json::Value]) -> Vec<usize> {
    items
        .iter()
        .filter(|i| i["type"] == "webshop:add_tickets")
        .map(|i| i["data"]["order"]["tickets"].as_array().unwrap().len())
        .collect()
}

fn assert_unavailable_page(page: &pages_support::Page) {
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert_eq!(page.headers["retry-after"], "1");
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        page.headers
    );
    assert!(page.body.contains("nothing was changed"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_is_gone_pages_answer_503_and_the_server_recovers_by_itself() {
    let Some(db) = TestDatabase::create("while_postgres_is_gone") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = ShopStore::open(ShopBackend::postgres(DatabaseUrl::parse(db.url()).unwrap()))
        .await
        .unwrap();
    let log = EventLog::open(OpenOptions::new(Backend::Embedded {
        dir: dir.path().join("eventlog"),
    }))
    .await
    .unwrap();
    let shop = spawn_shop_on(store, log, config()).await;
    wait_until_ready(&shop).await;

    let mut shopper = Shopper::new(&shop);
    shopper.visit(&shop.flow_url(Some("outage"))).await;
    shopper.post("/shop/tickets", &tickets("1")).await;

    db.take_away();
    let (status, body) = readyz(&shop).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("shop store: unavailable"), "{body}");
    assert!(body.contains("event log: ok"), "{body}");
    // A change is refused with a page that says so, and changes nothing.
    assert_unavailable_page(&post_tickets(&mut shopper, "2").await);
    assert_unavailable_page(&shopper.get("/widgets/demo/shop/basket").await);
    // The API cannot check keys without the shop store: 503 JSON, not 500.
    assert_api_unavailable(&shop).await;

    db.restore();
    wait_until_ready(&shop).await;
    // The relay's lock went with its connection; it is taken again.
    wait_until(&shop, "relay: relays the outbox").await;
    let page = post_tickets(&mut shopper, "3").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    // The actions acknowledged before and after, and nothing of the refused one.
    let items = shop.items(4).await;
    let adds = tickets_after_each_add(&items);
    assert_eq!(adds, [1, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_the_shop_keeps_every_acknowledged_action_for_later() {
    // A private server, since this test stops it; run only where Redis tests run.
    if std::env::var(REDIS_ENV).is_err() {
        println!("skipped: {REDIS_ENV} is not set");
        return;
    }
    let Some(mut redis) = PrivateRedis::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = ShopStore::open(dir.path()).await.unwrap();
    let log = EventLog::open(OpenOptions::new(Backend::Redis {
        url: RedisUrl::parse(&redis.url()).unwrap(),
        prefix: KeyPrefix::default(),
    }))
    .await
    .unwrap();
    let shop = spawn_shop_on(store, log, config()).await;
    wait_until_ready(&shop).await;

    let mut shopper = Shopper::new(&shop);
    shopper.visit(&shop.flow_url(Some("redis-outage"))).await;
    shopper.post("/shop/tickets", &tickets("1")).await;
    assert_eq!(shop.items(2).await.len(), 2);

    redis.kill();
    let (status, body) = readyz(&shop).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("event log: unavailable"), "{body}");
    assert!(body.contains("shop store: ok"), "{body}");
    // Shopping goes on: the action waits in the outbox.
    shopper.post("/shop/tickets", &tickets("2")).await;
    assert_api_unavailable(&shop).await;

    redis.restart();
    wait_until_ready(&shop).await;
    let items = shop.items(3).await;
    let adds = tickets_after_each_add(&items);
    assert_eq!(adds, [1, 2]);
    assert_eq!(shop.store.outbox_len().await.unwrap(), 0);
}

/// With the embedded stores, a server is ready as soon as it serves, and relays itself.
#[tokio::test]
async fn readyz_names_both_stores_and_the_relay() {
    let shop = pages_support::spawn_shop_with(config()).await;
    wait_until(&shop, "relay: relays the outbox").await;
    let (status, body) = readyz(&shop).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        "ready\nshop store: ok\nevent log: ok\nrelay: relays the outbox\n"
    );
}
