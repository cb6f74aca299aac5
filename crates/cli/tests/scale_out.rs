//! Several processes: three `ticketstream serve` sharing one PostgreSQL database and one
//! Redis (a key prefix of their own), a loadgen on each, and the process that relays the
//! outbox killed with SIGKILL mid-run and started again. Through any one process, the
//! eventstream then holds every acknowledged action exactly once (at most the uncertain
//! ones of failed requests on top), ids strictly ascending; no seat is oversold and the
//! outbox ends empty.
//!
//! Needs TICKETSTREAM_TEST_DATABASE_URL and TICKETSTREAM_TEST_REDIS_URL; without them it
//! says it skipped.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::tally::{
    Counts, as_counts, assert_seats_consistent, assert_stream_holds, last_json_line, read_stream,
};
use common::{BIN, Process, serve_on, wait_until};
use serde_json::Value;
use shop::{DatabaseUrl, ShopBackend, ShopStore};
use testsupport::{TestDatabase, TestRedis, free_port};

/// What every command of this test is given, through the environment as a deployment
/// would: the shared stores.
struct Shared {
    db: TestDatabase,
    redis: TestRedis,
}

impl Shared {
    fn command(&self, data_dir: &Path) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--data-dir")
            .arg(data_dir)
            .env("TICKETSTREAM_DATABASE_URL", self.db.url())
            .env("TICKETSTREAM_EVENTLOG", self.redis.url())
            .env("TICKETSTREAM_EVENTLOG_PREFIX", self.redis.prefix());
        command
    }

    fn serve(&self, data_dir: &Path, port: u16) -> Process {
        serve_on(self.command(data_dir), port)
    }

    fn loadgen(&self, data_dir: &Path, port: u16, seed: u64) -> Child {
        self.command(data_dir)
            .args(["loadgen", "--url", &format!("http://127.0.0.1:{port}")])
            .args([
                "--account",
                "demo",
                "--shoppers",
                "40",
                "--concurrency",
                "4",
            ])
            .args(["--seed", &seed.to_string(), "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }
}

/// `/readyz` of the server on `port`: `None` while it does not answer.
async fn readyz(port: u16) -> Option<(u16, String)> {
    let response = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

async fn ready(port: u16) -> bool {
    matches!(readyz(port).await, Some((200, _)))
}

async fn relays(port: u16) -> bool {
    matches!(readyz(port).await, Some((200, body)) if body.contains("relay: relays the outbox"))
}

/// Merges per-ref counts from runs whose refs never overlap (each has its own seed).
fn merge(into: &mut Counts, from: Counts) {
    for (r, counts) in from {
        assert!(
            into.insert(r, counts).is_none(),
            "two loadgens used one ref"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_the_stores_and_lose_nothing_when_one_is_killed() {
    let test = "three_processes_share_the_stores";
    let (Some(db), Some(redis)) = (TestDatabase::create(test), TestRedis::create(test)) else {
        return;
    };
    let shared = Shared { db, redis };
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let demo = last_json_line(
        &shared
            .command(dirs[0].path())
            .args(["demo", "init", "--json"])
            .output()
            .unwrap(),
    );
    let (accesskey, secretkey) = (
        demo["api"]["accesskey"].as_str().unwrap().to_owned(),
        demo["api"]["secretkey"].as_str().unwrap().to_owned(),
    );

    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut servers: Vec<Process> = (0..3)
        .map(|i| shared.serve(dirs[i].path(), ports[i]))
        .collect();
    for &port in &ports {
        wait_until("every server is ready", async || ready(port).await).await;
    }
    wait_until("one server relays", async || {
        let mut leading = 0;
        for &port in &ports {
            leading += usize::from(relays(port).await);
        }
        leading == 1
    })
    .await;
    let mut leader = 0;
    for (i, &port) in ports.iter().enumerate() {
        if relays(port).await {
            leader = i;
        }
    }

    let mut loadgens: Vec<Child> = (0..3)
        .map(|i| shared.loadgen(dirs[i].path(), ports[i], 100 + u64::try_from(i).unwrap()))
        .collect();
    // Mid-run: once some actions are in the stream, kill the relaying process.
    let other = ports[(leader + 1) % 3];
    let base = |port: u16| format!("http://127.0.0.1:{port}");
    wait_until("the run is under way", async || {
        read_stream(&base(other), &accesskey, &secretkey)
            .await
            .len()
            >= 30
    })
    .await;
    assert!(
        loadgens[leader].try_wait().unwrap().is_none(),
        "the loadgen of the process to kill has already finished: the kill would not be mid-run"
    );
    servers[leader].0.kill().unwrap();
    servers[leader].0.wait().unwrap();
    // Another process takes the relay over while this one is down.
    wait_until("another process relays", async || {
        let mut leading = false;
        for (i, &port) in ports.iter().enumerate() {
            leading |= i != leader && relays(port).await;
        }
        leading
    })
    .await;
    servers[leader] = shared.serve(dirs[leader].path(), ports[leader]);
    wait_until("the killed server is back", async || {
        ready(ports[leader]).await
    })
    .await;

    let (mut acknowledged, mut uncertain) = (Counts::new(), Counts::new());
    let mut errors = 0;
    for loadgen in loadgens.drain(..) {
        let summary = last_json_line(&loadgen.wait_with_output().unwrap());
        merge(&mut acknowledged, as_counts(&summary["acknowledged"]));
        merge(&mut uncertain, as_counts(&summary["uncertain"]));
        errors += summary["errors"].as_u64().unwrap();
        assert!(
            summary["orders_confirmed"].as_u64().unwrap() > 0,
            "{summary}"
        );
    }
    assert_eq!(acknowledged.len(), 3 * 32, "tracked shoppers of three runs");
    assert!(errors > 0, "the kill went unnoticed by its loadgen");

    // Through each process, the same stream: every acknowledged action, once.
    let shop = ShopStore::open(ShopBackend::postgres(
        DatabaseUrl::parse(shared.db.url()).unwrap(),
    ))
    .await
    .unwrap();
    wait_until("the outbox is empty", async || {
        shop.outbox_len().await.unwrap() == 0
    })
    .await;
    let mut streams: Vec<Vec<Value>> = Vec::new();
    for &port in &ports {
        streams.push(read_stream(&base(port), &accesskey, &secretkey).await);
    }
    let items = &streams[0];
    assert!(
        streams.iter().all(|s| s == items),
        "the processes serve one stream"
    );
    assert_stream_holds(items, &acknowledged, &uncertain);
    assert_seats_consistent(&shop).await;
}
