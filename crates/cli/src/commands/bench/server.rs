//! A real `ticketstream serve` child process on a loopback port: started from this same
//! binary, found by the address its "serving" log line names, stopped with SIGTERM (so
//! the event log is closed cleanly before its files are measured), and killed when
//! dropped, so an error or Ctrl-C never leaves a server behind.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use super::procfs;

/// How long a server may take to open its stores and bind.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a stopping server may take to drain and close.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Log lines kept to explain a server that failed.
const TAIL: usize = 20;

/// The readers of a benchmark poll far faster than a deployment lets one key do; the
/// limiter is not what is measured.
const API_RATE: &str = "1000000000";
/// Every simulated shopper comes from 127.0.0.1, so the per-address page limit would
/// measure itself; raised for the same reason.
const PAGE_RATE: &str = "1000000";

#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    pid: u32,
    pub(crate) addr: SocketAddr,
    tail: Arc<Mutex<VecDeque<String>>>,
}

/// What a server child is started with.
#[derive(Debug, Clone)]
pub(crate) struct ServeOptions {
    pub(crate) data_dir: PathBuf,
    /// Environment variables for `serve` (the shop store and the event log: a URL with
    /// a password stays out of the process list this way).
    pub(crate) env: Vec<(String, String)>,
}

/// A command of this binary that sees none of the caller's `TICKETSTREAM_*` settings: a
/// `TICKETSTREAM_RETENTION` or `TICKETSTREAM_EVENTLOG` in the shell must not change what
/// the bench measures.
pub(crate) fn own_command() -> anyhow::Result<Command> {
    let exe = std::env::current_exe().context("finding this program")?;
    let mut command = Command::new(exe);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TICKETSTREAM_") {
            command.env_remove(name);
        }
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    Ok(command)
}

/// While a figure was measured: the server's CPU use, in cores, and the share of the
/// machine's CPU time a hypervisor gave to other guests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Busy {
    pub(crate) cores: f64,
    pub(crate) steal_pct: f64,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "server busy {:.2} cores, {:.1} % of the machine stolen",
            self.cores, self.steal_pct
        )
    }
}

impl Server {
    pub(crate) async fn start(options: &ServeOptions) -> anyhow::Result<Server> {
        let mut child = own_command()?
            .arg("--data-dir")
            .arg(&options.data_dir)
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .args(["--api-rate", API_RATE])
            .args(["--page-rate", PAGE_RATE])
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            // The "serving" line is at info; request spans are at debug and stay off.
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting serve")?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("the server exited at once"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| anyhow!("no stderr pipe"))?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (found, address) = oneshot::channel();
        tokio::spawn(watch_log(stderr, Arc::clone(&tail), found));

        let addr = tokio::select! {
            addr = address => addr.ok(),
            status = child.wait() => {
                let status = status.context("waiting for the server")?;
                bail!("the server exited ({status}) before serving: {}", lines(&tail));
            }
            () = tokio::time::sleep(START_TIMEOUT) => None,
        };
        let Some(addr) = addr else {
            bail!("the server did not start serving: {}", lines(&tail));
        };
        Ok(Server {
            child,
            pid,
            addr,
            tail,
        })
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn cpu_time(&self) -> anyhow::Result<procfs::ProcessCpu> {
        procfs::cpu_time(self.pid)
    }

    pub(crate) fn resident(&self) -> anyhow::Result<procfs::Resident> {
        procfs::resident(self.pid)
    }

    /// Runs `work`; returns its result and how busy the server and the machine were.
    pub(crate) async fn busy<T>(
        &self,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<(T, Busy)> {
        let (cpu, machine) = (self.cpu_time()?, procfs::MachineCpu::now()?);
        let started = std::time::Instant::now();
        let result = work.await?;
        let used = self.cpu_time()?.since(cpu).total();
        let busy = Busy {
            cores: used.as_secs_f64() / started.elapsed().as_secs_f64(),
            steal_pct: procfs::MachineCpu::now()?.steal_pct_since(machine),
        };
        Ok((result, busy))
    }

    /// Waits until the server has used no CPU for a while (the relay has drained the
    /// outbox, say), at most `limit`; returns its CPU time then.
    pub(crate) async fn settle(&self, limit: Duration) -> anyhow::Result<procfs::ProcessCpu> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut last = self.cpu_time()?;
        loop {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let now = self.cpu_time()?;
            if now == last || tokio::time::Instant::now() >= deadline {
                return Ok(now);
            }
            last = now;
        }
    }

    /// SIGTERM, then waits for a clean exit.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        let pid = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| anyhow!("bad pid {}", self.pid))?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .context("sending SIGTERM to the server")?;
        let status = tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .map_err(|_| anyhow!("the server did not stop within {STOP_TIMEOUT:?}"))?
            .context("waiting for the server")?;
        if !status.success() {
            bail!("the server exited with {status}: {}", lines(&self.tail));
        }
        Ok(())
    }
}

/// Reads the server's JSON log lines: sends the address of the "serving" line, keeps the
/// last few lines, and keeps draining so the server never blocks on a full pipe.
async fn watch_log(
    stderr: tokio::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
    found: oneshot::Sender<SocketAddr>,
) {
    let mut found = Some(found);
    let mut reader = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        if let Some(addr) = found.as_ref().and_then(|_| serving_addr(&line))
            && let Some(found) = found.take()
        {
            let _ = found.send(addr);
        }
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

/// The address of a `{"fields":{"message":"serving","addr":"..."}}` log line.
pub(crate) fn serving_addr(line: &str) -> Option<SocketAddr> {
    #[derive(serde::Deserialize)]
    struct Line {
        fields: Fields,
    }
    #[derive(serde::Deserialize)]
    struct Fields {
        message: String,
        addr: Option<String>,
    }
    let line: Line = serde_json::from_str(line).ok()?;
    if line.fields.message != "serving" {
        return None;
    }
    line.fields.addr?.parse().ok()
}

fn lines(tail: &Mutex<VecDeque<String>>) -> String {
    let tail = tail.lock().unwrap_or_else(|p| p.into_inner());
    if tail.is_empty() {
        return "(it logged nothing)".to_owned();
    }
    tail.iter().cloned().collect::<Vec<_>>().join("\n")
}

/// The size of every file under `dir`, recursively.
pub(crate) fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            total += dir_bytes(&entry.path())?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_address_comes_from_the_serving_line() {
        let line = r#"{"timestamp":"2026-12-01T21:30:36Z","level":"INFO","fields":{"message":"serving","addr":"127.0.0.1:34717","data_dir":"d"},"target":"x"}"#;
        assert_eq!(serving_addr(line), Some("127.0.0.1:34717".parse().unwrap()));
        let other = r#"{"fields":{"message":"stopped"}}"#;
        assert_eq!(serving_addr(other), None);
        assert_eq!(serving_addr("serving on 127.0.0.1:1"), None);
    }

    #[test]
    fn dir_bytes_counts_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 10]).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b"), [0u8; 5]).unwrap();
        assert_eq!(dir_bytes(dir.path()).unwrap(), 15);
    }
}
