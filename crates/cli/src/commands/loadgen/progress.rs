//! Live progress of a long run on stderr, and the first few errors in words, so an
//! operator watching a run against a restarting server sees what happens.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

/// Every this often a line on stderr (never for runs shorter than that).
const EVERY: Duration = Duration::from_secs(3);
/// Errors described one by one; after that they are only counted.
const SHOWN_ERRORS: u64 = 10;

#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub(crate) total: u64,
    done: AtomicU64,
    actions: AtomicU64,
    errors: AtomicU64,
    /// Errors described so far.
    shown: AtomicU64,
}

impl Progress {
    pub(crate) fn new(total: u64) -> Progress {
        Progress {
            total,
            ..Progress::default()
        }
    }

    pub(crate) fn shopper_done(&self, actions: u64, errors: u64) {
        self.actions.fetch_add(actions, Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(errors, Ordering::Relaxed);
    }

    /// Describes an error of shopper `n`, while few have been shown.
    pub(crate) fn error(&self, n: u64, what: &str) {
        let shown = self.shown.fetch_add(1, Ordering::Relaxed);
        if shown < SHOWN_ERRORS {
            eprintln!("loadgen: shopper {n}: {what}");
        } else if shown == SHOWN_ERRORS {
            eprintln!("loadgen: further errors are only counted");
        }
    }

    fn line(&self) -> String {
        format!(
            "loadgen: {}/{} shoppers done, {} actions, {} errors",
            self.done.load(Ordering::Relaxed),
            self.total,
            self.actions.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }

    /// Prints a progress line every few seconds until aborted.
    pub(crate) fn report(self: &Arc<Self>) -> JoinHandle<()> {
        let progress = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(EVERY);
            // The first tick is immediate: skip it, so short runs stay quiet.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                eprintln!("{}", progress.line());
            }
        })
    }
}
