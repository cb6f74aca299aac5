//! The accounting of load runs: loadgen's JSON summary against the eventstream, per ref
//! and action type.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use serde_json::Value;

pub(crate) type Counts = BTreeMap<String, BTreeMap<String, u64>>;

/// The last line of stdout, which must be one JSON object.
pub(crate) fn last_json_line(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "status {:?}, stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// The whole eventstream of the demo account, oldest first.
pub(crate) async fn read_stream(base: &str, accesskey: &str, secretkey: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut items = Vec::new();
    let mut id = "0".to_owned();
    loop {
        let response = client
            .get(format!("{base}/api/1/demo/eventstream"))
            .query(&[("id", id.as_str()), ("limit", "10000")])
            .basic_auth(accesskey, Some(secretkey))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        if let Some(results) = page["results"].as_array() {
            items.extend(results.iter().cloned());
        }
        id = page["nextid"].as_str().unwrap().to_owned();
        if page["moreresults"] != Value::Bool(true) {
            return items;
        }
    }
}

/// Items per ref and type; items without a string ref are counted under `None`.
pub(crate) fn count(items: &[Value]) -> (Counts, u64) {
    let mut counts = Counts::new();
    let mut without_ref = 0;
    for item in items {
        let kind = item["type"].as_str().unwrap().to_owned();
        match item["data"]["ref"].as_str() {
            Some(r) => {
                *counts
                    .entry(r.to_owned())
                    .or_default()
                    .entry(kind)
                    .or_default() += 1
            }
            None => without_ref += 1,
        }
    }
    (counts, without_ref)
}

pub(crate) fn as_counts(value: &Value) -> Counts {
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(r, per_type)| {
            let per_type = per_type
                .as_object()
                .unwrap()
                .iter()
                .map(|(t, n)| (t.clone(), n.as_u64().unwrap()))
                .collect();
            (r.clone(), per_type)
        })
        .collect()
}

pub(crate) fn get(counts: &Counts, r: &str, kind: &str) -> u64 {
    counts
        .get(r)
        .and_then(|c| c.get(kind))
        .copied()
        .unwrap_or(0)
}

/// Differences between the stream and the acknowledged counts: every acknowledged action
/// must be there, and at most the uncertain ones (of failed requests) on top.
pub(crate) fn mismatches(
    stream: &Counts,
    acknowledged: &Counts,
    uncertain: &Counts,
) -> Vec<String> {
    let refs: BTreeSet<&String> = stream.keys().chain(acknowledged.keys()).collect();
    let mut out = Vec::new();
    for r in refs {
        if !acknowledged.contains_key(r) {
            out.push(format!(
                "ref {r:?} is in the stream but loadgen never used it"
            ));
            continue;
        }
        let kinds: BTreeSet<&String> = stream
            .get(r)
            .into_iter()
            .chain(acknowledged.get(r))
            .flat_map(|c| c.keys())
            .collect();
        for kind in kinds {
            let (seen, acked) = (get(stream, r, kind), get(acknowledged, r, kind));
            let extra = get(uncertain, r, kind);
            if seen < acked || seen > acked + extra {
                out.push(format!(
                    "ref {r:?} {kind}: {seen} in the stream, {acked} acknowledged (+{extra} uncertain)"
                ));
            }
        }
    }
    out
}

/// The stream of a load run that may have failed requests: ids strictly ascending, no
/// untracked shopper in it, every acknowledged action there and at most the uncertain
/// ones on top.
pub(crate) fn assert_stream_holds(items: &[Value], acknowledged: &Counts, uncertain: &Counts) {
    let ids: Vec<protocol::ItemId> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids are strictly ascending"
    );
    let (stream, without_ref) = count(items);
    assert_eq!(without_ref, 0, "untracked shoppers were recorded");
    let problems = mismatches(&stream, acknowledged, uncertain);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// No seat of the demo account is oversold, and the counters agree with the orders.
pub(crate) async fn assert_seats_consistent(shop: &shop::ShopStore) {
    let counts = shop
        .seat_counts(&protocol::AccountName::parse("demo").unwrap())
        .await
        .unwrap();
    assert!(!counts.is_empty());
    for c in counts {
        assert_eq!(c.taken, c.held, "{c:?}");
        assert!(c.taken <= i64::from(c.capacity), "{c:?}");
    }
}
