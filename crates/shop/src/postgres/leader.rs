//! The relay's leadership across processes: one session-level advisory lock, held on a
//! connection of its own by the process that relays the outbox. The others stand by and
//! try for it every [`STANDBY_POLL`]; when the leader's session ends (the process
//! stopped or died, or its connection broke), PostgreSQL releases the lock and the next
//! try takes it.
//!
//! The leader's connection also `LISTEN`s to the channel that every transaction writing
//! outbox rows notifies at commit, so the leader hears the commits of every process the
//! moment they happen and wakes its relay.
//!
//! The lock keeps appends in one order and saves work; it is not what makes the relay
//! exactly-once. A leader may lose its session without noticing at once, so the event log
//! also refuses, in the append itself, rows it has already carried.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config, NoTls};
use tokio::sync::{Notify, watch};

use super::{OUTBOX_CHANNEL_LISTEN, RELAY_LOCK};

/// How often a process that stands by tries to take the lock.
const STANDBY_POLL: Duration = Duration::from_millis(250);
/// How long the leader waits for a notification before checking its connection.
const LEADER_WAIT: Duration = Duration::from_millis(500);
/// The pause before reconnecting after the connection failed.
const RECONNECT: Duration = Duration::from_secs(1);
/// Sleeps are cut into slices of this, so that a stop is noticed soon.
const SLICE: Duration = Duration::from_millis(50);

/// The leadership of this process: `mine` says whether it holds it now. Dropping it ends
/// the session, and so gives the lock up.
#[derive(Debug)]
pub(crate) struct Leadership {
    pub(crate) mine: watch::Receiver<bool>,
    stop: Arc<AtomicBool>,
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Leadership {
    /// Starts trying for the lock on a thread of its own; `outbox` is woken when this
    /// process becomes the leader and at every commit that wrote outbox rows.
    pub(crate) fn start(config: Config, outbox: Arc<Notify>) -> Self {
        let (tx, mine) = watch::channel(false);
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("outbox-relay-lock".into())
            .spawn(move || run(&config, &thread_stop, &tx, &outbox));
        if let Err(e) = spawned {
            // Then this process never relays; another one does.
            tracing::error!(error = %e, "cannot start the relay's lock thread");
        }
        Leadership { mine, stop }
    }
}

fn run(config: &Config, stop: &AtomicBool, mine: &watch::Sender<bool>, outbox: &Notify) {
    let mut session: Option<Client> = None;
    let mut warned = false;
    while !stop.load(Ordering::Relaxed) {
        let client = match session.as_mut() {
            Some(client) => client,
            None => match config.connect(NoTls) {
                Ok(client) => {
                    warned = false;
                    session.insert(client)
                }
                Err(e) => {
                    if !warned {
                        tracing::warn!(error = %super::error::describe(&e), "the relay cannot reach PostgreSQL; retrying");
                        warned = true;
                    }
                    pause(stop, RECONNECT);
                    continue;
                }
            },
        };
        let step = if *mine.borrow() {
            lead(client, stop, outbox)
        } else {
            try_to_lead(client)
        };
        match step {
            Ok(leading) => {
                if leading != *mine.borrow() {
                    mine.send_replace(leading);
                    if leading {
                        tracing::info!("this process relays the outbox now");
                        outbox.notify_one();
                    }
                }
                if !leading {
                    pause(stop, STANDBY_POLL);
                }
            }
            Err(e) => {
                if mine.send_replace(false) {
                    tracing::warn!(error = %e, "the relay lost its lock; another process takes over");
                } else {
                    tracing::warn!(error = %e, "the relay's lock connection failed; reconnecting");
                }
                session = None;
                pause(stop, RECONNECT);
            }
        }
    }
    mine.send_replace(false);
    // Dropping the session here ends it, and PostgreSQL releases the lock.
}

/// Takes the lock if it is free; the leader then listens for commits.
fn try_to_lead(client: &mut Client) -> Result<bool, postgres::Error> {
    let taken: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&RELAY_LOCK])?
        .try_get(0)?;
    if taken {
        client.batch_execute(OUTBOX_CHANNEL_LISTEN)?;
    }
    Ok(taken)
}

/// Waits for commits and wakes the relay at each; then checks that the session (and with
/// it the lock) is still there. `Ok(true)`: still the leader.
fn lead(client: &mut Client, stop: &AtomicBool, outbox: &Notify) -> Result<bool, postgres::Error> {
    {
        let mut notifications = client.notifications();
        let mut waiting = notifications.timeout_iter(LEADER_WAIT);
        while !stop.load(Ordering::Relaxed) {
            match waiting.next()? {
                Some(_) => outbox.notify_one(),
                None => break,
            }
        }
    }
    client.is_valid(LEADER_WAIT)?;
    Ok(true)
}

fn pause(stop: &AtomicBool, total: Duration) {
    let mut left = total;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let slice = left.min(SLICE);
        std::thread::sleep(slice);
        left -= slice;
    }
}
