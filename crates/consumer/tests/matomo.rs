//! The Matomo sink against a local `matomo.php` that enforces the tracking API's rules
//! (site, `rec=1`, a 16-hex visitor id, well-formed ecommerce requests) and ours (cart
//! updates carry the whole cart, orders their id and revenue).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use consumer::{MatomoConfig, MatomoSink, Outcome, ReceivedItem, Sink, SinkError};
use protocol::{
    Action, ItemId, Money, NumId, OrderAction, OrderState, PageView, ProductLine, ProductsChanged,
    Ref, TicketLine, TicketsChanged, Timestamp, item_json,
};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

const IDSITE: &str = "7";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

// ---------------------------------------------------------------------------------------
// The receiver

/// One tracking request as received, its parameters decoded.
type Params = HashMap<String, String>;

#[derive(Debug, Default)]
struct Seen {
    /// Per accepted POST: its tracking requests and its token.
    posts: Vec<(Vec<Params>, Option<String>)>,
    violations: Vec<String>,
    /// Statuses to answer the next POSTs with instead of accepting them (0: accept).
    script: VecDeque<u16>,
    /// Indices to report invalid in the next answer, as Matomo does for a super user.
    invalid_indices: Option<Vec<usize>>,
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
            .route("/analytics/matomo.php", post(track))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { addr, seen }
    }

    fn sink(&self, extra: &str) -> MatomoSink {
        let spec = format!("url=http://{}/analytics/,idsite={IDSITE}{extra}", self.addr);
        MatomoSink::new(MatomoConfig::parse(&spec).unwrap(), reqwest::Client::new())
    }

    fn script(&self, statuses: &[u16]) {
        self.seen.lock().unwrap().script.extend(statuses);
    }

    fn requests(&self) -> Vec<Params> {
        let seen = self.seen.lock().unwrap();
        seen.posts.iter().flat_map(|(r, _)| r.clone()).collect()
    }

    fn posts(&self) -> Vec<(Vec<Params>, Option<String>)> {
        self.seen.lock().unwrap().posts.clone()
    }

    fn assert_no_violations(&self) {
        let seen = self.seen.lock().unwrap();
        assert!(
            seen.violations.is_empty(),
            "Matomo rules broken:\n{}",
            seen.violations.join("\n")
        );
    }
}

async fn track(State(seen): State<Arc<Mutex<Seen>>>, body: String) -> (StatusCode, String) {
    let mut seen = seen.lock().unwrap();
    if let Some(status) = seen.script.pop_front()
        && status != 0
    {
        return (
            StatusCode::from_u16(status).unwrap(),
            "{\"status\":\"error\"}".into(),
        );
    }
    let mut violations = Vec::new();
    let Ok(bulk) = serde_json::from_str::<Value>(&body) else {
        seen.violations.push("body is not JSON".into());
        return (StatusCode::BAD_REQUEST, String::new());
    };
    let token = bulk["token_auth"].as_str().map(str::to_owned);
    let mut requests = Vec::new();
    for request in bulk["requests"].as_array().cloned().unwrap_or_default() {
        let Some(query) = request.as_str().and_then(|q| q.strip_prefix('?')) else {
            violations.push(format!("request {request} is not a query string"));
            continue;
        };
        let params: Params = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        check_request(&params, token.is_some(), &mut violations);
        requests.push(params);
    }
    if requests.is_empty() {
        violations.push("a bulk request without requests".into());
    }
    if !violations.is_empty() {
        let text = violations.join("; ");
        seen.violations.extend(violations);
        return (StatusCode::BAD_REQUEST, text);
    }
    let tracked = requests.len();
    seen.posts.push((requests, token));
    let answer = match seen.invalid_indices.take() {
        Some(indices) => serde_json::json!({
            "status": "success",
            "tracked": tracked - indices.len(),
            "invalid": indices.len(),
            "invalid_indices": indices,
        }),
        None => serde_json::json!({"status": "success", "tracked": tracked, "invalid": 0}),
    };
    (StatusCode::OK, answer.to_string())
}

