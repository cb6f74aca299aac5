//! The GA4 sink against a local receiver that enforces the Measurement Protocol's rules
//! (names, limits, query-string credentials, currencies, quantities) and ours (one
//! purchase per transaction id, `client_id` = `ref`, `timestamp_micros` = `ts`).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::routing::post;
use consumer::{Ga4Config, Ga4Sink, Outcome, ReceivedItem, Sink, SinkError};
use protocol::{
    Action, ItemId, Money, NumId, OrderAction, OrderState, PageView, ProductLine, ProductsChanged,
    Ref, TicketLine, TicketsChanged, Timestamp, item_json,
};
use serde_json::Value;
use serde_json::value::RawValue;

const MEASUREMENT_ID: &str = "G-TEST123";
const API_SECRET: &str = "s3cret_Key";

// ---------------------------------------------------------------------------------------
// The receiver

/// What the receiver saw.
#[derive(Debug, Default)]
struct Seen {
    /// Accepted requests: path and body.
    requests: Vec<(String, Value)>,
    /// Broken rules, one line each; a request breaking one is answered 400.
    violations: Vec<String>,
    transaction_ids: HashSet<String>,
    /// Statuses to answer the next requests with instead of accepting them (0: accept).
    script: VecDeque<u16>,
    /// The body of a 2xx answer (the validation endpoint's report).
    answer: String,
}

#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let app = Router::new()
            .route("/mp/collect", post(collect))
            .route("/debug/mp/collect", post(collect))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { addr, seen }
    }

    fn sink(&self, extra: &str) -> Ga4Sink {
        let spec = format!(
            "measurement_id={MEASUREMENT_ID},api_secret={API_SECRET},endpoint=http://{}/mp/collect{extra}",
            self.addr
        );
        Ga4Sink::new(Ga4Config::parse(&spec).unwrap(), reqwest::Client::new())
    }

    fn script(&self, statuses: &[u16]) {
        self.seen.lock().unwrap().script.extend(statuses);
    }

    fn answer_with(&self, body: &str) {
        self.seen.lock().unwrap().answer = body.to_owned();
    }

    /// Every event accepted so far, with its request's `client_id`.
    fn events(&self) -> Vec<(String, Value)> {
        let seen = self.seen.lock().unwrap();
        seen.requests
            .iter()
            .flat_map(|(_, body)| {
                let client = body["client_id"].as_str().unwrap_or_default().to_owned();
                body["events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |e| (client.clone(), e))
            })
            .collect()
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.seen.lock().unwrap().requests.clone()
    }

    fn assert_no_violations(&self) {
        let seen = self.seen.lock().unwrap();
        assert!(
            seen.violations.is_empty(),
            "GA4 rules broken:\n{}",
            seen.violations.join("\n")
        );
    }
}

