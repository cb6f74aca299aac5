//! Black-box journeys through the real webshop pages over HTTP, checked against the
//! eventstream: the exact items of a tracked purchase, nothing for an untracked one,
//! signatures, hostile refs, refused changes and concurrent buyers.

#![allow(clippy::unwrap_used)]

mod pages_support;

use std::sync::Arc;
use std::time::Duration;

use pages_support::{Shopper, enc, kinds, spawn_shop};
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use serde_json::Value;

/// A whole purchase that produces all 11 types, with one cancelled payment on the way.
async fn full_journey(shopper: &mut Shopper<'_>, reference: Option<&str>) {
    let flow = shopper.shop.flow_url(reference);
    let page = shopper.visit(&flow).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Dance performance 2"));
    shopper
        .submit(
            "/shop/tickets",
            &[("event", "10003"), ("q_580", "2"), ("q_581", "0")],
        )
        .await;
    // Back to the tickets page, fewer Normal, one Reduced: remove then add.
    shopper
        .visit("/widgets/demo/shop/tickets?event=10003")
        .await;
    shopper
        .submit(
            "/shop/tickets",
            &[("event", "10003"), ("q_580", "1"), ("q_581", "1")],
        )
        .await;
    shopper
        .submit(
            "/shop/basket/products",
            &[("product", "10000"), ("qty", "2")],
        )
        .await;
    shopper
        .submit(
            "/shop/basket/products",
            &[("product", "10000"), ("qty", "1")],
        )
        .await;
    let page = shopper.submit("/shop/checkout/start", &[]).await;
    assert!(page.body.contains("checkout-details"));
    // The customer, delivery and payment panels: one form, one request.
    let checkout = [
        ("name", "Ann Smith"),
        ("email", "ann@example.org"),
        ("deliveryscenario", "10000"),
        ("paymentscenario", "10001"),
    ];
    let psp = shopper.submit("/shop/checkout", &checkout).await;
    assert!(psp.body.contains("psp-paid"));
    let token_path = psp_path(&psp.body);
    let back = shopper.post(&token_path, &[("outcome", "cancelled")]).await;
    assert!(back.location().ends_with("/shop/checkout?msg=cancelled"));
    shopper.visit(back.location()).await;
    let psp = shopper.submit("/shop/checkout", &checkout).await;
    let token_path = psp_path(&psp.body);
    let order = shopper.submit(&token_path, &[("outcome", "paid")]).await;
    assert_eq!(order.status, StatusCode::OK);
    assert!(order.body.contains(r#"id="confirmed""#), "{}", order.body);
    assert!(
        order
            .body
            .contains("<span class=\"amount\" id=\"total\">€\u{a0}132.50</span>"),
        "{}",
        order.body
    );
}

fn psp_path(body: &str) -> String {
    let start = body.find(r#"action="/widgets/demo/psp/"#).unwrap() + 21;
    let rest = &body[start..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn a_tracked_journey_yields_exactly_its_items() {
    let shop = spawn_shop().await;
    let mut shopper = Shopper::new(&shop);
    full_journey(&mut shopper, Some("user12345")).await;

    let expected = [
        "pageview:addtickets",
        "add_tickets",
        "pageview:summary",
        "pageview:addtickets",
        "remove_tickets",
        "add_tickets",
        "pageview:summary",
        "add_products",
        "pageview:summary",
        "remove_products",
        "pageview:summary",
        "checkout_start",
        "pageview:checkout",
        "checkout_addcustomerinfo",
        "checkout_adddeliveryinfo",
        "checkout_addpaymentinfo",
        "checkout_initiatepayment",
        "pageview:checkout",
        "checkout_initiatepayment",
        "checkout_confirm",
        "pageview:orderdetail",
    ];
    let items = shop.items(expected.len()).await;
    assert_eq!(kinds(&items), expected);

    let mut last_id = (0u64, 0u64);
    for item in &items {
        let id = item["id"].as_str().unwrap();
        let (ms, seq) = id.split_once('-').unwrap();
        let id = (ms.parse().unwrap(), seq.parse().unwrap());
        assert!(id > last_id, "ids ascend");
        last_id = id;
        assert_eq!(item["data"]["ref"], "user12345");
        assert!(item["ts"].as_str().unwrap().len() == 19);
        let text = item.to_string();
        assert!(
            !text.contains("Ann") && !text.contains("ann@example.org"),
            "no PII"
        );
    }

    let pv = &items[0]["data"];
    assert_eq!(pv["page"], "addtickets");
    assert_eq!(pv["orderid"], Value::Null);
    assert_eq!(pv["customerid"], Value::Null);
    let params = pv["params"].as_object().unwrap();
    assert_eq!(params["event"], "10003");
    assert_eq!(params["flow"], "basketwithcheckout");
    assert_eq!(params["saleschannelid"], "10000");
    assert_eq!(params["promocode"], Value::Null);
    for excluded in ["ref", "l", "accesskey", "signature"] {
        assert!(!params.contains_key(excluded), "{excluded}");
    }

    let add = &items[1]["data"];
    let tickets = add["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2);
    assert_eq!(
        tickets[0],
        serde_json::json!({
            "id": tickets[0]["id"], "price": "20", "servicecharge": "0",
            "tickettypepriceid": "580", "tickettypeid": "92", "tickettypename": "Tickets",
            "pricetypeid": "10000", "pricetypename": "Normal",
            "eventid": "10003", "eventname": "Dance performance 2"
        })
    );
    let order = &add["order"];
    let keys: Vec<&str> = order
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.len(),
        8,
        "order has exactly the contract's keys: {keys:?}"
    );
    assert_eq!(order["totalamount"], "40");
    assert_eq!(order["products"], serde_json::json!([]));
    let order_id = order["id"].clone();
    assert_eq!(items[2]["data"]["orderid"], order_id);

    // Changing 2 Normal into 1 Normal + 1 Reduced removes one line and adds one.
    let removed = items[4]["data"]["tickets"].as_array().unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["id"], tickets[1]["id"]);
    assert_eq!(items[4]["data"]["order"]["totalamount"], "20");
    let added = items[5]["data"]["tickets"].as_array().unwrap();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["pricetypename"], "Reduced");
    assert_eq!(items[5]["data"]["order"]["totalamount"], "32.5");

    assert_eq!(items[7]["data"]["products"].as_array().unwrap().len(), 2);
    assert_eq!(items[7]["data"]["order"]["totalamount"], "232.5");
    assert_eq!(items[9]["data"]["products"].as_array().unwrap().len(), 1);

    let confirm = &items[19]["data"]["order"];
    assert_eq!(confirm["id"], order_id);
    assert_eq!(confirm["totalamount"], "132.5");
    assert_eq!(confirm["deliveryscenarioid"], "10000");
    assert_eq!(confirm["paymentscenarioid"], "10001");
    assert!(confirm["customerid"].is_string());
    assert_eq!(items[20]["data"]["customerid"], confirm["customerid"]);
    assert_eq!(items[20]["data"]["orderid"], order_id);
}

#[tokio::test]
async fn an_untracked_journey_yields_nothing() {
    let shop = spawn_shop().await;
    let mut shopper = Shopper::new(&shop);
    full_journey(&mut shopper, None).await;
    // A tracked marker after it: once it is readable, the relay has passed the journey.
    let mut marker = Shopper::new(&shop);
    marker.visit(&shop.flow_url(Some("marker"))).await;
    let items = shop.items(1).await;
    assert_eq!(kinds(&items), ["pageview:addtickets"]);
    assert_eq!(items[0]["data"]["ref"], "marker");
}

#[tokio::test]
async fn hostile_refs_round_trip_unaltered_and_never_reach_a_page() {
    let shop = spawn_shop().await;
    let refs = [
        "<script>alert('x')</script>".to_owned(),
        r#"" onmouseover="x" '&amp;%00\"#.to_owned(),
        "😀".repeat(128),
        "a+b c/d?e=f&g#h".to_owned(),
    ];
    for r in &refs {
        assert!(r.len() <= 512);
        let mut shopper = Shopper::new(&shop);
        let page = shopper.visit(&shop.flow_url(Some(r))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains(r.as_str()), "the ref is never rendered");
    }
    let items = shop.items(refs.len()).await;
    let got: Vec<&str> = items
        .iter()
        .map(|i| i["data"]["ref"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = refs.iter().map(String::as_str).collect();
    assert_eq!(got, want);

    // Too long or not UTF-8: a clear 400 page, and nothing stored.
    let mut shopper = Shopper::new(&shop);
    let too_long = "😀".repeat(128) + "x";
    for bad in [
        format!(
            "/widgets/demo/flow/saleslink?event=10003&ref={}",
            enc(&too_long)
        ),
        "/widgets/demo/flow/saleslink?event=10003&ref=%FF%FE".to_owned(),
    ] {
        let page = shopper.get(&bad).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("ref"), "{}", page.body);
        assert!(page.headers.get(SET_COOKIE).is_none());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(shop.read_all().await.len(), refs.len());
}

#[tokio::test]
async fn widget_signatures_are_checked() {
    let shop = spawn_shop().await;
    let widget = &shop.demo.widget;
    let params = vec![("event".to_owned(), "10003".to_owned())];
    let signed = protocol::widget_url(
        "",
        "demo",
        "addtickets",
        &params,
        &widget.accesskey,
        &widget.secretkey,
        None,
    );
    let mut shopper = Shopper::new(&shop);
    assert_eq!(shopper.get(&signed).await.status, StatusCode::SEE_OTHER);
    // Appending ref to a signed link keeps it valid.
    let page = shopper.visit(&format!("{signed}&ref=w1")).await;
    assert_eq!(page.status, StatusCode::OK);

    let api = &shop.demo.api;
    let with_api_key = protocol::widget_url(
        "",
        "demo",
        "addtickets",
        &params,
        &api.accesskey,
        &api.secretkey,
        None,
    );
    let bad = [
        "/widgets/demo/addtickets?event=10003".to_owned(),
        signed.replace("event=10003", "event=10004"),
        format!("{}0", signed),
        signed.replace("signature=", "signature=0"),
        with_api_key,
        signed.replace("/demo/", "/other/"),
    ];
    for url in bad {
        let page = Shopper::new(&shop).get(&url).await;
        assert!(
            page.status == StatusCode::FORBIDDEN || page.status == StatusCode::NOT_FOUND,
            "{url}: {}",
            page.status
        );
        assert!(page.headers.get(SET_COOKIE).is_none(), "{url}");
    }
    let page = Shopper::new(&shop)
        .get(&signed.replace("event=10003", "event=10004"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("not signed correctly"));
    let items = shop.items(1).await;
    assert_eq!(kinds(&items), ["pageview:addtickets"]);
}

#[tokio::test]
async fn refused_changes_record_nothing() {
    let shop = spawn_shop().await;
    let mut shopper = Shopper::new(&shop);
    shopper
        .visit("/widgets/demo/flow/saleslink?event=10005&ref=r")
        .await;
    // More seats than the event has: refused with a message, no item.
    let page = shopper
        .post("/shop/tickets", &[("event", "10005"), ("q_600", "7")])
        .await;
    assert!(page.location().contains("msg=soldout"));
    let page = shopper.visit(page.location()).await;
    assert!(page.body.contains("Not enough seats"));
    // A form without the session's CSRF token changes nothing.
    let url = format!("{}/widgets/demo/shop/tickets", shop.base);
    let forged = shop
        .http
        .post(url)
        .header("cookie", shopper.cookie.clone().unwrap())
        .form(&[
            ("csrf", "0".repeat(32).as_str()),
            ("event", "10005"),
            ("q_600", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Malformed input: 400, nothing changes.
    let url = format!("{}/widgets/demo/shop/tickets", shop.base);
    let csrf = shopper.csrf.clone();
    let malformed = shop
        .http
        .post(url)
        .header("cookie", shopper.cookie.clone().unwrap())
        .form(&[
            ("csrf", csrf.as_str()),
            ("event", "10005"),
            ("q_600", "lots"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    // An oversized body never reaches a handler.
    let huge = "x".repeat(200_000);
    let oversized = shop
        .http
        .post(format!("{}/widgets/demo/shop/tickets", shop.base))
        .header("cookie", shopper.cookie.clone().unwrap())
        .form(&[("csrf", csrf.as_str()), ("junk", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A form larger than a page takes, though under the server's limit: 413 too.
    let large = "x".repeat(40_000);
    let oversized = shop
        .http
        .post(format!("{}/widgets/demo/shop/tickets", shop.base))
        .header("cookie", shopper.cookie.clone().unwrap())
        .form(&[
            ("csrf", csrf.as_str()),
            ("event", "10005"),
            ("q_600", "1"),
            ("junk", large.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(oversized.text().await.unwrap().contains("at most 16 KiB"));
    // The same fields as JSON: not a form, 415.
    let json = shop
        .http
        .post(format!("{}/widgets/demo/shop/tickets", shop.base))
        .header("cookie", shopper.cookie.clone().unwrap())
        .json(&serde_json::json!({"csrf": csrf, "event": "10005", "q_600": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        json.text()
            .await
            .unwrap()
            .contains("this page takes a form")
    );

    tokio::time::sleep(Duration::from_millis(200)).await;
    let items = shop.read_all().await;
    assert_eq!(
        kinds(&items),
        ["pageview:addtickets", "pageview:addtickets"],
        "only the two page views"
    );
    let page = shopper
        .visit("/widgets/demo/shop/tickets?event=10005")
        .await;
    assert!(page.body.contains(r#"<span id="available">6</span>"#));
}

#[tokio::test]
async fn concurrent_buyers_over_http_never_oversell() {
    let shop = Arc::new(spawn_shop().await);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let shop = Arc::clone(&shop);
        tasks.push(tokio::spawn(async move {
            let mut shopper = Shopper::new(&shop);
            shopper
                .visit(&format!(
                    "/widgets/demo/flow/saleslink?event=10005&ref=buyer{i}"
                ))
                .await;
            let page = shopper
                .post("/shop/tickets", &[("event", "10005"), ("q_600", "1")])
                .await;
            !page.location().contains("msg=")
        }));
    }
    let mut sold = 0;
    for task in tasks {
        if task.await.unwrap() {
            sold += 1;
        }
    }
    assert_eq!(sold, 6, "exactly the capacity is sold");
    let items = shop.items(24 + 6).await;
    let added: usize = items
        .iter()
        .filter(|i| i["type"] == "webshop:add_tickets")
        .map(|i| i["data"]["tickets"].as_array().unwrap().len())
        .sum();
    assert_eq!(added, 6);
}

#[tokio::test]
async fn pages_carry_strict_headers_and_one_essential_cookie() {
    let shop = spawn_shop().await;
    let mut shopper = Shopper::new(&shop);
    let entry = shopper.get(&shop.flow_url(Some("h"))).await;
    let cookies: Vec<&str> = entry
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 1);
    assert!(cookies[0].starts_with("ts_session="));
    assert!(cookies[0].contains("HttpOnly") && cookies[0].contains("SameSite=Lax"));
    assert!(
        !entry.location().contains("ref="),
        "the ref leaves the address bar"
    );

    let page = shopper.visit(entry.location()).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"));
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(page.headers.get(SET_COOKIE).is_none());
    assert!(!page.body.contains("<script"));
    assert!(!page.body.contains("http://") && !page.body.contains("https://"));

    // Over HTTPS (behind a proxy) the cookie is Secure.
    let response = shop
        .http
        .get(format!("{}{}", shop.base, shop.flow_url(None)))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure")
    );

    // Dutch pages.
    let mut nl = Shopper::new(&shop);
    let page = nl
        .visit("/widgets/demo/flow/saleslink?event=10003&l=nl")
        .await;
    assert!(page.body.contains(r#"lang="nl""#) && page.body.contains("In winkelmandje"));
}