/// The tracking API's rules for one request.
fn check_request(p: &Params, authenticated: bool, violations: &mut Vec<String>) {
    if p.get("idsite").map(String::as_str) != Some(IDSITE) {
        violations.push(format!("idsite is {:?}", p.get("idsite")));
    }
    if p.get("rec").map(String::as_str) != Some("1") {
        violations.push("rec=1 missing".into());
    }
    match p.get("_id") {
        Some(id) if id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()) => {}
        other => violations.push(format!("_id {other:?} is not 16 hex characters")),
    }
    match p.get("cdt").map(|c| c.parse::<i64>()) {
        Some(Ok(cdt)) => {
            let age = Timestamp::now().unix_ms() / 1000 - cdt;
            if age > 24 * 3600 && !authenticated {
                violations.push(format!("cdt {age} s in the past without token_auth"));
            }
        }
        _ => violations.push("cdt missing or not a Unix time".into()),
    }
    if p.contains_key("idgoal") {
        if p["idgoal"] != "0" {
            violations.push("ecommerce requests need idgoal=0".into());
        }
        if p.get("revenue").is_none_or(|r| r.parse::<f64>().is_err()) {
            violations.push("ecommerce request without a numeric revenue".into());
        }
        if p.get("ec_id").is_some_and(String::is_empty) {
            violations.push("order with an empty ec_id".into());
        }
        match p.get("ec_items").map(|i| serde_json::from_str::<Value>(i)) {
            Some(Ok(Value::Array(items))) => {
                for item in items {
                    let ok = item.as_array().is_some_and(|f| {
                        f.len() == 5
                            && f[0].as_str().is_some_and(|s| !s.is_empty())
                            && f[1].is_string()
                            && f[2].is_string()
                            && f[3].is_number()
                            && f[4].is_u64()
                    });
                    if !ok {
                        violations.push(format!(
                            "ec_items entry {item} is not [sku,name,category,price,qty]"
                        ));
                    }
                }
            }
            _ => violations.push("ecommerce request without ec_items".into()),
        }
    }
    if p.contains_key("e_c") && p.get("e_a").is_none_or(|a| a.trim().is_empty()) {
        violations.push("event without an action".into());
    }
    if !p.contains_key("idgoal") && !p.contains_key("e_c") && !p.contains_key("action_name") {
        violations.push(format!("request that tracks nothing: {p:?}"));
    }
}

// ---------------------------------------------------------------------------------------
// Items

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

fn ticket(line: u64, ttp: u64, price: &str, pricetype: &str) -> TicketLine {
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
        eventname: "Dance performance 2".into(),
    }
}

fn product(line: u64) -> ProductLine {
    ProductLine {
        id: NumId(line),
        productid: NumId(10000),
        price: money("25"),
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
    params.insert(
        "returnurl".to_owned(),
        Some("https://integrator.example/?u=1".to_owned()),
    );
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
    let (t1, t2, t3) = (
        ticket(1, 580, "20", "Normal"),
        ticket(2, 580, "20", "Normal"),
        ticket(3, 581, "12.5", "Reduced"),
    );
    let (v1, v2) = (product(4), product(5));
    let two = [t1.clone(), t2.clone()];
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
    let full = order(order_id, &two, std::slice::from_ref(&v1));
    let step = OrderAction {
        order: full.clone(),
        reference: r.clone(),
    };
    vec![
        page_view("addtickets", &r),
        Action::AddTickets(tickets(
            &[t1.clone(), t2.clone(), t3.clone()],
            order(order_id, &[t1.clone(), t2.clone(), t3.clone()], &[]),
        )),
        Action::RemoveTickets(tickets(&[t3], order(order_id, &two, &[]))),
        Action::AddProducts(products(
            &[v1.clone(), v2.clone()],
            order(order_id, &two, &[v1.clone(), v2.clone()]),
        )),
        Action::RemoveProducts(products(&[v2], full.clone())),
        Action::CheckoutStart(step.clone()),
        Action::CheckoutAddCustomerInfo(step.clone()),
        Action::CheckoutAddDeliveryInfo(step.clone()),
        Action::CheckoutAddPaymentInfo(step.clone()),
        Action::CheckoutInitiatePayment(step.clone()),
        Action::CheckoutConfirm(step),
        page_view("orderdetail", &r),
    ]
}

/// Item ids and timestamps one second apart, starting an hour ago.
struct Stream {
    next: u64,
    start_ms: i64,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            next: 0,
            start_ms: (Timestamp::now().unix_ms() - 3_600_000) / 1000 * 1000,
        }
    }

    fn item(&mut self, action: &Action) -> ReceivedItem {
        let ts = Timestamp::from_unix_ms(self.start_ms + 1000 * self.next as i64);
        self.at(action, ts)
    }

    fn at(&mut self, action: &Action, ts: Timestamp) -> ReceivedItem {
        self.next += 1;
        let id = ItemId::new(1_700_000_000_000 + self.next, 0);
        let text = item_json(id, ts, action.action_type().as_str(), &action.data_json());
        ReceivedItem::from_raw(RawValue::from_string(text).unwrap()).unwrap()
    }

    fn items(&mut self, actions: &[Action]) -> Vec<ReceivedItem> {
        actions.iter().map(|a| self.item(a)).collect()
    }
}

fn visitor_id(reference: &str) -> String {
    hex::encode(&Sha256::digest(reference.as_bytes())[..8])
}

