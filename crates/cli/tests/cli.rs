//! Black-box tests of the `ticketstream` binary: the admin commands and `serve --demo`,
//! run as a user would run them.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Process, serve_demo, ticketstream};
use testsupport::{TestDatabase, TestRedis};

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[test]
fn accounts_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let created = ticketstream(dir.path(), &["account", "create", "club"]);
    assert!(created.status.success(), "{created:?}");

    let again = ticketstream(dir.path(), &["account", "create", "club"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let bad = ticketstream(dir.path(), &["account", "create", "Not Valid"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid account name"));

    let api = stdout_json(&ticketstream(
        dir.path(),
        &["keys", "create", "--account", "club", "--json"],
    ));
    let widget = stdout_json(&ticketstream(
        dir.path(),
        &["keys", "create", "--account", "club", "--widget", "--json"],
    ));
    for key in [&api, &widget] {
        assert_eq!(key["accesskey"].as_str().unwrap().len(), 24);
        assert_eq!(key["secretkey"].as_str().unwrap().len(), 48);
    }
    assert_ne!(api["accesskey"], widget["accesskey"]);

    let text = ticketstream(dir.path(), &["keys", "create", "--account", "club"]);
    let stdout = String::from_utf8(text.stdout).unwrap();
    assert!(stdout.contains("accesskey: ") && stdout.contains("secretkey: "));
    // Secrets go to stdout for the operator, never to the logs on stderr.
    let secret = stdout
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("secretkey: ");
    assert!(!String::from_utf8_lossy(&text.stderr).contains(secret));

    let missing = ticketstream(dir.path(), &["keys", "create", "--account", "nope"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}

#[test]
fn demo_init_is_idempotent_and_prints_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let first = stdout_json(&ticketstream(dir.path(), &["demo", "init", "--json"]));
    let second = stdout_json(&ticketstream(dir.path(), &["demo", "init", "--json"]));
    assert_eq!(first, second);
    assert_eq!(first["account"], "demo");
    assert!(first["api"]["accesskey"].is_string());
    assert!(first["api"]["secretkey"].is_string());
    assert!(first["widget"]["accesskey"].is_string());
    assert_ne!(first["api"]["accesskey"], first["widget"]["accesskey"]);
    assert!(first["events"].is_array());
}

#[tokio::test]
async fn serve_demo_prints_working_links_and_a_curl_line_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, printed) = serve_demo(dir.path(), &[]);
    let (accesskey, secretkey) = (printed.accesskey.as_str(), printed.secretkey.as_str());
    let url = printed.eventstream;
    assert!(url.ends_with("/api/1/demo/eventstream"), "{url}");
    assert!(printed.flow.ends_with("&ref=demo-user"), "{}", printed.flow);

    let response = reqwest::Client::new()
        .get(&url)
        .basic_auth(accesskey, Some(secretkey))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"results":[],"nextid":"0","moreresults":false,"oldestid":null,"gap":false}"#
    );

    // The printed shop URLs open the shop: a session cookie and a redirect to a page.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for link in [&printed.flow, &printed.widget] {
        let response = http.get(link.as_str()).send().await.unwrap();
        assert_eq!(response.status(), 303, "{link}");
        assert!(response.headers().contains_key("set-cookie"), "{link}");
    }

    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            waited < Duration::from_secs(20),
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    };
    assert!(status.success(), "{status:?}");
}

/// mimalloc's arenas, backed by transparent huge pages, were faulted in and held 2 MiB at
/// a time, which doubled the server's memory (docs/performance.md): the binary runs
/// without them, whatever the host's setting.
#[tokio::test]
async fn the_server_runs_without_transparent_huge_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (server, printed) = serve_demo(dir.path(), &[]);
    // Some pages and reads first, so that the allocator has taken memory from the system.
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    for _ in 0..20 {
        let read = http
            .get(&printed.eventstream)
            .basic_auth(&printed.accesskey, Some(&printed.secretkey))
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        let page = http.get(&printed.flow).send().await.unwrap();
        assert_eq!(page.status(), 200);
    }

    let proc_dir = format!("/proc/{}", server.0.id());
    let status = std::fs::read_to_string(format!("{proc_dir}/status")).unwrap();
    // The process's flag, shown there since Linux 5.0.
    if let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) {
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }
    let rollup = std::fs::read_to_string(format!("{proc_dir}/smaps_rollup")).unwrap();
    let huge = rollup
        .lines()
        .find(|l| l.starts_with("AnonHugePages:"))
        .unwrap();
    assert_eq!(huge.split_whitespace().nth(1), Some("0"), "{huge}");
}

