//! Black-box tests of `ticketstream consume` against the real server: `serve --demo` on a
//! free port, traffic from `loadgen` through the real pages, the consumer as a separate
//! process (so it can be killed with SIGKILL), and a webhook receiver in the test.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;

use common::{BIN, Process};

const HOOK_SECRET: &str = "test-webhook-secret";

/// A running `serve --demo` and what it printed.
struct Demo {
    _server: Process,
    dir: tempfile::TempDir,
    base_url: String,
    accesskey: String,
    secretkey: String,
    /// The length of the log when the last consumer was started: it logs `consuming`
    /// after that once it listens for signals.
    last_start: AtomicUsize,
}

fn serve_demo(extra: &[&str]) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = common::serve_demo(&dir.path().join("data"), extra);
    Demo {
        _server: server,
        base_url: printed.base_url,
        accesskey: printed.accesskey,
        secretkey: printed.secretkey,
        dir,
        last_start: AtomicUsize::new(0),
    }
}

impl Demo {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Simulated shoppers through the real pages; returns when they are done and the
    /// stream holds every tracked action they had acknowledged on top of what it held
    /// before (the relay appends just after each response, so a busy machine may take a
    /// moment).
    async fn loadgen(&self, shoppers: u32, seed: u64) {
        let before = self.stream().await.len() as u64;
        let url = self.base_url.clone();
        let output = tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(["loadgen", "--url", &url, "--account", "demo"])
                .args(["--shoppers", &shoppers.to_string()])
                .args(["--seed", &seed.to_string(), "--json"])
                .stderr(Stdio::null())
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(output.status.success(), "loadgen failed: {output:?}");
        let summary: serde_json::Value = serde_json::from_slice(
            output
                .stdout
                .trim_ascii_end()
                .rsplit(|b| *b == b'\n')
                .next()
                .unwrap(),
        )
        .unwrap();
        let acknowledged: u64 = summary["acknowledged"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|types| types.as_object().unwrap().values())
            .map(|n| n.as_u64().unwrap())
            .sum();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let have = self.stream().await.len() as u64 - before;
            if have >= acknowledged {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the stream holds {have} of {acknowledged} newly acknowledged actions"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every item of the stream, as served (raw bytes), oldest first.
    async fn stream(&self) -> Vec<String> {
        #[derive(Deserialize)]
        struct Page {
            results: Vec<Box<RawValue>>,
            nextid: String,
            moreresults: bool,
        }
        let http = reqwest::Client::new();
        let mut items = Vec::new();
        let mut id = "0".to_owned();
        loop {
            let body = http
                .get(format!(
                    "{}/api/1/demo/eventstream?id={id}&limit=10000",
                    self.base_url
                ))
                .basic_auth(&self.accesskey, Some(&self.secretkey))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let page: Page = serde_json::from_str(&body).unwrap();
            items.extend(page.results.into_iter().map(|r| r.get().to_owned()));
            id = page.nextid;
            if !page.moreresults {
                return items;
            }
        }
    }

    /// Starts `consume` with these sinks; logs (JSON) go to `consume.log`.
    fn consume(&self, sinks: &[String], extra: &[&str]) -> Process {
        self.last_start.store(self.log().len(), Ordering::SeqCst);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("consume.log"))
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["--log-format", "json", "consume", "--url", &self.base_url])
            .args(["--account", "demo", "--auth", "hmac"])
            .args(["--key", &self.accesskey, "--secret", &self.secretkey])
            .arg("--state-dir")
            .arg(self.path("state"))
            .args(["--wait", "2", "--no-progress"]);
        for sink in sinks {
            cmd.args(["--sink", sink]);
        }
        Process(
            cmd.args(extra)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("consume.log")).unwrap_or_default()
    }
}