/// The request that an item became: same visitor, same second.
fn request_for<'a>(requests: &'a [Params], item: &ReceivedItem, action: &Action) -> &'a Params {
    let cdt = (item.ts().unix_ms() / 1000).to_string();
    let id = visitor_id(action.reference().as_str());
    let found: Vec<&Params> = requests
        .iter()
        .filter(|p| p["cdt"] == cdt && p["_id"] == id)
        .collect();
    assert_eq!(found.len(), 1, "requests for item {}", item.id());
    found[0]
}

/// `(sku, quantity)` and the sum of price × quantity of an `ec_items` value.
fn cart(p: &Params) -> (Vec<(String, u64)>, f64) {
    let items: Vec<Value> = serde_json::from_str(&p["ec_items"]).unwrap();
    let lines = items
        .iter()
        .map(|i| (i[0].as_str().unwrap().to_owned(), i[4].as_u64().unwrap()))
        .collect();
    let sum = items
        .iter()
        .map(|i| i[3].as_f64().unwrap() * i[4].as_f64().unwrap())
        .sum();
    (lines, sum)
}

fn order_of(action: &Action) -> &OrderState {
    match action {
        Action::AddTickets(t) | Action::RemoveTickets(t) => &t.order,
        Action::AddProducts(p) | Action::RemoveProducts(p) => &p.order,
        Action::CheckoutStart(o)
        | Action::CheckoutAddCustomerInfo(o)
        | Action::CheckoutAddDeliveryInfo(o)
        | Action::CheckoutAddPaymentInfo(o)
        | Action::CheckoutInitiatePayment(o)
        | Action::CheckoutConfirm(o) => &o.order,
        Action::PageView(_) => panic!("a page view has no order"),
    }
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn a_whole_journey_arrives_by_the_rules() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink("");
    let mut stream = Stream::new();
    let mut actions = journey("user12345", 398);
    actions.extend(journey("ref with spaces & ünïcode", 399));
    let mut items = stream.items(&actions);
    let unknown = item_json(
        ItemId::new(1_800_000_000_000, 0),
        Timestamp::now(),
        "webshop:wishlist_add",
        r#"{"ref":"user12345"}"#,
    );
    items.push(ReceivedItem::from_raw(RawValue::from_string(unknown).unwrap()).unwrap());

    assert_eq!(sink.send(&items).await.unwrap(), Outcome::Accepted);
    receiver.assert_no_violations();
    let requests = receiver.requests();
    assert_eq!(requests.len(), actions.len());
    assert_eq!(receiver.posts()[0].1, None);

    for (item, action) in items.iter().zip(&actions) {
        let p = request_for(&requests, item, action);
        assert_eq!(
            p.get("uid").map(String::as_str),
            Some(action.reference().as_str())
        );
        match action {
            Action::PageView(pv) => {
                let title = if pv.page == "addtickets" {
                    "Add tickets"
                } else {
                    "Order detail"
                };
                assert_eq!(p["action_name"], format!("Webshop / {title}"));
                assert_eq!(
                    p["url"],
                    format!("https://webshop.invalid/{}?event=10003", pv.page)
                );
            }
            Action::AddTickets(_)
            | Action::RemoveTickets(_)
            | Action::AddProducts(_)
            | Action::RemoveProducts(_) => {
                // The whole cart, not just the lines of this action.
                let order = order_of(action);
                let (lines, sum) = cart(p);
                let count: u64 = lines.iter().map(|(_, q)| q).sum();
                assert_eq!(count as usize, order.tickets.len() + order.products.len());
                assert_eq!(sum, order.totalamount.to_string().parse::<f64>().unwrap());
                assert_eq!(p["revenue"], order.totalamount.to_string());
                assert!(!p.contains_key("ec_id"));
            }
            Action::CheckoutConfirm(o) => {
                assert_eq!(p["idgoal"], "0");
                assert_eq!(p["ec_id"], o.order.id.to_string());
                assert_eq!(p["revenue"], "68");
                let (lines, sum) = cart(p);
                assert_eq!(
                    lines,
                    [
                        ("ticket-580".to_owned(), 2),
                        ("product-10000".to_owned(), 1)
                    ]
                );
                assert_eq!(sum, 68.0);
            }
            other => {
                assert_eq!(p["e_c"], "checkout");
                let step = other
                    .action_type()
                    .as_str()
                    .replace("webshop:checkout_", "");
                assert_eq!(p["e_a"], step);
                assert_eq!(p["e_v"], "68");
                assert!(!p.contains_key("idgoal"));
            }
        }
    }
    // The first add: three tickets on two price rows.
    let first_add = request_for(&requests, &items[1], &actions[1]);
    assert_eq!(
        cart(first_add).0,
        [("ticket-580".to_owned(), 2), ("ticket-581".to_owned(), 1)]
    );
}

