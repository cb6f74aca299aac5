//! The purchases GA4 already has, by transaction id. GA4 counts every `purchase` it gets,
//! so a purchase repeated by a retry, a replayed batch or a restart would double the
//! revenue. Ids are remembered in memory and, with a state directory, in a small file
//! (`<unix ms> <transaction id>` a line) that a restarted consumer reads back.
//!
//! An id is kept 73 hours after it was sent: by then GA4 refuses the purchase for its
//! age anyway (an item is never younger than its sending), so the file stays small.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;

use protocol::Timestamp;

use crate::fsutil::{append_durably, write_atomic};

const KEEP_MS: i64 = 73 * 3_600_000;

#[derive(Debug)]
pub(super) struct SentTransactions {
    file: Option<PathBuf>,
    loaded: bool,
    /// Transaction id to when it was sent (Unix ms).
    sent: HashMap<String, i64>,
}

impl SentTransactions {
    /// Remembers in memory only, or also in `file`.
    pub(super) fn new(file: Option<PathBuf>) -> Self {
        SentTransactions {
            file,
            loaded: false,
            sent: HashMap::new(),
        }
    }

    /// Reads the file once, dropping the ids that are no longer needed.
    pub(super) fn load(&mut self, now: Timestamp) -> io::Result<()> {
        if self.loaded {
            return Ok(());
        }
        let Some(file) = &self.file else {
            self.loaded = true;
            return Ok(());
        };
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut lines = 0;
        for line in text.lines() {
            lines += 1;
            let parsed = line
                .split_once(' ')
                .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id)));
            match parsed {
                Some((ms, id)) if now.unix_ms() - ms <= KEEP_MS => {
                    self.sent.insert(id.to_owned(), ms);
                }
                _ => {}
            }
        }
        if lines != self.sent.len() {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            write_atomic(file, self.to_text().as_bytes())?;
        }
        self.loaded = true;
        Ok(())
    }

    pub(super) fn contains(&self, transaction_id: &str) -> bool {
        self.sent.contains_key(transaction_id)
    }

    /// Notes ids GA4 accepted. Memory is updated even when the file cannot be written,
    /// so this process never repeats them.
    pub(super) fn record(&mut self, ids: Vec<String>, now: Timestamp) -> io::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ms = now.unix_ms();
        self.sent.retain(|_, sent| ms - *sent <= KEEP_MS);
        let mut text = String::new();
        for id in ids {
            text.push_str(&format!("{ms} {id}\n"));
            self.sent.insert(id, ms);
        }
        match &self.file {
            Some(file) => {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                append_durably(file, text.as_bytes()).map(drop)
            }
            None => Ok(()),
        }
    }

    fn to_text(&self) -> String {
        let mut entries: Vec<(&i64, &String)> = self.sent.iter().map(|(id, ms)| (ms, id)).collect();
        entries.sort();
        entries
            .into_iter()
            .map(|(ms, id)| format!("{ms} {id}\n"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn remembers_across_instances_and_forgets_after_73_hours() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub").join("ga4-transactions.txt");
        let t0 = Timestamp::from_unix_ms(100 * HOUR);

        let mut sent = SentTransactions::new(Some(file.clone()));
        sent.load(t0).unwrap();
        assert!(!sent.contains("398"));
        sent.record(vec!["398".into()], t0).unwrap();
        sent.record(vec!["399".into()], Timestamp::from_unix_ms(120 * HOUR))
            .unwrap();
        assert!(sent.contains("398"));

        let mut again = SentTransactions::new(Some(file.clone()));
        again.load(Timestamp::from_unix_ms(150 * HOUR)).unwrap();
        assert!(again.contains("398") && again.contains("399"));

        let mut later = SentTransactions::new(Some(file.clone()));
        later.load(Timestamp::from_unix_ms(174 * HOUR)).unwrap();
        assert!(!later.contains("398"));
        assert!(later.contains("399"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
    }

    #[test]
    fn memory_only_without_a_file() {
        let mut sent = SentTransactions::new(None);
        sent.load(Timestamp::from_unix_ms(0)).unwrap();
        sent.record(vec!["1".into()], Timestamp::from_unix_ms(0))
            .unwrap();
        assert!(sent.contains("1"));
    }
}
