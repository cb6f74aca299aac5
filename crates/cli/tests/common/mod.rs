//! What the binary's black-box tests share: a child process that dies with the test, and
//! `serve --demo` on a free port with the links and credentials it printed.

#![allow(dead_code)]

pub(crate) mod tally;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_ticketstream");

/// Runs the binary with `--data-dir data_dir` and `args` to completion.
pub(crate) fn ticketstream(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap()
}

/// A child process that is killed when the test ends, however it ends.
pub(crate) struct Process(pub(crate) Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `command` (the binary with its global options) as `serve` on 127.0.0.1:`port`, with
/// the per-address page limit lifted: every simulated shopper comes from 127.0.0.1.
pub(crate) fn serve_on(mut command: Command, port: u16) -> Process {
    let child = command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--page-rate", "100000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Process(child)
}

/// Waits (at most a minute) until `done`.
pub(crate) async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What `serve --demo` printed before serving.
pub(crate) struct Printed {
    pub(crate) accesskey: String,
    pub(crate) secretkey: String,
    /// The eventstream URL of the curl line.
    pub(crate) eventstream: String,
    /// The server's address, e.g. `http://127.0.0.1:41234`.
    pub(crate) base_url: String,
    /// The sales-flow link with `ref=demo-user`.
    pub(crate) flow: String,
    /// The signed addtickets link.
    pub(crate) widget: String,
}

/// Starts `serve --demo` (plus `extra` arguments) on a free port with `data_dir`.
pub(crate) fn serve_demo(data_dir: &Path, extra: &[&str]) -> (Process, Printed) {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        // Every simulated shopper comes from 127.0.0.1: lift the per-address page limit.
        .args(["--page-rate", "100000"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let server = Process(child);
    // Keep draining stdout after the curl line, so the server never writes to a closed pipe.
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line.trim().to_owned());
        }
    });
    let mut seen: Vec<String> = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("serve --demo printed no curl line");
        if let Some(rest) = line.strip_prefix("curl -u '") {
            let (credentials, rest) = rest.split_once("' '").unwrap();
            let (accesskey, secretkey) = credentials.split_once(':').unwrap();
            let eventstream = rest.trim_end_matches('\'').to_owned();
            let find = |needle: &str| {
                seen.iter()
                    .find(|l| l.contains(needle))
                    .cloned()
                    .unwrap_or_else(|| panic!("no line with {needle}: {seen:?}"))
            };
            let printed = Printed {
                accesskey: accesskey.to_owned(),
                secretkey: secretkey.to_owned(),
                base_url: eventstream
                    .strip_suffix("/api/1/demo/eventstream")
                    .unwrap()
                    .to_owned(),
                eventstream,
                flow: find("/flow/saleslink?"),
                widget: find("/addtickets?"),
            };
            return (server, printed);
        }
        seen.push(line);
    }
}
