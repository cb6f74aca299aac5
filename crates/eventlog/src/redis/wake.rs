//! Hearing appends made by other processes: one pub/sub connection per process listens
//! on the channel the append script announces on and wakes the local readers.
//!
//! Pub/sub delivers at most once: while the connection is down, announcements are lost.
//! So every reader is woken when the connection drops and again once it is back, and
//! reads again; nobody waits out a long-poll on an append that already committed.

use std::sync::Arc;
use std::time::Duration;

use ::redis::{Client, Msg, RedisError};
use futures_util::StreamExt;
use protocol::{AccountName, ItemId};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::waiters::Waiters;

/// How long one attempt to connect and subscribe may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The listening task; it ends when this is dropped (with the store).
#[derive(Debug)]
pub(super) struct Listener {
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Subscribes before returning, so that a reader of a freshly opened log already
    /// hears appends from elsewhere.
    pub(super) async fn start(
        client: Client,
        channel: String,
        waiters: Arc<Waiters>,
    ) -> Result<Listener, RedisError> {
        let (ready, subscribed) = oneshot::channel();
        let task = tokio::spawn(run(client, channel, waiters, ready));
        match subscribed.await {
            Ok(Ok(())) => Ok(Listener { task }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RedisError::from((
                ::redis::ErrorKind::Client,
                "the append listener stopped before subscribing",
            ))),
        }
    }
}

async fn run(
    client: Client,
    channel: String,
    waiters: Arc<Waiters>,
    ready: oneshot::Sender<Result<(), RedisError>>,
) {
    let mut ready = Some(ready);
    let mut backoff = MIN_BACKOFF;
    loop {
        match subscribe(&client, &channel).await {
            Ok(pubsub) => {
                match ready.take() {
                    Some(ready) => {
                        let _ = ready.send(Ok(()));
                    }
                    // Back after an outage: appends announced meanwhile were not heard.
                    None => {
                        tracing::info!("event log append channel reconnected");
                        waiters.notify_all();
                    }
                }
                backoff = MIN_BACKOFF;
                let mut messages = pubsub.into_on_message();
                while let Some(msg) = messages.next().await {
                    wake(&waiters, &msg);
                }
                tracing::warn!("event log append channel lost; reconnecting");
                waiters.notify_all();
            }
            Err(e) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Err(e));
                    return;
                }
                tracing::warn!(error = %e, "event log append channel: cannot reconnect yet");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn subscribe(client: &Client, channel: &str) -> Result<::redis::aio::PubSub, RedisError> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok(pubsub)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(RedisError::from((
            ::redis::ErrorKind::Io,
            "timed out connecting to Redis",
        ))),
    }
}

/// `<account> <last id>`, as the append script publishes it. Anything else is ignored:
/// a wake-up is only a hint to read again.
fn wake(waiters: &Waiters, msg: &Msg) {
    let Ok(payload) = std::str::from_utf8(msg.get_payload_bytes()) else {
        return;
    };
    let Some((account, last)) = payload.split_once(' ') else {
        return;
    };
    if let (Ok(account), Ok(last)) = (AccountName::parse(account), last.parse::<ItemId>()) {
        waiters.notify(&account, last);
    }
}