async fn collect(
    State(seen): State<Arc<Mutex<Seen>>>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> (StatusCode, String) {
    let mut seen = seen.lock().unwrap();
    if let Some(status) = seen.script.pop_front()
        && status != 0
    {
        let status = StatusCode::from_u16(status).unwrap();
        return (status, "scripted failure".to_owned());
    }
    let mut violations = Vec::new();
    let mut transaction_ids = Vec::new();
    let parsed = check_request(&query, &body, &mut violations, &mut transaction_ids);
    for id in transaction_ids {
        if !seen.transaction_ids.insert(id.clone()) {
            violations.push(format!("purchase with transaction_id {id} sent again"));
        }
    }
    if !violations.is_empty() || parsed.is_none() {
        let text = violations.join("; ");
        seen.violations.extend(violations);
        return (StatusCode::BAD_REQUEST, text);
    }
    seen.requests
        .push((uri.path().to_owned(), parsed.unwrap_or_default()));
    if seen.answer.is_empty() {
        (StatusCode::NO_CONTENT, String::new())
    } else {
        (StatusCode::OK, seen.answer.clone())
    }
}

fn valid_name(name: &str) -> bool {
    name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The Measurement Protocol's rules for one request.
fn check_request(
    query: &HashMap<String, String>,
    body: &[u8],
    violations: &mut Vec<String>,
    transaction_ids: &mut Vec<String>,
) -> Option<Value> {
    if query.get("measurement_id").map(String::as_str) != Some(MEASUREMENT_ID) {
        violations.push(format!("measurement_id missing from the query: {query:?}"));
    }
    if query.get("api_secret").map(String::as_str) != Some(API_SECRET) {
        violations.push("api_secret missing from the query".to_owned());
    }
    if body.len() >= 130_000 {
        violations.push(format!("body of {} bytes, not under 130 kB", body.len()));
    }
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        violations.push("body is not JSON".to_owned());
        return None;
    };
    if json["client_id"].as_str().is_none_or(str::is_empty) {
        violations.push("client_id missing".to_owned());
    }
    let events = json["events"].as_array().cloned().unwrap_or_default();
    if events.is_empty() || events.len() > 25 {
        violations.push(format!("{} events in one request", events.len()));
    }
    for event in &events {
        let name = event["name"].as_str().unwrap_or_default();
        if !valid_name(name) {
            violations.push(format!("invalid event name {name:?}"));
        }
        if !event["timestamp_micros"].is_i64() {
            violations.push(format!("{name}: timestamp_micros missing"));
        }
        let params = event["params"].as_object().cloned().unwrap_or_default();
        if params.len() > 25 {
            violations.push(format!("{name}: {} parameters", params.len()));
        }
        for (key, value) in &params {
            if !valid_name(key) {
                violations.push(format!("{name}: invalid parameter name {key:?}"));
            }
            if value.as_str().is_some_and(|v| v.chars().count() > 100) {
                violations.push(format!("{name}.{key}: value longer than 100 characters"));
            }
        }
        if params.contains_key("value") {
            let currency = params.get("currency").and_then(Value::as_str);
            if !currency.is_some_and(|c| c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase()))
            {
                violations.push(format!("{name}: value without a currency"));
            }
            if !params["value"].is_number() {
                violations.push(format!("{name}: value is not a number"));
            }
        }
        for item in params
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(item) = item.as_object() else {
                violations.push(format!("{name}: an item is not an object"));
                continue;
            };
            if !item
                .get("quantity")
                .is_some_and(|q| q.is_u64() && q.as_u64() > Some(0))
            {
                violations.push(format!(
                    "{name}: quantity {:?} is not a positive integer",
                    item.get("quantity")
                ));
            }
            if !item.get("price").is_some_and(Value::is_number) {
                violations.push(format!("{name}: item without a numeric price"));
            }
            if item
                .get("item_id")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                violations.push(format!("{name}: item without item_id"));
            }
            for (key, value) in item {
                if !valid_name(key) {
                    violations.push(format!("{name}: invalid item parameter name {key:?}"));
                }
                if value.as_str().is_some_and(|v| v.chars().count() > 100) {
                    violations.push(format!("{name}: item {key} longer than 100 characters"));
                }
            }
        }
        if name == "purchase" {
            match params.get("transaction_id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => transaction_ids.push(id.to_owned()),
                _ => violations.push("purchase without a transaction_id".to_owned()),
            }
        }
    }
    Some(json)
}

// ---------------------------------------------------------------------------------------
// Items

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

fn ticket(line: u64, ttp: u64, price: &str, pricetype: &str, eventname: &str) -> TicketLine {
    TicketLine {
        id: NumId(line),
        price: money(price),
        servicecharge: money("1.5"),
        tickettypepriceid: NumId(ttp),
        tickettypeid: NumId(92),
        tickettypename: "Tickets".into(),
        pricetypeid: NumId(10000 + ttp),
        pricetypename: pricetype.into(),
        eventid: NumId(10003),
        eventname: eventname.into(),
    }
}

fn product(line: u64, productid: u64, price: &str) -> ProductLine {
    ProductLine {
        id: NumId(line),
        productid: NumId(productid),
        price: money(price),
        producttype: NumId(26002),
        productname: "Gift voucher".into(),
    }
}

fn order(id: u64, tickets: &[TicketLine], products: &[ProductLine]) -> OrderState {
    let mut order = OrderState {
        id: NumId(id),
        saleschannelid: NumId(10000),
        customerid: None,
        deliveryscenarioid: None,
        paymentscenarioid: None,
        totalamount: Money::ZERO,
        tickets: tickets.to_vec(),
        products: products.to_vec(),
    };
    order.totalamount = order.computed_total();
    order
}

fn page_view(page: &str, reference: &Ref) -> Action {
    let mut params = BTreeMap::new();
    params.insert("event".to_owned(), Some("10003".to_owned()));
    params.insert("flow".to_owned(), Some("checkout".to_owned()));
    params.insert(
        "returnurl".to_owned(),
        Some("https://integrator.example/?u=1".to_owned()),
    );
    params.insert("promocode".to_owned(), None);
    Action::PageView(PageView {
        page: page.into(),
        params,
        orderid: None,
        customerid: None,
        reference: reference.clone(),
    })
}

