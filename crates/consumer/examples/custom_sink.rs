//! A sink of your own: everything `ticketstream consume` does (the polling loop,
//! long-polling, a durable cursor, retries with backoff, dead letters, gap and lag
//! reports) around a destination that is only a `send` function.
//!
//! This one keeps a running revenue total from confirmed orders and prints each sale.
//! Against `ticketstream serve --demo` (keys from `ticketstream demo init`):
//!
//! ```sh
//! cargo run -p ticketstream-consumer --example custom_sink -- \
//!     http://127.0.0.1:8080 demo ACCESSKEY SECRETKEY ./revenue-state
//! ```
//!
//! Stop it with Ctrl-C; run it again and it resumes after the last sale it counted.

use std::time::Duration;

use consumer::{
    AuthScheme, Credentials, EventstreamClient, Forwarder, ForwarderConfig, Outcome, ReceivedItem,
    Rejection, Sink, SinkError,
};
use protocol::{ActionType, Money};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

/// The sink: counts revenue. A real one would write to a database or call an API, and
/// return `SinkError::Retryable` when that fails for now, so the batch is tried again.
#[derive(Debug, Default)]
struct Revenue {
    sales: u64,
    total: Money,
}

/// The part of a `webshop:checkout_confirm` item's `data` this sink needs.
#[derive(Deserialize)]
struct Confirmed {
    order: Order,
    #[serde(rename = "ref")]
    reference: String,
}

#[derive(Deserialize)]
struct Order {
    id: String,
    totalamount: Money,
}

impl Sink for Revenue {
    /// Names the cursor file (`<state dir>/revenue.cursor`): keep it stable.
    fn name(&self) -> &str {
        "revenue"
    }

    /// Items come in id order; `Ok` moves the cursor past the whole batch. A batch can
    /// come again after a crash, so a real sink dedupes by `id()`.
    async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        let mut rejected = Vec::new();
        for received in batch {
            // Types added to the contract later are skipped, not refused.
            if *received.kind() != ActionType::CheckoutConfirm {
                continue;
            }
            match serde_json::from_str::<Confirmed>(received.data()) {
                Ok(sale) => {
                    self.sales += 1;
                    self.total = self.total + sale.order.totalamount;
                    println!(
                        "{} order {} ({}): {}; {} sales, {} in total",
                        received.ts(),
                        sale.order.id,
                        sale.reference,
                        sale.order.totalamount,
                        self.sales,
                        self.total
                    );
                }
                // Refused for good: written to `<state dir>/revenue.deadletter.ndjson`.
                Err(e) => rejected.push(Rejection {
                    id: received.id(),
                    reason: format!("not a checkout_confirm payload: {e}"),
                }),
            }
        }
        Ok(if rejected.is_empty() {
            Outcome::Accepted
        } else {
            Outcome::PartlyRejected(rejected)
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, account, accesskey, secretkey, state_dir] = args.as_slice() else {
        eprintln!("usage: custom_sink URL ACCOUNT ACCESSKEY SECRETKEY STATE_DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(state_dir)?;

    let client = EventstreamClient::new(
        reqwest::Client::new(),
        url,
        account.parse()?,
        Credentials {
            accesskey: accesskey.clone(),
            secretkey: secretkey.clone(),
        },
        AuthScheme::Hmac,
    )?;
    let config = ForwarderConfig {
        // The server filters; the cursor still moves past the other types.
        types: Some(vec![ActionType::CheckoutConfirm.as_str().to_owned()]),
        wait: Duration::from_secs(30),
        ..ForwarderConfig::default()
    };
    let forwarder = Forwarder::new(client, Revenue::default(), state_dir, config);

    // Ctrl-C: the batch in flight is finished and its cursor written, then `run` returns.
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    forwarder.run(shutdown).await?;
    Ok(())
}