/// SIGTERM, then the consumer must finish its batch and exit 0 soon. The signal is sent
/// only once the consumer listens for it: earlier, its default action kills the process.
async fn stop(mut consumer: Process, demo: &Demo) {
    let start = demo.last_start.load(Ordering::SeqCst);
    wait_until(
        "the consumer listens for signals",
        demo,
        Duration::from_secs(20),
        || {
            demo.log()
                .get(start..)
                .unwrap_or_default()
                .contains(r#""message":"consuming""#)
        },
    )
    .await;
    let pid = consumer.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = consumer.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "consume did not stop on SIGTERM; log:\n{}",
            demo.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}; log:\n{}", demo.log());
}

fn kill9(consumer: Process) {
    let pid = consumer.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    drop(consumer);
}

async fn wait_until(what: &str, demo: &Demo, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}; log:\n{}",
            demo.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn id_of(item: &str) -> String {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_str::<Id>(item).unwrap().id
}

/// At least once and in order: `received` is the stream cut into runs of consecutive
/// items, each run starting at most `max_resent` items before where the previous ended
/// (a re-sent, unacknowledged batch) and never after it (nothing skipped). Returns the
/// number of items received twice.
fn assert_at_least_once_in_order(
    received: &[String],
    stream: &[String],
    max_resent: usize,
) -> usize {
    let position: HashMap<&str, usize> = stream
        .iter()
        .enumerate()
        .map(|(i, item)| (item.as_str(), i))
        .collect();
    let mut next = 0; // the first stream position not received yet
    let mut previous: Option<usize> = None;
    let mut duplicates = 0;
    for item in received {
        let p = *position
            .get(item.as_str())
            .unwrap_or_else(|| panic!("received an item that is not in the stream: {item}"));
        let consecutive = previous.is_some_and(|q| p == q + 1);
        if !consecutive {
            // A new run: it may go back (re-send), never forward past what is missing.
            assert!(
                p <= next,
                "skipped items: run starts at {p}, {next} missing"
            );
            assert!(
                next - p <= max_resent,
                "re-sent {} items, more than an unacknowledged batch ({max_resent})",
                next - p
            );
        }
        if p < next {
            duplicates += 1;
        }
        next = next.max(p + 1);
        previous = Some(p);
    }
    assert_eq!(next, stream.len(), "not every item arrived");
    duplicates
}

/// What the test's webhook receiver saw.
#[derive(Debug, Default)]
struct Hook {
    /// Answer this status instead of accepting.
    fail_with: Option<u16>,
    /// Accepted items, in arrival order, as received.
    items: Vec<String>,
    requests: usize,
    /// Anything wrong with a request: bad signature, wrong headers.
    errors: Vec<String>,
}

type SharedHook = Arc<Mutex<Hook>>;

async fn start_receiver() -> (String, SharedHook) {
    let hook = SharedHook::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .layer(DefaultBodyLimit::max(64 << 20))
        .with_state(Arc::clone(&hook));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hook)
}

