//! Redis for tests: a key prefix of its own on the configured server, or a private
//! `redis-server` that a test may stop and start again.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rand::Rng;

/// The variable that names the Redis server tests may use.
pub const REDIS_ENV: &str = "TICKETSTREAM_TEST_REDIS_URL";

/// A key prefix of its own on the configured Redis; its keys are deleted when this is
/// dropped.
#[derive(Debug)]
pub struct TestRedis {
    url: String,
    prefix: String,
}

impl TestRedis {
    /// `None` (after printing "skipped") when [`REDIS_ENV`] is unset.
    pub fn create(test: &str) -> Option<TestRedis> {
        let Ok(url) = std::env::var(REDIS_ENV) else {
            println!("skipped {test}: {REDIS_ENV} is not set");
            return None;
        };
        let prefix = format!("ts-test-{:016x}", rand::thread_rng().r#gen::<u64>());
        Some(TestRedis { url, prefix })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every key under the prefix, found with SCAN (never KEYS, which blocks the server).
    pub fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url.as_str())
            .unwrap_or_else(|e| panic!("not a Redis URL: {e}"));
        let mut conn = client
            .get_connection()
            .unwrap_or_else(|e| panic!("cannot connect to the test Redis: {e}"));
        let pattern = format!("{}:*", self.prefix);
        let found: redis::Iter<'_, String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter(&mut conn)
            .unwrap_or_else(|e| panic!("cannot scan the test Redis: {e}"));
        found.filter_map(Result::ok).collect()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let deleted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let keys = self.keys();
            if keys.is_empty() {
                return Ok(());
            }
            let client = redis::Client::open(self.url.as_str())?;
            let mut conn = client.get_connection()?;
            redis::cmd("DEL").arg(&keys).query::<()>(&mut conn)
        }));
        // Never panic in drop (the test may already be panicking): say what is left over.
        if !matches!(deleted, Ok(Ok(()))) {
            eprintln!("cannot delete the test keys under {}", self.prefix);
        }
    }
}

/// A `redis-server` of the test's own on a free port, with an append-only file, killed
/// when dropped.
#[derive(Debug)]
pub struct PrivateRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    /// `None` (and a note) when there is no `redis-server` to start.
    pub fn start() -> Option<PrivateRedis> {
        let port = crate::free_port();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
        let child = PrivateRedis::spawn(port, dir.path())?;
        let server = PrivateRedis { child, port, dir };
        server.wait_until_up();
        Some(server)
    }

    fn spawn(port: u16, dir: &Path) -> Option<Child> {
        let spawned = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn();
        match spawned {
            Ok(child) => Some(child),
            Err(e) => {
                println!("skipped: cannot start redis-server: {e}");
                None
            }
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn wait_until_up(&self) {
        let client =
            redis::Client::open(self.url()).unwrap_or_else(|e| panic!("not a Redis URL: {e}"));
        for _ in 0..200 {
            if let Ok(mut conn) = client.get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on port {} did not come up", self.port);
    }

    /// Stops the server (its data stays, for [`restart`](Self::restart)).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port with the same data.
    pub fn restart(&mut self) {
        self.child = PrivateRedis::spawn(self.port, self.dir.path())
            .unwrap_or_else(|| panic!("cannot start redis-server again"));
        self.wait_until_up();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
