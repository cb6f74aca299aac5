//! Events into Measurement Protocol requests: one `client_id` per request (GA4 reads it
//! from the body, not from each event), at most 25 events, a body under 130 kB. Pure.

use std::collections::HashMap;

use protocol::ItemId;

use super::mapping::Ga4Event;
use crate::Rejection;

/// GA4's limits for one request.
pub(super) const MAX_EVENTS: usize = 25;
/// The body must be smaller than this.
pub(super) const MAX_BODY_BYTES: usize = 130_000;

/// One event ready to go, with the item it came from.
#[derive(Debug)]
pub(super) struct PlannedEvent {
    pub(super) id: ItemId,
    pub(super) transaction_id: Option<String>,
    json: String,
}

/// One POST.
#[derive(Debug)]
pub(super) struct Request {
    pub(super) events: Vec<PlannedEvent>,
    pub(super) body: String,
}

/// Splits `events` (in item order) into requests. Events keep their order within each
/// client; clients come in the order they first appear. An event too large for a
/// request of its own is refused.
pub(super) fn plan(events: Vec<(ItemId, Ga4Event)>) -> (Vec<Request>, Vec<Rejection>) {
    let mut rejections = Vec::new();
    let mut clients: Vec<(String, Vec<PlannedEvent>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (id, event) in events {
        let json = match serde_json::to_string(&event.event) {
            Ok(json) => json,
            Err(e) => {
                rejections.push(Rejection {
                    id,
                    reason: format!("cannot write the GA4 event: {e}"),
                });
                continue;
            }
        };
        let planned = PlannedEvent {
            id,
            transaction_id: event.transaction_id,
            json,
        };
        let at = *index.entry(event.client_id.clone()).or_insert_with(|| {
            clients.push((event.client_id, Vec::new()));
            clients.len() - 1
        });
        clients[at].1.push(planned);
    }

    let mut requests = Vec::new();
    for (client_id, events) in clients {
        let prefix = format!(
            r#"{{"client_id":{},"events":["#,
            serde_json::Value::String(client_id)
        );
        let mut current: Vec<PlannedEvent> = Vec::new();
        let mut size = prefix.len() + SUFFIX.len();
        for event in events {
            let alone = prefix.len() + SUFFIX.len() + event.json.len();
            if alone >= MAX_BODY_BYTES {
                rejections.push(Rejection {
                    id: event.id,
                    reason: format!(
                        "the GA4 event is {} bytes, more than a request may carry",
                        event.json.len()
                    ),
                });
                continue;
            }
            let added = event.json.len() + usize::from(!current.is_empty());
            if current.len() == MAX_EVENTS || size + added >= MAX_BODY_BYTES {
                requests.push(request(&prefix, std::mem::take(&mut current)));
                size = prefix.len() + SUFFIX.len();
            }
            size += event.json.len() + usize::from(!current.is_empty());
            current.push(event);
        }
        if !current.is_empty() {
            requests.push(request(&prefix, current));
        }
    }
    (requests, rejections)
}

const SUFFIX: &str = "]}";

fn request(prefix: &str, events: Vec<PlannedEvent>) -> Request {
    let mut body = String::from(prefix);
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&event.json);
    }
    body.push_str(SUFFIX);
    Request { events, body }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::Value;

    use super::super::mapping::{Event, Params};
    use super::*;

    fn event(client: &str, title_len: usize) -> Ga4Event {
        Ga4Event {
            client_id: client.to_owned(),
            transaction_id: None,
            event: Event {
                name: "page_view",
                params: Params {
                    page_title: Some("t".repeat(title_len)),
                    ..Params::default()
                },
                timestamp_micros: 1,
            },
        }
    }

    fn ids(n: u64) -> impl Iterator<Item = ItemId> {
        (0..n).map(|i| ItemId::new(1, i))
    }

    #[test]
    fn one_client_per_request_and_at_most_25_events() {
        let events = ids(60)
            .map(|id| (id, event(if id.seq % 3 == 0 { "a" } else { "b\"c" }, 5)))
            .collect();
        let (requests, rejections) = plan(events);
        assert!(rejections.is_empty());
        let mut total = 0;
        let mut clients = Vec::new();
        for r in &requests {
            assert!(r.events.len() <= MAX_EVENTS);
            let body: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(body["events"].as_array().unwrap().len(), r.events.len());
            clients.push(body["client_id"].as_str().unwrap().to_owned());
            total += r.events.len();
        }
        assert_eq!(total, 60);
        assert_eq!(clients, ["a", "b\"c", "b\"c"]);
        // Item order is kept within a client.
        let b: Vec<ItemId> = requests[1..]
            .iter()
            .flat_map(|r| r.events.iter().map(|e| e.id))
            .collect();
        assert!(b.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn bodies_stay_under_130_kb() {
        let events = ids(20).map(|id| (id, event("a", 20_000))).collect();
        let (requests, rejections) = plan(events);
        assert!(rejections.is_empty());
        assert!(requests.len() >= 4, "{}", requests.len());
        for r in &requests {
            assert!(r.body.len() < MAX_BODY_BYTES);
            let _: Value = serde_json::from_str(&r.body).unwrap();
        }
        assert_eq!(requests.iter().map(|r| r.events.len()).sum::<usize>(), 20);
    }

    #[test]
    fn an_event_too_large_alone_is_refused() {
        let events = vec![
            (ItemId::new(1, 0), event("a", MAX_BODY_BYTES)),
            (ItemId::new(1, 1), event("a", 10)),
        ];
        let (requests, rejections) = plan(events);
        assert_eq!(rejections.len(), 1);
        assert_eq!(rejections[0].id, ItemId::new(1, 0));
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].events[0].id, ItemId::new(1, 1));
    }
}
