//! Preparing a data directory the way an operator would: the `demo init`, `account
//! create`, `keys create` and `catalog import` commands of this same binary, run as child
//! processes, so the bench exercises the real commands and stores.

use std::path::{Path, PathBuf};

use shop::DatabaseUrl;

use super::catalog;
use super::server::own_command;
use anyhow::{Context as _, bail};

/// The account whose eventstream the read figures use.
pub(crate) const READ_ACCOUNT: &str = "bench";
/// The account the shoppers shop in (the demo catalog's events, capacities raised).
pub(crate) const SHOP_ACCOUNT: &str = "demo";

/// An API key pair.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct ApiKey {
    pub(crate) accesskey: String,
    pub(crate) secretkey: String,
}

/// Runs commands of this binary against one shop store.
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    pub(crate) data_dir: PathBuf,
    /// A PostgreSQL shop store instead of the data directory's SQLite one.
    database_url: Option<DatabaseUrl>,
}

impl Admin {
    pub(crate) fn new(data_dir: &Path, database_url: Option<DatabaseUrl>) -> anyhow::Result<Admin> {
        // A shop store in PostgreSQL leaves the directory to the bench (its catalog file).
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        Ok(Admin {
            data_dir: data_dir.to_owned(),
            database_url,
        })
    }

    /// The environment a command of this binary needs for this shop store (the URL's
    /// password stays out of the process list this way).
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        match &self.database_url {
            Some(url) => vec![("TICKETSTREAM_DATABASE_URL".into(), url.expose().to_owned())],
            None => Vec::new(),
        }
    }

    /// The demo account with the bench catalog; returns its API key.
    pub(crate) async fn shop_account(&self) -> anyhow::Result<ApiKey> {
        #[derive(serde::Deserialize)]
        struct Demo {
            api: ApiKey,
        }
        let printed = self.run(&["demo", "init"], &["--json"]).await?;
        let demo: Demo = last_json(&printed).context("reading `demo init --json`")?;
        let file = self.data_dir.join("bench-catalog.toml");
        std::fs::write(&file, catalog::bench_catalog()?)
            .with_context(|| format!("writing {}", file.display()))?;
        // The catalog names its images relative to itself: put the demo's beside it.
        for (name, bytes) in shop::DEMO_MEDIA {
            let image = self.data_dir.join(name);
            std::fs::write(&image, bytes)
                .with_context(|| format!("writing {}", image.display()))?;
        }
        let file = file.display().to_string();
        self.run(&["catalog", "import"], &[&file, "--account", SHOP_ACCOUNT])
            .await?;
        Ok(demo.api)
    }

    /// An empty account for the read figures; returns its API key.
    pub(crate) async fn read_account(&self) -> anyhow::Result<ApiKey> {
        self.run(&["account", "create"], &[READ_ACCOUNT]).await?;
        let printed = self
            .run(&["keys", "create"], &["--account", READ_ACCOUNT, "--json"])
            .await?;
        last_json(&printed).context("reading `keys create --json`")
    }

    /// Runs `ticketstream --data-dir DIR <path> <rest>` on this shop store; its stdout.
    async fn run(&self, path: &[&str], rest: &[&str]) -> anyhow::Result<String> {
        let mut command = own_command()?;
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(path)
            .envs(self.env());
        let output = command
            .args(rest)
            .env("RUST_LOG", "warn")
            .output()
            .await
            .with_context(|| format!("running {}", path.join(" ")))?;
        if !output.status.success() {
            bail!(
                "`ticketstream {}` failed ({}): {}",
                path.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        String::from_utf8(output.stdout).context("the command printed something not UTF-8")
    }
}

fn last_json<T: serde::de::DeserializeOwned>(stdout: &str) -> anyhow::Result<T> {
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("not the JSON expected: {line:?}"))
}