/// A shopper's whole visit: every one of the 11 action types, and a second page view.
fn journey(reference: &str, order_id: u64) -> Vec<Action> {
    let r = Ref::parse(reference).unwrap();
    let event = "Dance performance 2";
    let t1 = ticket(1, 580, "20", "Normal", event);
    let t2 = ticket(2, 580, "20", "Normal", event);
    let t3 = ticket(3, 581, "12.5", "Reduced", event);
    let v1 = product(4, 10000, "25");
    let v2 = product(5, 10000, "25");
    let tickets = |t: &[TicketLine], o: OrderState| TicketsChanged {
        tickets: t.to_vec(),
        order: o,
        reference: r.clone(),
    };
    let products = |p: &[ProductLine], o: OrderState| ProductsChanged {
        products: p.to_vec(),
        order: o,
        reference: r.clone(),
    };
    let full = order(
        order_id,
        &[t1.clone(), t2.clone()],
        std::slice::from_ref(&v1),
    );
    let step = |f: &dyn Fn(&mut OrderState)| {
        let mut o = full.clone();
        f(&mut o);
        OrderAction {
            order: o,
            reference: r.clone(),
        }
    };
    let with_customer = |o: &mut OrderState| o.customerid = Some(NumId(7));
    let with_delivery = |o: &mut OrderState| {
        with_customer(o);
        o.deliveryscenarioid = Some(NumId(2));
    };
    let with_payment = |o: &mut OrderState| {
        with_delivery(o);
        o.paymentscenarioid = Some(NumId(3));
    };
    vec![
        page_view("addtickets", &r),
        Action::AddTickets(tickets(
            &[t1.clone(), t2.clone(), t3.clone()],
            order(order_id, &[t1.clone(), t2.clone(), t3.clone()], &[]),
        )),
        Action::RemoveTickets(tickets(
            &[t3],
            order(order_id, &[t1.clone(), t2.clone()], &[]),
        )),
        Action::AddProducts(products(
            &[v1.clone(), v2.clone()],
            order(
                order_id,
                &[t1.clone(), t2.clone()],
                &[v1.clone(), v2.clone()],
            ),
        )),
        Action::RemoveProducts(products(&[v2], full.clone())),
        Action::CheckoutStart(step(&|_| {})),
        Action::CheckoutAddCustomerInfo(step(&with_customer)),
        Action::CheckoutAddDeliveryInfo(step(&with_delivery)),
        Action::CheckoutAddPaymentInfo(step(&with_payment)),
        Action::CheckoutInitiatePayment(step(&with_payment)),
        Action::CheckoutConfirm(step(&with_payment)),
        page_view("orderdetail", &r),
    ]
}

/// Hands out item ids and timestamps: one second apart, ending a minute ago.
struct Stream {
    next: u64,
    start_ms: i64,
}

impl Stream {
    fn new() -> Stream {
        let now = Timestamp::now().unix_ms();
        Stream {
            next: 0,
            start_ms: (now - 3_600_000) / 1000 * 1000,
        }
    }

    fn item(&mut self, action: &Action) -> ReceivedItem {
        let ts = Timestamp::from_unix_ms(self.start_ms + 1000 * self.next as i64);
        self.at(action, ts)
    }

    fn at(&mut self, action: &Action, ts: Timestamp) -> ReceivedItem {
        self.next += 1;
        let id = ItemId::new(1_700_000_000_000 + self.next, 0);
        let kind = action.action_type();
        let text = item_json(id, ts, kind.as_str(), &action.data_json());
        ReceivedItem::from_raw(RawValue::from_string(text).unwrap()).unwrap()
    }

    fn items(&mut self, actions: &[Action]) -> Vec<ReceivedItem> {
        actions.iter().map(|a| self.item(a)).collect()
    }
}

fn ga4_name(action: &Action) -> &'static str {
    match action {
        Action::PageView(_) => "page_view",
        Action::AddTickets(_) | Action::AddProducts(_) => "add_to_cart",
        Action::RemoveTickets(_) | Action::RemoveProducts(_) => "remove_from_cart",
        Action::CheckoutStart(_) => "begin_checkout",
        Action::CheckoutAddCustomerInfo(_) => "add_customer_info",
        Action::CheckoutAddDeliveryInfo(_) => "add_shipping_info",
        Action::CheckoutAddPaymentInfo(_) => "add_payment_info",
        Action::CheckoutInitiatePayment(_) => "initiate_payment",
        Action::CheckoutConfirm(_) => "purchase",
    }
}

