//! A webhook receiver for the consumer's `webhook:` sink, as a receiver should be: it
//! checks the signature over the raw body, refuses stale timestamps (replays), ignores
//! items it already has (a batch can come twice), and prints the new items as NDJSON.
//!
//! ```sh
//! cargo run -p ticketstream-consumer --example webhook_receiver -- 127.0.0.1:9000 s3cret
//! ticketstream consume ... --sink 'hook=webhook:http://127.0.0.1:9000/hook,secret=s3cret'
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::Sha256;

/// How old a signed request may be before it counts as a replay.
const MAX_AGE_SECS: u64 = 300;

#[derive(Clone)]
struct Receiver {
    secret: Arc<String>,
    /// Ids already printed. A real receiver keeps this where it stores the items.
    seen: Arc<Mutex<HashSet<String>>>,
}

#[derive(Deserialize)]
struct Batch {
    items: Vec<Box<RawValue>>,
}

#[derive(Deserialize)]
struct ItemHead {
    id: String,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `X-Ticketstream-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))`.
fn signature_valid(secret: &str, timestamp: &str, signature: &str, body: &[u8]) -> bool {
    let Some(Ok(signature)) = signature.strip_prefix("sha256=").map(hex::decode) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&signature).is_ok()
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let timestamp = header(&headers, "x-ticketstream-timestamp");
    let signature = header(&headers, "x-ticketstream-signature");
    if !signature_valid(&receiver.secret, timestamp, signature, &body) {
        eprintln!("refused: bad signature");
        return (StatusCode::UNAUTHORIZED, "bad signature\n");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match timestamp.parse::<u64>() {
        Ok(sent) if now.abs_diff(sent) <= MAX_AGE_SECS => {}
        _ => {
            eprintln!("refused: stale timestamp {timestamp:?}");
            return (StatusCode::UNAUTHORIZED, "stale timestamp\n");
        }
    }
    // 400 is permanent: the consumer keeps the batch as dead letters.
    let Ok(batch) = serde_json::from_slice::<Batch>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a batch\n");
    };
    let mut seen = receiver.seen.lock().unwrap_or_else(|e| e.into_inner());
    let mut new = 0;
    for item in &batch.items {
        let Ok(head) = serde_json::from_str::<ItemHead>(item.get()) else {
            continue;
        };
        if seen.insert(head.id) {
            println!("{}", item.get());
            new += 1;
        }
    }
    eprintln!(
        "batch {}: {} items, {new} new",
        header(&headers, "idempotency-key"),
        batch.items.len()
    );
    (StatusCode::OK, "ok\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, secret] = args.as_slice() else {
        eprintln!("usage: webhook_receiver LISTEN_ADDR SECRET");
        std::process::exit(2);
    };
    let receiver = Receiver {
        secret: Arc::new(secret.clone()),
        seen: Arc::default(),
    };
    let app = Router::new()
        .fallback(post(receive))
        .layer(DefaultBodyLimit::max(64 << 20))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("receiving on http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
