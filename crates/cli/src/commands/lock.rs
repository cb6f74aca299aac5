//! Exclusive use of a directory by one process: one server per data directory, one
//! consumer per state directory. The lock is released when the process ends, however it
//! ends, `kill -9` included.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use anyhow::{Context, bail};

/// Locks `dir/file` for as long as the returned file is kept; `what` names the kind of
/// process in the error when another one holds it.
pub(crate) fn exclusive(dir: &Path, file: &str, what: &str) -> anyhow::Result<File> {
    let path = dir.join(file);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => bail!(
            "another {what} is already using {}: stop it first, or use another directory",
            dir.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}
