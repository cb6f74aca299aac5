//! A rush of shoppers against one `ticketstream serve` with the embedded stores, the
//! server killed with SIGKILL mid-run and started again on the same data directory.
//! Every action whose response arrived must then be in the eventstream (so its shop
//! change committed with it: they share one transaction), at most the uncertain ones of
//! failed requests on top; no seat is oversold and the counters agree with the orders.
//! This is what group commit must keep: nobody is answered before the commit holding
//! their change is written (synced to disk with the default `--shop-sync full`; written
//! to the WAL file, which a crash of the process does not lose, with `normal`).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::tally::{
    as_counts, assert_seats_consistent, assert_stream_holds, last_json_line, read_stream,
};
use common::{BIN, Process, serve_on, ticketstream, wait_until};
use shop::ShopStore;
use testsupport::free_port;

fn serve(data_dir: &Path, port: u16, sync: &str) -> Process {
    let mut command = Command::new(BIN);
    command.arg("--data-dir").arg(data_dir);
    command.env("TICKETSTREAM_SHOP_SYNC", sync);
    serve_on(command, port)
}

fn loadgen(data_dir: &Path, port: u16) -> Child {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["loadgen", "--url", &format!("http://127.0.0.1:{port}")])
        .args([
            "--account",
            "demo",
            "--shoppers",
            "160",
            "--concurrency",
            "16",
        ])
        .args(["--seed", "7", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn ready(port: u16) -> bool {
    match reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await {
        Ok(response) => response.status() == 200,
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rush_killed_mid_run_keeps_every_acknowledged_action_and_oversells_nothing() {
    rush_killed_mid_run("full").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rush_killed_mid_run_with_shop_sync_normal_keeps_every_acknowledged_action() {
    rush_killed_mid_run("normal").await;
}

async fn rush_killed_mid_run(sync: &str) {
    let dir = tempfile::tempdir().unwrap();
    let demo = last_json_line(&ticketstream(dir.path(), &["demo", "init", "--json"]));
    let accesskey = demo["api"]["accesskey"].as_str().unwrap().to_owned();
    let secretkey = demo["api"]["secretkey"].as_str().unwrap().to_owned();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");

    let mut server = serve(dir.path(), port, sync);
    wait_until("the server is ready", async || ready(port).await).await;
    let mut shoppers = loadgen(dir.path(), port);
    // Mid-run: once the rush has put some actions in the stream, kill the server.
    wait_until("the run is under way", async || {
        read_stream(&base, &accesskey, &secretkey).await.len() >= 200
    })
    .await;
    assert!(
        shoppers.try_wait().unwrap().is_none(),
        "the loadgen has already finished: the kill would not be mid-run"
    );
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    server = serve(dir.path(), port, sync);
    wait_until("the killed server is back", async || ready(port).await).await;

    let summary = last_json_line(&shoppers.wait_with_output().unwrap());
    let acknowledged = as_counts(&summary["acknowledged"]);
    let uncertain = as_counts(&summary["uncertain"]);
    assert!(
        summary["errors"].as_u64().unwrap() > 0,
        "the kill went unnoticed by the loadgen: {summary}"
    );
    assert!(
        summary["orders_confirmed"].as_u64().unwrap() > 0,
        "{summary}"
    );

    // The restarted server relays what the killed one left in the outbox.
    let shop = ShopStore::open(dir.path()).await.unwrap();
    wait_until("the outbox is empty", async || {
        shop.outbox_len().await.unwrap() == 0
    })
    .await;
    let items = read_stream(&base, &accesskey, &secretkey).await;
    assert_stream_holds(&items, &acknowledged, &uncertain);
    drop(server);
    assert_seats_consistent(&shop).await;
}
