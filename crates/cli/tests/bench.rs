//! Black-box tests of `ticketstream bench`: a very small run (hidden size knobs) must end
//! its stdout with one JSON object holding every figure as a finite positive number, and
//! leave no server, temporary directory or Redis key behind, also when interrupted.
//! Nothing here judges a speed.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, Process};
use serde_json::Value;

/// The figures of every run.
const FIGURES: [&str; 12] = [
    "read_items_per_s",
    "read_cold_items_per_s",
    "tracked_actions_per_s",
    "untracked_actions_per_s",
    "server_cpu_us_per_tracked_action",
    "server_cpu_us_per_untracked_action",
    "latency_p50_ms",
    "latency_p99_ms",
    "sse_latency_p99_ms",
    "bytes_per_item",
    "rss_mb_1m_items",
    "consumer_items_per_s",
];

/// The machine during the shop's figures: the share of its CPU time a hypervisor gave to
/// other guests, in percent (0 on a machine of its own).
const MACHINE_FIGURES: [&str; 2] = ["actions_steal_pct", "latency_steal_pct"];

/// The figures `--redis` adds.
const REDIS_FIGURES: [&str; 6] = [
    "redis_xrange_items_per_s",
    "scaleout_read_items_per_s",
    "scaleout_read_cold_items_per_s",
    "scaleout_consumer_items_per_s",
    "scaleout_rss_mb_1m_items",
    "scaleout_bytes_per_item",
];

/// As small as the knobs go: seconds, not minutes, even on a debug build.
const SMALL: [&str; 7] = [
    "--items",
    "3000",
    "--shoppers",
    "10",
    "--seconds",
    "1",
    "--quick",
];

fn redis_url() -> Option<String> {
    let url = std::env::var("TICKETSTREAM_TEST_REDIS_URL").ok();
    if url.is_none() {
        eprintln!("skipped: the Redis figures (TICKETSTREAM_TEST_REDIS_URL not set)");
    }
    url
}

async fn redis_keys(url: &str, prefix: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut con)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_run_prints_every_figure_as_a_positive_number() {
    let redis = redis_url();
    let prefix = format!("tsbench-test-{}", std::process::id());
    let mut command = Command::new(BIN);
    command.args(["bench", "--json"]).args(SMALL);
    // The caller's settings must not reach the servers the bench starts: with these, a
    // server would look for a Redis that is not there, or purge the prefilled items.
    command
        .env("TICKETSTREAM_EVENTLOG", "redis://127.0.0.1:1/0")
        .env("TICKETSTREAM_RETENTION", "1s");
    if let Some(url) = &redis {
        command.args(["--redis", url, "--redis-prefix", &prefix]);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{stdout}");

    let json: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let figures = json.as_object().unwrap();
    let mut expected: Vec<&str> = FIGURES.to_vec();
    if redis.is_some() {
        expected.extend(REDIS_FIGURES);
    }
    for key in &expected {
        let value = figures.get(*key).and_then(Value::as_f64);
        assert!(
            value.is_some_and(|v| v.is_finite() && v > 0.0),
            "{key} is {value:?} in {json}"
        );
        // The table above names every figure too.
        assert!(
            stdout.lines().any(|l| l.starts_with(key)),
            "no row for {key}:\n{stdout}"
        );
    }
    for key in MACHINE_FIGURES {
        let value = figures.get(key).and_then(Value::as_f64);
        assert!(
            value.is_some_and(|v| (0.0..=100.0).contains(&v)),
            "{key} is {value:?} in {json}"
        );
        assert!(
            stdout.lines().any(|l| l.starts_with(key)),
            "no row for {key}:\n{stdout}"
        );
    }
    let mut keys: Vec<&str> = figures.keys().map(String::as_str).collect();
    keys.sort_unstable();
    expected.extend(MACHINE_FIGURES);
    expected.sort_unstable();
    assert_eq!(
        keys, expected,
        "exactly the figures of the goals and the machine's"
    );

    if let Some(url) = &redis {
        assert!(redis_keys(url, &prefix).await.is_empty(), "keys were left");
    }
}

/// Also: `--shop-sync` reaches the shop's server.
#[test]
fn an_interrupted_run_leaves_no_server_and_no_directory() {
    let mut child = Command::new(BIN)
        .arg("bench")
        .args(SMALL)
        .args(["--shop-sync", "normal"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let pid = child.id();
    let bench = Process(child);
    let mut work_dir = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some((_, dir)) = line.split_once(": working in ") {
            work_dir = Some(dir.to_owned());
        }
        // The shop server is up and the shoppers are on their way.
        if line.contains("round 1 of") {
            break;
        }
    }
    let work_dir = work_dir.expect("bench named no working directory");
    let servers = servers_using(&work_dir);
    assert!(!servers.is_empty(), "no server was found");
    for server in servers {
        let environ = std::fs::read(format!("/proc/{server}/environ")).unwrap_or_default();
        assert!(
            environ
                .split(|b| *b == 0)
                .any(|var| var == b"TICKETSTREAM_SHOP_SYNC=normal"),
            "the shop server was started without --shop-sync normal"
        );
    }

    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut bench = bench;
    let exited = bench.0.wait().unwrap();
    assert!(!exited.success(), "an interrupted run must not succeed");

    // The servers were killed; give the kernel a moment to tear them down.
    for _ in 0..100 {
        if servers_using(&work_dir).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(servers_using(&work_dir), Vec::<u32>::new());
    assert!(
        !std::path::Path::new(&work_dir).exists(),
        "{work_dir} was left"
    );
}

/// Live processes whose command line mentions `dir`.
fn servers_using(dir: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(dir) {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn a_sync_mode_it_does_not_know_is_refused() {
    let output = Command::new(BIN)
        .args(["bench", "--shop-sync", "fast"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a sync mode"), "{stderr}");
}

#[test]
fn the_scale_out_shop_needs_redis() {
    let output = Command::new(BIN)
        .args(["bench", "--database-url", "postgres://127.0.0.1/x"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--database-url needs --redis"), "{stderr}");
}
