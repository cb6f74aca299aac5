//! `/metrics` on its own listener: after some traffic its counters have moved, and the
//! public listener does not serve it.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use eventlog::{Backend, EventLog, OpenOptions, SystemClock};
use protocol::{AccountName, Ref, Timestamp};
use server::{App, AppConfig};
use shop::ShopStore;

/// The value of the sample `name` (with its labels, as written), if the text has it.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_count_requests_actions_and_items() {
    let dir = tempfile::tempdir().unwrap();
    let store = ShopStore::open(dir.path()).await.unwrap();
    let demo = shop::demo_init(&store).await.unwrap();
    let log = EventLog::open(OpenOptions::new(Backend::Embedded {
        dir: dir.path().join("eventlog"),
    }))
    .await
    .unwrap();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let monitoring = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", public.local_addr().unwrap());
    let metrics_url = format!("http://{}/metrics", monitoring.local_addr().unwrap());
    let app = App::new(
        store.clone(),
        log,
        Arc::new(SystemClock),
        AppConfig::default(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::run_with_metrics(
        public,
        Some(monitoring),
        app,
        async move {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::new();
    let eventstream = format!("{base}/api/1/demo/eventstream");

    // A long-poll that the action below ends.
    let poll = {
        let request = http
            .get(format!("{eventstream}?wait=20"))
            .basic_auth(&demo.api.accesskey, Some(&demo.api.secretkey));
        tokio::spawn(request.send())
    };
    let account = AccountName::parse("demo").unwrap();
    let session = store
        .enter_session(
            &account,
            None,
            shop::Entry {
                reference: Some(Ref::parse("watched").unwrap()),
                params: BTreeMap::new(),
                settings: shop::WidgetSettings::default(),
                lang: "en".to_owned(),
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    store
        .record_pageview(&session, "addtickets", Timestamp::now())
        .await
        .unwrap();
    let page: serde_json::Value = poll.await.unwrap().unwrap().json().await.unwrap();
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    let refused = http.get(&eventstream).send().await.unwrap();
    assert_eq!(refused.status(), 401);

    // The relay counts right after its append, which is what ended the long-poll; the
    // retention loop runs once at start.
    let mut text = String::new();
    for _ in 0..200 {
        text = http
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if sample(&text, "ticketstream_items_appended_total") == Some(1.0)
            && sample(&text, "ticketstream_retained_bytes").is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let route = r#"route="/api/1/{account}/eventstream""#;
    let requests = |status: u16| {
        sample(
            &text,
            &format!(r#"ticketstream_http_requests_total{{{route},status="{status}"}}"#),
        )
    };
    assert_eq!(requests(200), Some(1.0), "{text}");
    assert_eq!(requests(401), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"ticketstream_tracked_actions_total{type="webshop:pageview"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "ticketstream_items_appended_total"),
        Some(1.0)
    );
    assert_eq!(sample(&text, "ticketstream_items_served_total"), Some(1.0));
    assert_eq!(sample(&text, "ticketstream_open_long_polls"), Some(0.0));
    assert_eq!(sample(&text, "ticketstream_open_sse_streams"), Some(0.0));
    assert!(
        sample(
            &text,
            &format!(r#"ticketstream_http_request_duration_seconds_count{{{route}}}"#)
        )
        .is_some_and(|n| n >= 2.0),
        "{text}"
    );
    assert!(sample(&text, "ticketstream_purge_runs_total").is_some_and(|n| n >= 1.0));
    assert!(
        sample(&text, "ticketstream_retained_items").is_some(),
        "{text}"
    );
    assert!(sample(&text, "ticketstream_retained_bytes").is_some_and(|n| n > 0.0));

    // Not on the public address.
    let public = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