/// Commands that open the shop store beside a server in the middle of a rush (every
/// moment some group commit holds SQLite's write lock) wait for its commits instead of
/// failing with "database is locked", and what they write is served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_beside_a_busy_server_wait_for_its_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, printed) = serve_demo(dir.path(), &[]);
    let mut shoppers = Process(
        Command::new(common::BIN)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["loadgen", "--url", &printed.base_url, "--account", "demo"])
            .args(["--shoppers", "5000", "--concurrency", "16", "--seed", "7"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    common::wait_until("the rush is under way", async || {
        common::tally::read_stream(&printed.base_url, &printed.accesskey, &printed.secretkey)
            .await
            .len()
            >= 100
    })
    .await;

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/catalog.toml");
    let commands: [&[&str]; 3] = [
        &["account", "create", "club"],
        &["catalog", "import", example, "--account", "club"],
        &["keys", "create", "--account", "club", "--widget"],
    ];
    let more: [&[&str]; 8] = [&["keys", "create", "--account", "demo"]; 8];
    // Run one after another on this thread: nothing of the test's own runtime waits
    // meanwhile (the server and the shoppers are processes of their own).
    for args in commands.iter().chain(&more) {
        let out = ticketstream(dir.path(), args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        shoppers.0.try_wait().unwrap().is_none(),
        "the rush ended before the commands did: they did not run beside it"
    );
    // The running server serves what the other process imported: the event's image.
    let image = reqwest::get(format!("{}/media/club/dance.svg", printed.base_url))
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    let served = image.bytes().await.unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/dance.svg");
    assert_eq!(served.as_ref(), std::fs::read(file).unwrap().as_slice());
}

#[test]
fn catalog_import_updates_in_place_and_names_the_line_of_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        ticketstream(dir.path(), &["account", "create", "club"])
            .status
            .success()
    );
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/catalog.toml");
    for _ in 0..2 {
        let out = ticketstream(
            dir.path(),
            &["catalog", "import", example, "--account", "club"],
        );
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("imported 3 events"), "{stdout}");
    }
    // The event's image, from beside the catalog file into the shop store.
    let image = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/dance.svg");
    let stored = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let club = protocol::AccountName::parse("club").unwrap();
        let shop = shop::ShopStore::open(dir.path()).await.unwrap();
        shop.image(&club, "dance.svg").await.unwrap()
    });
    assert_eq!(stored, Some(std::fs::read(image).unwrap()));
    assert!(!dir.path().join("media").exists(), "no files are written");
    let no_image = dir.path().join("no-image.toml");
    std::fs::write(
        &no_image,
        "[[saleschannels]]\nid = 1\nname = \"Web\"\n[[events]]\nid = 5\nname = \"Show\"\n\
         start = \"2026-12-12T20:00:00+01:00\"\nvenue = { name = \"Hall\", address = \"Street 1\" }\n\
         image = \"nothere.png\"\ncapacity = 3\n",
    )
    .unwrap();
    let out = ticketstream(
        dir.path(),
        &[
            "catalog",
            "import",
            no_image.to_str().unwrap(),
            "--account",
            "club",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nothere.png") && stderr.contains("event 5"),
        "{stderr}"
    );

    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "[[saleschannels]]\nid = 1\nname = \"Web\"\n\n[[events]]\nid = 5\nname = \"Show\"\ncapacity = -3\n",
    )
    .unwrap();
    let out = ticketstream(
        dir.path(),
        &[
            "catalog",
            "import",
            broken.to_str().unwrap(),
            "--account",
            "club",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.toml") && stderr.contains("line 8"),
        "{stderr}"
    );

    let out = ticketstream(
        dir.path(),
        &["catalog", "import", example, "--account", "nope"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn widget_url_prints_a_url_signed_with_the_accounts_widget_key() {
    let dir = tempfile::tempdir().unwrap();
    let demo = stdout_json(&ticketstream(dir.path(), &["demo", "init", "--json"]));
    let out = ticketstream(
        dir.path(),
        &[
            "widget-url",
            "--account",
            "demo",
            "--widget",
            "addtickets",
            "--param",
            "event=10003",
            "--param",
            "returnurl=https://example.org/?a=b",
            "--ref",
            "user 1",
            "--url",
            "https://shop.example",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let params = [
        ("event".to_owned(), "10003".to_owned()),
        (
            "returnurl".to_owned(),
            "https://example.org/?a=b".to_owned(),
        ),
    ];
    let expected = protocol::widget_url(
        "https://shop.example",
        "demo",
        "addtickets",
        &params,
        demo["widget"]["accesskey"].as_str().unwrap(),
        demo["widget"]["secretkey"].as_str().unwrap(),
        Some("user 1"),
    );
    assert_eq!(url, expected);

    let bad = ticketstream(
        dir.path(),
        &[
            "widget-url",
            "--account",
            "demo",
            "--widget",
            "nope",
            "--param",
            "event=1",
        ],
    );
    assert!(!bad.status.success());
    let bad = ticketstream(
        dir.path(),
        &[
            "widget-url",
            "--account",
            "demo",
            "--widget",
            "basket",
            "--param",
            "noequals",
        ],
    );
    assert!(!bad.status.success());
}

#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, _printed) = serve_demo(dir.path(), &[]);
    let mut second = Process(
        Command::new(env!("CARGO_BIN_EXE_ticketstream"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = second.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            waited < Duration::from_secs(20),
            "the second server kept running"
        );
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("another ticketstream server"), "{stderr}");
}

#[test]
fn serve_names_an_unreachable_redis_event_log_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 (tcpmux) has no Redis anywhere this runs; the password must not show.
    let output = ticketstream(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--eventlog",
            "redis://:hunter2@127.0.0.1:1/0",
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot connect to the Redis event log at redis://:***@127.0.0.1:1/0"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let bad = ticketstream(dir.path(), &["serve", "--eventlog", "127.0.0.1:6379"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a Redis URL"));
}

/// A shop store that cannot be reached stops every command that opens it with an error
/// naming the URL without its password.
#[test]
fn commands_name_an_unreachable_postgres_shop_store_and_exit() {
    let dir = tempfile::tempdir().unwrap();
    let port = testsupport::free_port();
    let url = format!("postgres://ts:hunter2@127.0.0.1:{port}/shop");
    let shown =
        format!("cannot connect to the shop store at postgres://ts:***@127.0.0.1:{port}/shop");
    for args in [
        &["serve", "--listen", "127.0.0.1:0"][..],
        &["account", "create", "club"],
        &["demo", "init"],
    ] {
        let output = ticketstream(dir.path(), &[&["--database-url", &url], args].concat());
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&shown), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    let bad = ticketstream(
        dir.path(),
        &["--database-url", "mysql://h/db", "demo", "init"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a PostgreSQL URL"));
}

/// `serve --eventlog redis://...`: a tracked shopper's actions go through Redis (no
/// embedded log is created) and come out of the eventstream.
#[tokio::test]
async fn serve_demo_with_a_redis_event_log_serves_the_shoppers_actions() {
    let Some(redis) = TestRedis::create("serve_demo_with_a_redis_event_log") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_server, printed) = serve_demo(
        dir.path(),
        &[
            "--eventlog",
            redis.url(),
            "--eventlog-prefix",
            redis.prefix(),
        ],
    );
    shop_and_read_back(&printed).await;
    assert!(!dir.path().join("eventlog").exists());
    assert!(dir.path().join(shop::ShopStore::FILE_NAME).exists());
    // The keys the demo account gets (ARCHITECTURE.md, "The Redis layout").
    let mut keys = redis.keys();
    keys.sort();
    let p = redis.prefix();
    assert_eq!(
        keys,
        [
            format!("{p}:accounts"),
            format!("{p}:{{demo}}:carried"),
            format!("{p}:{{demo}}:meta"),
            format!("{p}:{{demo}}:stream"),
        ]
    );
}

/// `serve --database-url postgres://... --eventlog redis://... --demo` on a fresh
/// database: the demo is set up there, the printed links work, its image is served from
/// PostgreSQL, and the data directory holds nothing.
#[tokio::test]
async fn serve_demo_with_postgres_and_redis_keeps_nothing_in_the_data_dir() {
    let test = "serve_demo_with_postgres_and_redis";
    let (Some(db), Some(redis)) = (TestDatabase::create(test), TestRedis::create(test)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("unused");
    let (_server, printed) = serve_demo(
        &data_dir,
        &[
            "--database-url",
            db.url(),
            "--eventlog",
            redis.url(),
            "--eventlog-prefix",
            redis.prefix(),
        ],
    );
    shop_and_read_back(&printed).await;
    let kept: Vec<_> = std::fs::read_dir(&data_dir)
        .map(|dir| dir.map(|entry| entry.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(kept.is_empty(), "no store, no lock, no images: {kept:?}");
    let base = printed
        .eventstream
        .trim_end_matches("/api/1/demo/eventstream");
    let image = reqwest::get(format!("{base}/media/demo/dance.svg"))
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(
        image.bytes().await.unwrap().as_ref(),
        shop::DEMO_MEDIA[0].1,
        "the image comes from the store"
    );
    let accounts: i64 = db.with_client(|client| {
        client
            .query_one("SELECT COUNT(*) FROM accounts WHERE name = 'demo'", &[])
            .unwrap()
            .get(0)
    });
    assert_eq!(accounts, 1);
}

/// Opens the printed sales-flow link as a shopper and finds the page view in the
/// eventstream with the printed credentials.
async fn shop_and_read_back(printed: &common::Printed) {
    let shopper = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let page = shopper.get(printed.flow.as_str()).send().await.unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    let page: Value = reqwest::Client::new()
        .get(format!("{}?wait=20", printed.eventstream))
        .basic_auth(&printed.accesskey, Some(&printed.secretkey))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let results = page["results"].as_array().unwrap();
    assert!(!results.is_empty(), "{page}");
    assert_eq!(results[0]["type"], "webshop:pageview");
    assert_eq!(results[0]["data"]["ref"], "demo-user");
}