/// Checks what a receiver should check: the signature over the raw body, the timestamp's
/// freshness (replays), and that the id headers match the body.
async fn receive(State(hook): State<SharedHook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    #[derive(Deserialize)]
    struct Batch {
        items: Vec<Box<RawValue>>,
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut errors = Vec::new();
    let ts = header("x-ticketstream-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let signature = header("x-ticketstream-signature");
    let signature = signature.strip_prefix("sha256=").unwrap_or("");
    if mac
        .verify_slice(&hex::decode(signature).unwrap_or_default())
        .is_err()
    {
        errors.push(format!("bad signature {signature:?}"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    match ts.parse::<u64>() {
        Ok(ts) if now.abs_diff(ts) <= 300 => {}
        _ => errors.push(format!("stale or missing timestamp {ts:?}")),
    }
    let batch: Batch = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            hook.lock().unwrap().errors.push(format!("bad body: {e}"));
            return StatusCode::BAD_REQUEST;
        }
    };
    let items: Vec<String> = batch.items.iter().map(|r| r.get().to_owned()).collect();
    let (first, last) = (id_of(&items[0]), id_of(&items[items.len() - 1]));
    if header("x-ticketstream-first-id") != first || header("x-ticketstream-last-id") != last {
        errors.push("id headers do not match the body".into());
    }
    if header("idempotency-key") != format!("{first}_{last}") {
        errors.push("unexpected Idempotency-Key".into());
    }
    let mut hook = hook.lock().unwrap();
    hook.requests += 1;
    hook.errors.extend(errors);
    if let Some(code) = hook.fail_with {
        return StatusCode::from_u16(code).unwrap();
    }
    hook.items.extend(items);
    StatusCode::OK
}

fn hook_sink(url: &str) -> String {
    format!("hook=webhook:{url},secret={HOOK_SECRET}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_a_loadgen_run_to_ndjson_byte_for_byte_and_resumes() {
    let demo = serve_demo(&[]);
    demo.loadgen(30, 7).await;
    let stream = demo.stream().await;
    assert!(stream.len() > 100, "too little traffic: {}", stream.len());

    let file = demo.path("items.ndjson");
    let sink = format!("main=ndjson:{}", file.display());
    // Small pages, so the loop follows `moreresults` many times.
    let consumer = demo.consume(
        std::slice::from_ref(&sink),
        &["--limit", "50", "--metrics", "127.0.0.1:0"],
    );
    wait_until(
        "the file holds the stream",
        &demo,
        Duration::from_secs(30),
        || lines(&file).len() >= stream.len(),
    )
    .await;
    // Byte for byte, in order, each item once.
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        stream.join("\n") + "\n"
    );

    // Prometheus metrics, at the address the log names.
    let metrics_url = demo
        .log()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|l| l["fields"]["metrics"].as_str().map(str::to_owned))
        .expect("the log names the metrics address");
    let metrics = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "ticketstream_consume_items_forwarded_total{{sink=\"main\"}} {}\n",
            stream.len()
        )),
        "{metrics}"
    );
    assert!(metrics.contains("ticketstream_consume_lag_seconds{sink=\"main\"} 0.000\n"));
    stop(consumer, &demo).await;

    // More traffic while it is stopped; the next run, configured by a file and the
    // environment this time, resumes from the cursor.
    demo.loadgen(5, 8).await;
    let stream = demo.stream().await;
    let config = demo.path("consume.toml");
    std::fs::write(
        &config,
        format!(
            "url = {:?}\naccount = \"demo\"\nstate_dir = {:?}\nsinks = [{:?}]\nwait = 2\n",
            demo.base_url,
            demo.path("state").display().to_string(),
            sink
        ),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["consume", "--no-progress", "--config"])
        .arg(&config)
        .env("TICKETSTREAM_ACCESSKEY", &demo.accesskey)
        .env("TICKETSTREAM_SECRETKEY", &demo.secretkey)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let consumer = Process(cmd.spawn().unwrap());
    wait_until(
        "the file holds the new items",
        &demo,
        Duration::from_secs(30),
        || lines(&file).len() >= stream.len(),
    )
    .await;
    stop(consumer, &demo).await;
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        stream.join("\n") + "\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_nothing_and_repeats_only_the_unacknowledged_batch() {
    const LIMIT: usize = 20;
    let demo = serve_demo(&[]);
    let (hook_url, hook) = start_receiver().await;
    let file = demo.path("items.ndjson");
    let sinks = [
        format!("file=ndjson:{}", file.display()),
        hook_sink(&hook_url),
    ];
    let limit = LIMIT.to_string();

    // Traffic keeps coming while the consumer is killed and restarted.
    let traffic = {
        let url = demo.base_url.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(["loadgen", "--url", &url, "--account", "demo"])
                .args(["--shoppers", "80", "--seed", "11", "--concurrency", "4"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap()
        })
    };
    let seed: u64 = rand::thread_rng().r#gen();
    println!("kill schedule seed: {seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut restarts = 0;
    for _ in 0..6 {
        let consumer = demo.consume(&sinks, &["--limit", &limit]);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..1200))).await;
        kill9(consumer);
        restarts += 1;
    }
    assert!(traffic.await.unwrap().success());
    let stream = demo.stream().await;
    let consumer = demo.consume(&sinks, &["--limit", &limit]);
    let last = stream.last().unwrap().clone();
    wait_until(
        "both sinks caught up",
        &demo,
        Duration::from_secs(40),
        || lines(&file).contains(&last) && hook.lock().unwrap().items.contains(&last),
    )
    .await;
    stop(consumer, &demo).await;

    let hook = hook.lock().unwrap();
    assert!(hook.errors.is_empty(), "{:?}", hook.errors);
    let file_duplicates = assert_at_least_once_in_order(&lines(&file), &stream, LIMIT);
    let hook_duplicates = assert_at_least_once_in_order(&hook.items, &stream, LIMIT);
    println!(
        "{} items, {restarts} kills: {file_duplicates} duplicate lines, {hook_duplicates} duplicate webhook items",
        stream.len()
    );
    // The file sink drops what a torn batch already wrote, so its file has no duplicates.
    assert_eq!(file_duplicates, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_is_retried_and_never_holds_up_the_ndjson_sink() {
    let demo = serve_demo(&[]);
    let (hook_url, hook) = start_receiver().await;
    hook.lock().unwrap().fail_with = Some(503);
    let file = demo.path("items.ndjson");
    let sinks = [
        format!("file=ndjson:{}", file.display()),
        hook_sink(&hook_url),
    ];
    let consumer = demo.consume(&sinks, &[]);

    demo.loadgen(10, 21).await;
    let first = demo.stream().await;
    wait_until(
        "the file has the first items",
        &demo,
        Duration::from_secs(30),
        || lines(&file).len() >= first.len(),
    )
    .await;
    // While the webhook keeps failing, the file keeps growing.
    demo.loadgen(10, 22).await;
    let stream = demo.stream().await;
    assert!(stream.len() > first.len());
    wait_until(
        "the file has the later items",
        &demo,
        Duration::from_secs(30),
        || lines(&file).len() >= stream.len(),
    )
    .await;
    // The file did not wait for the webhook; the webhook's retries come on its own
    // backoff, which may not have fired again yet.
    wait_until(
        "the failing webhook was tried again",
        &demo,
        Duration::from_secs(30),
        || hook.lock().unwrap().requests >= 2,
    )
    .await;
    assert!(hook.lock().unwrap().items.is_empty());

    hook.lock().unwrap().fail_with = None;
    let last = stream.last().unwrap().clone();
    wait_until(
        "the webhook recovered and caught up",
        &demo,
        Duration::from_secs(45),
        || hook.lock().unwrap().items.contains(&last),
    )
    .await;
    stop(consumer, &demo).await;
    let hook = hook.lock().unwrap();
    assert!(hook.errors.is_empty(), "{:?}", hook.errors);
    // Nothing lost, nothing twice: failed tries were never acknowledged.
    assert_eq!(hook.items, stream);
    assert_eq!(lines(&file), stream);
    assert!(
        demo.log().contains("delivery failed; retrying"),
        "{}",
        demo.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_goes_to_the_dead_letters_and_replay_delivers_it() {
    let demo = serve_demo(&[]);
    let (hook_url, hook) = start_receiver().await;
    hook.lock().unwrap().fail_with = Some(400);
    demo.loadgen(5, 31).await;
    let stream = demo.stream().await;
    let sink = hook_sink(&hook_url);
    let dead_letters = demo.path("state").join("hook.deadletter.ndjson");

    let consumer = demo.consume(std::slice::from_ref(&sink), &[]);
    wait_until(
        "the batch is a dead letter",
        &demo,
        Duration::from_secs(30),
        || lines(&dead_letters).len() >= stream.len(),
    )
    .await;
    // The cursor moved past the refused items: the sink is not stuck on them.
    wait_until("the cursor moved", &demo, Duration::from_secs(10), || {
        std::fs::read_to_string(demo.path("state").join("hook.cursor")).is_ok()
    })
    .await;
    stop(consumer, &demo).await;
    assert!(hook.lock().unwrap().items.is_empty());
    assert_eq!(
        lines(&dead_letters),
        stream,
        "dead letters are the items as served"
    );

    hook.lock().unwrap().fail_with = None;
    let state_dir = demo.path("state");
    let replay = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["consume", "replay", "--state-dir"])
            .arg(state_dir)
            .args(["--sink", &sink])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(replay.status.success(), "{replay:?}");
    let stdout = String::from_utf8(replay.stdout).unwrap();
    assert!(
        stdout.contains(&format!("hook: {} delivered", stream.len())),
        "{stdout}"
    );
    let hook = hook.lock().unwrap();
    assert!(hook.errors.is_empty(), "{:?}", hook.errors);
    assert_eq!(hook.items, stream);
    assert!(
        lines(&dead_letters).is_empty(),
        "accepted dead letters are removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_behind_the_retention_window_is_told_about_the_gap() {
    // Short enough to wait for, long enough that the fresh items outlive the test.
    let demo = serve_demo(&["--retention", "4s"]);
    demo.loadgen(3, 41).await;
    // Let the first items expire, then make fresh ones.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    demo.loadgen(3, 42).await;
    let stream = demo.stream().await;
    assert!(!stream.is_empty());
    let file = demo.path("items.ndjson");
    let consumer = demo.consume(
        &[format!("file=ndjson:{}", file.display())],
        &["--start", "1"],
    );
    wait_until(
        "the gap is reported",
        &demo,
        Duration::from_secs(30),
        || demo.log().contains("gap:"),
    )
    .await;
    stop(consumer, &demo).await;
    let gap = demo
        .log()
        .lines()
        .find(|l| l.contains("gap:"))
        .unwrap()
        .to_owned();
    let gap: serde_json::Value = serde_json::from_str(&gap).unwrap();
    assert_eq!(gap["level"], "ERROR");
    assert_eq!(gap["fields"]["requested"], "id 1-0");
    let oldestid = gap["fields"]["oldestid"].as_str().unwrap();
    assert_ne!(oldestid, "none");
    // The reader goes on with what is still retained.
    assert!(!lines(&file).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_now_forwards_only_what_comes_after_and_keeps_that_place_across_restarts() {
    let demo = serve_demo(&[]);
    demo.loadgen(3, 51).await;
    let before = demo.stream().await;
    let file = demo.path("items.ndjson");
    let sinks = [format!("file=ndjson:{}", file.display())];
    let consumer = demo.consume(&sinks, &["--start", "now"]);
    let cursor = demo.path("state").join("file.cursor");
    wait_until("the start is saved", &demo, Duration::from_secs(20), || {
        cursor.exists()
    })
    .await;
    stop(consumer, &demo).await;

    // Items appended while it is stopped are still "after now" for the next run.
    demo.loadgen(3, 52).await;
    let after: Vec<String> = demo.stream().await.split_off(before.len());
    assert!(!after.is_empty());
    let consumer = demo.consume(&sinks, &["--start", "now"]);
    wait_until(
        "the new items arrived",
        &demo,
        Duration::from_secs(20),
        || lines(&file).len() >= after.len(),
    )
    .await;
    stop(consumer, &demo).await;
    assert_eq!(lines(&file), after);
}

#[tokio::test]
async fn a_second_consumer_on_the_same_state_dir_is_refused() {
    let demo = serve_demo(&[]);
    let file = demo.path("items.ndjson");
    let sinks = [format!("file=ndjson:{}", file.display())];
    let first = demo.consume(&sinks, &[]);
    let cursor = demo.path("state").join("file.cursor");
    wait_until(
        "the first consumer runs",
        &demo,
        Duration::from_secs(20),
        || cursor.exists(),
    )
    .await;
    let output = Command::new(BIN)
        .args(["consume", "--url", &demo.base_url, "--account", "demo"])
        .args(["--key", &demo.accesskey, "--secret", &demo.secretkey])
        .arg("--state-dir")
        .arg(demo.path("state"))
        .args(["--sink", &sinks[0], "--no-progress"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("another consumer"), "{stderr}");
    stop(first, &demo).await;
}