#[tokio::test]
async fn many_items_go_in_several_bulk_posts_in_order() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink("");
    let mut stream = Stream::new();
    let r = Ref::parse("reader").unwrap();
    let actions: Vec<Action> = (0..230).map(|_| page_view("summary", &r)).collect();
    let items = stream.items(&actions);
    assert_eq!(sink.send(&items).await.unwrap(), Outcome::Accepted);
    receiver.assert_no_violations();
    let sizes: Vec<usize> = receiver.posts().iter().map(|(r, _)| r.len()).collect();
    assert_eq!(sizes, [100, 100, 30]);
    let cdts: Vec<i64> = receiver
        .requests()
        .iter()
        .map(|p| p["cdt"].parse().unwrap())
        .collect();
    assert!(cdts.windows(2).all(|w| w[0] < w[1]), "chronological order");
}

#[tokio::test]
async fn items_older_than_a_day_need_a_token() {
    let mut stream = Stream::new();
    let actions = journey("late-shopper", 42);
    let now = Timestamp::now().unix_ms() / 1000 * 1000;
    let old = stream.at(&actions[1], Timestamp::from_unix_ms(now - 30 * 3_600_000));
    let fresh = stream.at(&actions[0], Timestamp::from_unix_ms(now - 60_000));
    let batch = [old.clone(), fresh];

    let receiver = Receiver::start().await;
    let outcome = receiver.sink("").send(&batch).await.unwrap();
    let Outcome::PartlyRejected(rejections) = outcome else {
        panic!("without a token the old item is rejected: {outcome:?}");
    };
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].id, old.id());
    assert!(rejections[0].reason.contains("token_auth"));
    assert_eq!(receiver.requests().len(), 1);

    let receiver = Receiver::start().await;
    let mut sink = receiver.sink(&format!(",token_auth={TOKEN}"));
    assert_eq!(sink.send(&batch).await.unwrap(), Outcome::Accepted);
    receiver.assert_no_violations();
    let posts = receiver.posts();
    assert_eq!(posts[0].1.as_deref(), Some(TOKEN));
    assert_eq!(posts[0].0.len(), 2);
    assert_eq!(
        posts[0].0[0]["cdt"],
        ((now - 30 * 3_600_000) / 1000).to_string()
    );
}

#[tokio::test]
async fn server_errors_are_retryable_and_client_errors_permanent() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink(&format!(",token_auth={TOKEN}"));
    let mut stream = Stream::new();
    let items = stream.items(&journey("user-3", 3));
    for (status, retryable) in [
        (500, true),
        (503, true),
        (429, true),
        (400, false),
        (401, false),
    ] {
        receiver.script(&[status]);
        match (sink.send(&items).await, retryable) {
            (Err(SinkError::Retryable(_)), true) => {}
            (Err(SinkError::Permanent(m)), false) => assert!(!m.contains(TOKEN), "{m}"),
            (other, _) => panic!("HTTP {status} gave {other:?}"),
        }
    }
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_retry_does_not_repeat_posts_that_went_through() {
    let receiver = Receiver::start().await;
    let mut sink = receiver.sink("");
    let mut stream = Stream::new();
    let r = Ref::parse("reader").unwrap();
    let actions: Vec<Action> = (0..150).map(|_| page_view("summary", &r)).collect();
    let items = stream.items(&actions);
    receiver.script(&[0, 502]);
    assert!(matches!(
        sink.send(&items).await,
        Err(SinkError::Retryable(_))
    ));
    assert_eq!(sink.send(&items).await.unwrap(), Outcome::Accepted);
    let sizes: Vec<usize> = receiver.posts().iter().map(|(r, _)| r.len()).collect();
    assert_eq!(sizes, [100, 50]);
}

#[tokio::test]
async fn requests_matomo_reports_invalid_are_rejected() {
    let receiver = Receiver::start().await;
    receiver.seen.lock().unwrap().invalid_indices = Some(vec![1, 3]);
    let mut sink = receiver.sink(&format!(",token_auth={TOKEN}"));
    let mut stream = Stream::new();
    let items = stream.items(&journey("user-9", 9));
    let Outcome::PartlyRejected(rejections) = sink.send(&items).await.unwrap() else {
        panic!("invalid requests are rejected");
    };
    let ids: Vec<ItemId> = rejections.iter().map(|r| r.id).collect();
    assert_eq!(ids, [items[1].id(), items[3].id()]);
}

#[tokio::test]
async fn the_health_check_finds_a_wrong_url() {
    let receiver = Receiver::start().await;
    assert!(receiver.sink("").health_check().await.is_ok());
    let spec = format!("url=http://{}/wrong/,idsite=1", receiver.addr);
    let mut wrong = MatomoSink::new(MatomoConfig::parse(&spec).unwrap(), reqwest::Client::new());
    match wrong.health_check().await {
        Err(SinkError::Permanent(m)) => assert!(m.contains("/wrong/matomo.php"), "{m}"),
        other => panic!("a wrong url gave {other:?}"),
    }
}
