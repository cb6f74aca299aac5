//! Black-box tests of the `ticketstream` binary: the admin commands and `serve --demo`,
//! run as a user would run them.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn ticketstream(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketstream"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap()
}

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

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve --demo` on a free port and returns the printed curl line's credentials
/// and URL.
fn serve_demo(dir: &Path) -> (Server, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ticketstream"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let server = Server(child);
    // Keep draining stdout after the curl line, so the server never writes to a closed pipe.
    let (found, curl_line) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(rest) = line.trim().strip_prefix("curl -u '") {
                let _ = found.send(rest.to_owned());
            }
        }
    });
    let rest = curl_line
        .recv_timeout(Duration::from_secs(60))
        .expect("serve --demo printed no curl line");
    let (credentials, rest) = rest.split_once("' '").unwrap();
    let url = rest.trim_end_matches('\'');
    (server, credentials.to_owned(), url.to_owned())
}

#[tokio::test]
async fn serve_demo_prints_a_curl_line_that_reads_the_empty_stream_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, credentials, url) = serve_demo(dir.path());
    let (accesskey, secretkey) = credentials.split_once(':').unwrap();
    assert!(url.ends_with("/api/1/demo/eventstream"), "{url}");

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
