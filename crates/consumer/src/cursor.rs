//! A sink's durable position in the stream: the id to read from next. It is written
//! atomically, and only after the sink accepted everything before it (spec section 7).

use std::io;
use std::path::{Path, PathBuf};

use protocol::{ItemId, Timestamp};
use serde::{Deserialize, Serialize};

/// What a cursor file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The `id` to pass on the next read: every item before it was delivered.
    pub nextid: ItemId,
    /// The last item delivered, if any: shown in logs and used for lag after a restart.
    #[serde(default)]
    pub last_id: Option<ItemId>,
    #[serde(default)]
    pub last_ts: Option<Timestamp>,
}

#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error("cannot read the cursor {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the cursor {path} is corrupt ({source}); delete it to start over from --start")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write the cursor {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The cursor file of one sink in the state directory.
#[derive(Debug, Clone)]
pub(crate) struct CursorFile {
    path: PathBuf,
}

impl CursorFile {
    pub(crate) fn new(state_dir: &Path, sink_name: &str) -> CursorFile {
        CursorFile {
            path: state_dir.join(format!("{sink_name}.cursor")),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The saved cursor, or `None` on the first run.
    pub(crate) async fn load(&self) -> Result<Option<Cursor>, CursorError> {
        let bytes = match tokio::fs::read(&self.path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CursorError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| CursorError::Corrupt {
                path: self.path.clone(),
                source,
            })
    }

    pub(crate) async fn store(&self, cursor: Cursor) -> Result<(), CursorError> {
        let mut bytes = serde_json::to_vec(&cursor).map_err(|e| CursorError::Write {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        bytes.push(b'\n');
        let path = self.path.clone();
        let written =
            tokio::task::spawn_blocking(move || crate::fsutil::write_atomic(&path, &bytes)).await;
        let result = written.unwrap_or_else(|e| Err(io::Error::other(e)));
        result.map_err(|source| CursorError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn missing_then_stored_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let file = CursorFile::new(dir.path(), "webhook-main");
        assert_eq!(file.load().await.unwrap(), None);
        let cursor = Cursor {
            nextid: ItemId::new(10, 3),
            last_id: Some(ItemId::new(10, 2)),
            last_ts: Some("2022-09-13T11:46:25".parse().unwrap()),
        };
        file.store(cursor).await.unwrap();
        assert_eq!(file.load().await.unwrap(), Some(cursor));
        assert_eq!(
            std::fs::read_to_string(file.path()).unwrap(),
            "{\"nextid\":\"10-3\",\"last_id\":\"10-2\",\"last_ts\":\"2022-09-13T11:46:25\"}\n"
        );
    }

    #[tokio::test]
    async fn corrupt_cursor_is_an_error_not_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = CursorFile::new(dir.path(), "x");
        std::fs::write(file.path(), "garbage").unwrap();
        assert!(matches!(
            file.load().await,
            Err(CursorError::Corrupt { .. })
        ));
    }
}