/// (client_id, event name, timestamp_micros) of what the items should become.
fn expected(items: &[ReceivedItem], actions: &[Action]) -> Vec<(String, String, i64)> {
    let mut out: Vec<_> = items
        .iter()
        .zip(actions)
        .map(|(item, action)| {
            (
                action.reference().as_str().to_owned(),
                ga4_name(action).to_owned(),
                item.ts().unix_ms() * 1000,
            )
        })
        .collect();
    out.sort();
    out
}

fn received(receiver: &Receiver) -> Vec<(String, String, i64)> {
    let mut out: Vec<_> = receiver
        .events()
        .into_iter()
        .map(|(client, e)| {
            (
                client,
                e["name"].as_str().unwrap().to_owned(),
                e["timestamp_micros"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn events_named<'a>(events: &'a [(String, Value)], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|(_, e)| e["name"] == name)
        .map(|(_, e)| e)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn a_whole_journey_arrives_by_the_rules() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink("");
    let mut stream = Stream::new();
    let mut actions = journey("user12345", 398);
    actions.extend(journey("ref-with space & ünïcode", 399));
    let mut items = stream.items(&actions);
    // A type this version does not know is accepted and not sent.
    let unknown = item_json(
        ItemId::new(1_800_000_000_000, 0),
        Timestamp::now(),
        "webshop:wishlist_add",
        r#"{"ref":"user12345"}"#,
    );
    items.push(ReceivedItem::from_raw(RawValue::from_string(unknown).unwrap()).unwrap());

    assert_eq!(sink.send(&items).await.unwrap(), Outcome::Accepted);
    receiver.assert_no_violations();
    assert_eq!(
        received(&receiver),
        expected(&items[..actions.len()], &actions)
    );

    let events = receiver.events();
    for (client, _) in &events {
        assert!(client == "user12345" || client == "ref-with space & ünïcode");
    }
    let purchases = events_named(&events, "purchase");
    assert_eq!(purchases.len(), 2);
    let p = purchases
        .iter()
        .find(|p| p["params"]["transaction_id"] == "398")
        .unwrap();
    // 2 × (20 + 1.5) + 25
    assert_eq!(p["params"]["value"], 68.0);
    assert_eq!(p["params"]["currency"], "EUR");
    let items = p["params"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["item_id"], "ticket-580");
    assert_eq!(
        items[0]["item_name"],
        "Dance performance 2 - Tickets - Normal"
    );
    assert_eq!(items[0]["quantity"], 2);
    assert_eq!(items[0]["price"], 21.5);
    assert_eq!(items[1]["item_id"], "product-10000");
    assert_eq!(items[1]["quantity"], 1);

    // add_to_cart carries the lines of that action: two price rows, three tickets.
    let adds = events_named(&events, "add_to_cart");
    let first_add = &adds[0]["params"];
    assert_eq!(first_add["value"], 57.0);
    let quantities: Vec<_> = first_add["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["item_id"].as_str().unwrap(),
                i["quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(quantities, [("ticket-580", 2), ("ticket-581", 1)]);
    let removes = events_named(&events, "remove_from_cart");
    assert_eq!(removes[0]["params"]["value"], 14.0);

    let shipping = events_named(&events, "add_shipping_info");
    assert_eq!(shipping[0]["params"]["shipping_tier"], "2");
    let views = events_named(&events, "page_view");
    assert_eq!(views[0]["params"]["page_title"], "Add tickets");
    assert_eq!(
        views[0]["params"]["page_location"],
        "https://webshop.invalid/addtickets?event=10003&flow=checkout"
    );
    assert!(views[0]["params"].get("value").is_none());
}

#[tokio::test]
async fn requests_hold_one_client_and_at_most_25_events() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink("");
    let mut stream = Stream::new();
    let a = Ref::parse("shopper-a").unwrap();
    let b = Ref::parse("shopper-b").unwrap();
    let mut actions = Vec::new();
    for i in 0..70 {
        actions.push(page_view("addtickets", if i % 3 == 0 { &b } else { &a }));
    }
    actions.extend(journey("shopper-c", 500));
    let items = stream.items(&actions);

    assert_eq!(sink.send(&items).await.unwrap(), Outcome::Accepted);
    receiver.assert_no_violations();
    assert_eq!(received(&receiver), expected(&items, &actions));
    let requests = receiver.requests();
    // a: 46 events, b: 24, c: 12.
    assert_eq!(requests.len(), 4, "{requests:?}");
    let mut per_client: HashMap<String, Vec<usize>> = HashMap::new();
    for (_, body) in &requests {
        per_client
            .entry(body["client_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(body["events"].as_array().unwrap().len());
    }
    assert_eq!(per_client["shopper-a"], [25, 21]);
    assert_eq!(per_client["shopper-b"], [24]);
    assert_eq!(per_client["shopper-c"], [12]);
}

#[tokio::test]
async fn large_orders_are_split_under_130_kb() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink("");
    let mut stream = Stream::new();
    let r = Ref::parse("big-spender").unwrap();
    let long_event =
        "A very long festival name that goes on and on, as festival names do, 2026 edition";
    let tickets: Vec<TicketLine> = (0..180)
        .map(|i| {
            ticket(
                i,
                1000 + i,
                "30",
                "A price type with a long descriptive name",
                long_event,
            )
        })
        .collect();
    let big = order(777, &tickets, &[]);
    let step = OrderAction {
        order: big,
        reference: r,
    };
    let actions: Vec<Action> = (0..8)
        .map(|_| Action::CheckoutStart(step.clone()))
        .collect();
    let items = stream.items(&actions);

    assert_eq!(sink.send(&items).await.unwrap(), Outcome::Accepted);
    receiver.assert_no_violations();
    assert_eq!(received(&receiver), expected(&items, &actions));
    let requests = receiver.requests();
    assert!(requests.len() >= 3, "{} requests", requests.len());
    let first = &receiver.events()[0].1;
    assert_eq!(first["params"]["items"].as_array().unwrap().len(), 180);
    assert_eq!(first["params"]["value"], 180.0 * 31.5);
}

#[tokio::test]
async fn a_purchase_is_sent_once_across_batches_retries_and_restarts() {
    let receiver = Receiver::start().await;
    let state = tempfile::tempdir().unwrap();
    let new_sink = || receiver.sink(&format!(",state_dir={}", state.path().display()));
    let mut sink = new_sink();
    let mut stream = Stream::new();
    let actions = journey("user-1", 900);
    let confirm = actions[10].clone();

    // The same purchase twice in one batch.
    let mut batch = stream.items(&actions);
    batch.push(stream.item(&confirm));
    assert_eq!(sink.send(&batch).await.unwrap(), Outcome::Accepted);
    // Again in a later batch (a replay, say).
    assert_eq!(
        sink.send(&[stream.item(&confirm)]).await.unwrap(),
        Outcome::Accepted
    );
    // And after a restart.
    let mut restarted = new_sink();
    assert_eq!(
        restarted.send(&[stream.item(&confirm)]).await.unwrap(),
        Outcome::Accepted
    );
    receiver.assert_no_violations();
    assert_eq!(events_named(&receiver.events(), "purchase").len(), 1);

    // A purchase whose request failed is sent by the retry, once.
    let other = journey("user-2", 901);
    let batch = stream.items(&other[9..11]);
    receiver.script(&[503]);
    assert!(matches!(
        sink.send(&batch).await,
        Err(SinkError::Retryable(_))
    ));
    assert_eq!(sink.send(&batch).await.unwrap(), Outcome::Accepted);
    assert_eq!(sink.send(&batch).await.unwrap(), Outcome::Accepted);
    receiver.assert_no_violations();
    let events = receiver.events();
    let purchases = events_named(&events, "purchase");
    assert_eq!(purchases.len(), 2);
    assert_eq!(purchases[1]["params"]["transaction_id"], "901");
}

#[tokio::test]
async fn a_retry_does_not_repeat_requests_that_went_through() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink("");
    let mut stream = Stream::new();
    let mut actions = journey("first", 1);
    actions.extend(journey("second", 2));
    let items = stream.items(&actions);
    // The first client's request goes through, the second's fails.
    receiver.script(&[0, 500]);
    assert!(matches!(
        sink.send(&items).await,
        Err(SinkError::Retryable(_))
    ));
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(sink.send(&items).await.unwrap(), Outcome::Accepted);
    receiver.assert_no_violations();
    assert_eq!(received(&receiver), expected(&items, &actions));
}

#[tokio::test]
async fn server_errors_are_retryable_and_client_errors_permanent() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink("");
    let mut stream = Stream::new();
    let items = stream.items(&journey("user-3", 3));
    for (status, retryable) in [
        (500, true),
        (503, true),
        (429, true),
        (408, true),
        (400, false),
        (403, false),
    ] {
        receiver.script(&[status]);
        let result = sink.send(&items).await;
        match (result, retryable) {
            (Err(SinkError::Retryable(m)), true) => assert!(m.contains(&status.to_string()), "{m}"),
            (Err(SinkError::Permanent(m)), false) => {
                assert!(m.contains(&status.to_string()), "{m}");
                assert!(!m.contains(API_SECRET), "{m}");
            }
            (other, _) => panic!("HTTP {status} gave {other:?}"),
        }
    }
    assert!(receiver.requests().is_empty());

    // Nobody listening: retryable, and the secret stays out of the message.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let spec = format!(
        "measurement_id={MEASUREMENT_ID},api_secret={API_SECRET},endpoint=http://{addr}/mp/collect"
    );
    let mut unreachable = Ga4Sink::new(Ga4Config::parse(&spec).unwrap(), reqwest::Client::new());
    match unreachable.send(&items).await {
        Err(SinkError::Retryable(m)) => assert!(!m.contains(API_SECRET), "{m}"),
        other => panic!("unreachable GA4 gave {other:?}"),
    }
}

#[tokio::test]
async fn debug_mode_reports_the_validation_messages() {
    let receiver = Receiver::start().await;
    receiver.answer_with(
        r#"{"validationMessages":[{"fieldPath":"events.params.items","description":"Item param [item_id] is too long.","validationCode":"VALUE_INVALID"},{"fieldPath":"client_id","description":"Unexpected client id.","validationCode":"VALUE_INVALID"}]}"#,
    );
    let spec = format!(
        "measurement_id={MEASUREMENT_ID},api_secret={API_SECRET},endpoint=http://{}/debug/mp/collect,debug=true",
        receiver.addr
    );
    let mut sink = Ga4Sink::new(Ga4Config::parse(&spec).unwrap(), reqwest::Client::new());
    let mut stream = Stream::new();
    let items = stream.items(&journey("user-4", 4));
    assert_eq!(sink.send(&items).await.unwrap(), Outcome::Accepted);
    receiver.assert_no_violations();
    assert_eq!(receiver.requests()[0].0, "/debug/mp/collect");
    let messages = sink.validation_messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].field_path, "events.params.items");
    assert_eq!(messages[0].validation_code, "VALUE_INVALID");
    assert_eq!(messages[1].description, "Unexpected client id.");

    receiver.answer_with(r#"{"validationMessages":[]}"#);
    assert_eq!(sink.send(&items[..1]).await.unwrap(), Outcome::Accepted);
    assert!(sink.validation_messages().is_empty());
}

#[tokio::test]
async fn items_older_than_72_hours_are_rejected() {
    let receiver = Receiver::start().await;
    // The sink's clock stands still at a fixed moment.
    const NOW_MS: i64 = 1_900_000_000_000;
    let mut sink = receiver
        .sink(",currency=usd")
        .with_clock(|| Timestamp::from_unix_ms(NOW_MS));
    let mut stream = Stream::new();
    let actions = journey("user-5", 5);
    let now = NOW_MS;
    let old = stream.at(&actions[10], Timestamp::from_unix_ms(now - 73 * 3_600_000));
    let recent = stream.at(&actions[1], Timestamp::from_unix_ms(now - 71 * 3_600_000));
    let fresh = stream.at(&actions[0], Timestamp::from_unix_ms(now - 1000));

    let outcome = sink.send(&[old.clone(), recent, fresh]).await.unwrap();
    let Outcome::PartlyRejected(rejections) = outcome else {
        panic!("the old item is rejected: {outcome:?}");
    };
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].id, old.id());
    assert!(
        rejections[0].reason.contains("72 hours"),
        "{}",
        rejections[0].reason
    );
    receiver.assert_no_violations();
    let events = receiver.events();
    let names: Vec<_> = events
        .iter()
        .map(|(_, e)| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["add_to_cart", "page_view"]);
    assert_eq!(events[0].1["params"]["currency"], "USD");
    assert_eq!(
        events[0].1["timestamp_micros"],
        (NOW_MS - 71 * 3_600_000) * 1000
    );
}

#[tokio::test]
async fn a_batch_of_unknown_types_sends_nothing() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink("");
    let text = item_json(
        ItemId::new(5, 0),
        Timestamp::now(),
        "webshop:something_new",
        r#"{"ref":"x"}"#,
    );
    let item = ReceivedItem::from_raw(RawValue::from_string(text).unwrap()).unwrap();
    assert_eq!(sink.send(&[item]).await.unwrap(), Outcome::Accepted);
    assert!(receiver.requests().is_empty());
}
