//! Black-box tests of `ticketstream loadgen`: simulated shoppers against the real server,
//! then the whole eventstream compared with what loadgen says the server acknowledged,
//! per ref and action type. Untracked shoppers must have left nothing.

#![allow(clippy::unwrap_used)]

mod common;

use common::serve_demo;
use common::tally::{as_counts, count, last_json_line, mismatches, read_stream};
use common::ticketstream;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// The 11 action types of the tracking contract.
const TYPES: [&str; 11] = [
    "webshop:pageview",
    "webshop:add_tickets",
    "webshop:remove_tickets",
    "webshop:add_products",
    "webshop:remove_products",
    "webshop:checkout_start",
    "webshop:checkout_addcustomerinfo",
    "webshop:checkout_adddeliveryinfo",
    "webshop:checkout_addpaymentinfo",
    "webshop:checkout_initiatepayment",
    "webshop:checkout_confirm",
];

#[tokio::test]
async fn the_eventstream_holds_exactly_the_acknowledged_actions_of_tracked_shoppers() {
    let dir = tempfile::tempdir().unwrap();
    let demo = last_json_line(&ticketstream(dir.path(), &["demo", "init", "--json"]));
    let accesskey = demo["api"]["accesskey"].as_str().unwrap().to_owned();
    let secretkey = demo["api"]["secretkey"].as_str().unwrap().to_owned();
    let (_server, printed) = serve_demo(dir.path(), &[]);
    let base = printed.base_url;

    let output = ticketstream(
        dir.path(),
        &[
            "loadgen",
            "--url",
            &base,
            "--account",
            "demo",
            "--shoppers",
            "40",
            "--concurrency",
            "8",
            "--seed",
            "7",
            "--json",
        ],
    );
    let summary = last_json_line(&output);
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(summary["shoppers"], 40);
    assert!(summary["orders_confirmed"].as_u64().unwrap() > 0);
    assert!(summary["untracked_actions"].as_u64().unwrap() > 0);
    let acknowledged = as_counts(&summary["acknowledged"]);
    let uncertain = as_counts(&summary["uncertain"]);
    // The default tracked share is 0.8, and every tracked shopper has its own ref.
    assert_eq!(acknowledged.len(), 32);
    let refs: Vec<&String> = acknowledged.keys().collect();
    assert!(refs.iter().any(|r| r.contains('<') && r.contains('"')));
    assert!(refs.iter().any(|r| !r.is_ascii()));
    assert!(refs.iter().any(|r| r.len() == 512));

    // Items appear within ~100 ms of the response: poll until the stream matches, then
    // look once more a little later, so items that arrive late are caught too.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (stream, _) = count(&read_stream(&base, &accesskey, &secretkey).await);
        if mismatches(&stream, &acknowledged, &uncertain).is_empty() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let items = read_stream(&base, &accesskey, &secretkey).await;
    let (stream, without_ref) = count(&items);

    assert_eq!(
        without_ref, 0,
        "items without a ref: untracked shoppers were recorded"
    );
    let problems = mismatches(&stream, &acknowledged, &uncertain);
    assert!(problems.is_empty(), "{problems:#?}");
    let seen: BTreeSet<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    for kind in TYPES {
        assert!(seen.contains(kind), "no {kind} in the whole run: {seen:?}");
    }
    let confirmed: u64 = acknowledged
        .values()
        .map(|c| c.get("webshop:checkout_confirm").copied().unwrap_or(0))
        .sum();
    assert!(confirmed <= summary["orders_confirmed"].as_u64().unwrap());
}

#[test]
fn loadgen_counts_errors_and_carries_on_when_no_server_answers() {
    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let output = ticketstream(
        dir.path(),
        &[
            "loadgen",
            "--url",
            &url,
            "--account",
            "demo",
            "--shoppers",
            "6",
            "--concurrency",
            "2",
            "--seed",
            "1",
            "--json",
        ],
    );
    let summary = last_json_line(&output);
    assert_eq!(summary["shoppers"], 6, "{summary}");
    assert_eq!(summary["errors"], 6, "{summary}");
    assert_eq!(summary["orders_confirmed"], 0);
    assert_eq!(summary["untracked_actions"], 0);
    // Entering the shop records nothing, so a failed entry leaves nothing uncertain.
    let acknowledged = as_counts(&summary["acknowledged"]);
    assert!(acknowledged.values().all(BTreeMap::is_empty), "{summary}");
    assert!(as_counts(&summary["uncertain"]).is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("shopper 0: GET "));
}

#[test]
fn loadgen_without_json_prints_a_summary_for_people() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let output = ticketstream(
        dir.path(),
        &[
            "loadgen",
            "--url",
            &url,
            "--account",
            "demo",
            "--shoppers",
            "1",
        ],
    );
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("1 shopper (1 tracked"), "{stdout}");
    assert!(stdout.contains("errors: 1"), "{stdout}");

    let bad = ticketstream(
        dir.path(),
        &[
            "loadgen",
            "--url",
            &url,
            "--account",
            "demo",
            "--shoppers",
            "1",
            "--tracked-ratio",
            "1.5",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--tracked-ratio"));
}
