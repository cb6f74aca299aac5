//! The pages hold the shop's integrity against forged and repeated requests: every form
//! goes through one checked extractor, a payment pays for exactly its order, repeated
//! payment steps lead to the same place, return URLs are followed only when allowed,
//! and one address cannot flood the shop.

#![allow(clippy::unwrap_used)]

mod pages_support;

use std::net::{IpAddr, Ipv4Addr};

use pages_support::{Shopper, TestShop, kinds, spawn_shop, spawn_shop_with};
use reqwest::StatusCode;
use server::AppConfig;
use shop::OrderStatus;

/// A shopper of the sales flow of event 10003 with `ref`, holding `normal` tickets.
async fn shopper_with_tickets<'a>(shop: &'a TestShop, reference: &str, normal: u32) -> Shopper<'a> {
    let mut s = Shopper::new(shop);
    s.visit(&shop.flow_url(Some(reference))).await;
    let n = normal.to_string();
    s.submit(
        "/shop/tickets",
        &[("event", "10003"), ("q_580", &n), ("q_581", "0")],
    )
    .await;
    s
}

/// The checkout form with the customer, delivery and payment panels.
const CHECKOUT: [(&str, &str); 4] = [
    ("name", "Ann"),
    ("email", "ann@example.org"),
    ("deliveryscenario", "10000"),
    ("paymentscenario", "10000"),
];

/// The checkout form, submitted: the provider's path.
async fn to_the_provider(s: &mut Shopper<'_>) -> String {
    let pay = s.post("/shop/checkout", &CHECKOUT).await;
    let psp = pay.location().to_owned();
    assert!(psp.contains("/psp/"), "{psp}");
    psp.trim_start_matches("/widgets/demo").to_owned()
}

async fn taken(shop: &TestShop, event: u64) -> i64 {
    let demo = protocol::AccountName::parse("demo").unwrap();
    let counts = shop.store.seat_counts(&demo).await.unwrap();
    let c = counts.iter().find(|c| c.event.0 == event).unwrap();
    assert_eq!(c.taken, c.held, "{c:?}");
    c.taken
}

#[tokio::test]
async fn forged_forms_get_a_400_and_change_nothing() {
    let shop = spawn_shop().await;
    let mut s = shopper_with_tickets(&shop, "forger", 3).await;
    s.visit("/widgets/demo/shop/tickets?event=10003").await;
    let csrf = s.csrf.clone();
    assert_eq!(taken(&shop, 10003).await, 3);
    let forged = [
        ("/shop/tickets", "event=10003&q_580=0&q_580=0"),
        ("/shop/tickets", "event=10003&q_0580=50&q_580=50"),
        ("/shop/tickets", "event=10003&q_580=%2B5"),
        ("/shop/tickets", "event=10003&q_580=%205"),
        ("/shop/tickets", "event=10003&q_580=05"),
        ("/shop/tickets", "event=10003&q_580=99999999999999"),
        ("/shop/tickets", "event=10003&q_580=1&admin=1"),
        ("/shop/basket/tickets", "event=10003&q_580=0&q_580=0"),
        ("/shop/basket/products", "product=10000&qty=1&qty=1"),
        ("/shop/basket/products", "product=10000&qty=01"),
        ("/shop/checkout/start", "extra=1"),
        ("/shop/checkout", "deliveryscenario=010000"),
        ("/shop/checkout", "name=a&name=b"),
        ("/shop/language", "lang=fr"),
    ];
    for (path, body) in forged {
        let page = s.post_body(path, format!("csrf={csrf}&{body}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path} {body}");
        assert!(page.body.contains("form field"), "{}", page.body);
    }
    // Without the session's token, nothing is even read.
    for path in ["/shop/tickets", "/shop/checkout", "/shop/basket/products"] {
        let page = s.post_body(path, "event=10003&q_580=0".into()).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        let page = s
            .post_body(
                path,
                "csrf=00000000000000000000000000000000&event=10003&q_580=0".into(),
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Too many of one price is a rule, shown on the page; still nothing changes.
    let page = s
        .post_body("/shop/tickets", format!("csrf={csrf}&event=10003&q_580=51"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().contains("msg=invalid"));
    assert_eq!(taken(&shop, 10003).await, 3);
    let items = shop.items(4).await;
    assert_eq!(
        kinds(&items),
        [
            "pageview:addtickets",
            "add_tickets",
            "pageview:summary",
            "pageview:addtickets"
        ]
    );
}

#[tokio::test]
async fn a_payment_pays_for_exactly_the_order_it_started_with() {
    let shop = spawn_shop().await;
    let mut s = shopper_with_tickets(&shop, "payer", 1).await;
    let psp = to_the_provider(&mut s).await;
    let page = s.visit(&format!("/widgets/demo{psp}")).await;
    assert!(page.body.contains("20"), "{}", page.body);
    // Ten more tickets while the payment of 20 is open.
    s.visit("/widgets/demo/shop/tickets?event=10003").await;
    s.post("/shop/tickets", &[("event", "10003"), ("q_580", "11")])
        .await;
    let answer = s.post(&psp, &[("outcome", "paid")]).await;
    assert!(
        answer.location().contains("msg=closed"),
        "{}",
        answer.location()
    );
    let demo = protocol::AccountName::parse("demo").unwrap();
    let order = shop
        .store
        .current_order(&demo, s.session_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.status, OrderStatus::Open);
    assert!(!kinds(&shop.read_all().await).contains(&"checkout_confirm".to_owned()));
}

#[tokio::test]
async fn paying_twice_and_going_back_lead_to_the_paid_order() {
    let shop = spawn_shop().await;
    let mut s = shopper_with_tickets(&shop, "twice", 2).await;
    let psp = to_the_provider(&mut s).await;
    // "Pay now" again: the same payment.
    let again = s.post("/shop/checkout", &CHECKOUT).await;
    assert_eq!(again.location(), format!("/widgets/demo{psp}"));
    s.visit(&format!("/widgets/demo{psp}")).await;
    let first = s.post(&psp, &[("outcome", "paid")]).await;
    assert!(
        first.location().contains("/shop/order/"),
        "{}",
        first.location()
    );
    let second = s.post(&psp, &[("outcome", "paid")]).await;
    assert_eq!(second.location(), first.location());
    // The back button to any page of the paid order shows the order.
    for page in [
        "/widgets/demo/shop/tickets?event=10003",
        "/widgets/demo/shop/basket",
        "/widgets/demo/shop/checkout",
        &format!("/widgets/demo{psp}"),
    ] {
        let answer = s.get(page).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(answer.location(), first.location(), "{page}");
    }
    let shown = s.visit(first.location()).await;
    assert!(shown.body.contains(r#"id="confirmed""#));
    let items = shop.read_all().await;
    let k = kinds(&items);
    assert_eq!(
        k.iter()
            .filter(|k| *k == "checkout_initiatepayment")
            .count(),
        1
    );
    assert_eq!(k.iter().filter(|k| *k == "checkout_confirm").count(), 1);
}

#[tokio::test]
async fn returnurl_is_followed_only_when_signed_or_listed() {
    let shop = spawn_shop().await;
    // Unsigned, a host the catalog does not list: ignored.
    let mut evil = Shopper::new(&shop);
    let page = evil
        .visit("/widgets/demo/flow/saleslink?event=10003&returnurl=https%3A%2F%2Fevil.example%2F&flow=return")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("evil.example"));
    assert_eq!(
        evil.get("/widgets/demo/shop/return").await.status,
        StatusCode::NOT_FOUND
    );
    evil.visit("/widgets/demo/shop/tickets?event=10003").await;
    let after = evil
        .post("/shop/tickets", &[("event", "10003"), ("q_580", "1")])
        .await;
    assert!(
        after.location().ends_with("/shop/basket"),
        "{}",
        after.location()
    );

    // Unsigned, a host listed in the catalog's return_hosts: followed.
    let mut listed = Shopper::new(&shop);
    let page = listed
        .visit(
            "/widgets/demo/flow/saleslink?event=10003&returnurl=https%3A%2F%2Fshop.example%2Fdone",
        )
        .await;
    assert!(page.body.contains("https://shop.example/done"));
    let back = listed.visit("/widgets/demo/shop/return").await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(back.body.contains("https://shop.example/done"));

    // Signed by the account: any host the integrator chose.
    let widget = &shop.demo.widget;
    let params = vec![
        ("event".to_owned(), "10003".to_owned()),
        (
            "returnurl".to_owned(),
            "https://partner.example/".to_owned(),
        ),
    ];
    let signed = protocol::widget_url(
        "",
        "demo",
        "addtickets",
        &params,
        &widget.accesskey,
        &widget.secretkey,
        None,
    );
    let mut partner = Shopper::new(&shop);
    let page = partner.visit(&signed).await;
    assert!(page.body.contains("https://partner.example/"));
}

#[tokio::test]
async fn pageview_params_drop_only_the_four_the_spec_names() {
    let shop = spawn_shop().await;
    let mut s = Shopper::new(&shop);
    s.visit(&format!(
        "{}&ordercode=AB12&promocode=X",
        shop.flow_url(Some("p1"))
    ))
    .await;
    let items = shop.items(1).await;
    let params = &items[0]["data"]["params"];
    assert_eq!(params["ordercode"], "AB12");
    assert_eq!(params["promocode"], "X");
    for gone in ["accesskey", "signature", "l", "ref"] {
        assert!(params.get(gone).is_none(), "{gone}: {params}");
    }
}

#[tokio::test]
async fn widget_parameters_are_bounded() {
    let shop = spawn_shop().await;
    let many: String = (0..33).map(|i| format!("&p{i}=1")).collect();
    let page = Shopper::new(&shop)
        .get(&format!("/widgets/demo/flow/saleslink?event=10003{many}"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let long = "a".repeat(1025);
    let page = Shopper::new(&shop)
        .get(&format!(
            "/widgets/demo/flow/saleslink?event=10003&x={long}"
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let total: String = (0..5)
        .map(|i| format!("&p{i}={}", "a".repeat(1000)))
        .collect();
    let page = Shopper::new(&shop)
        .get(&format!("/widgets/demo/flow/saleslink?event=10003{total}"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn one_address_over_its_rate_gets_a_429_page() {
    let shop = spawn_shop_with(AppConfig {
        page_requests_per_minute: 1,
        page_burst: 3,
        trusted_proxies: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        ..AppConfig::default()
    })
    .await;
    let url = format!("{}{}", shop.base, shop.flow_url(None));
    let get = |forwarded: Option<&'static str>| {
        let request = shop.http.get(url.clone());
        let request = match forwarded {
            Some(addr) => request.header("x-forwarded-for", addr),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };
    for _ in 0..3 {
        assert_eq!(
            get(Some("203.0.113.1")).await.status(),
            StatusCode::SEE_OTHER
        );
    }
    let limited = get(Some("203.0.113.1")).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert!(limited.text().await.unwrap().contains("too many requests"));
    // Before any session says which language the shopper chose, the browser's does.
    let dutch = shop
        .http
        .get(url.clone())
        .header("x-forwarded-for", "203.0.113.1")
        .header("accept-language", "nl-BE,nl;q=0.9,en;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(dutch.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(dutch.text().await.unwrap().contains("te veel verzoeken"));
    // Another client behind the same trusted proxy has its own quota.
    assert_eq!(
        get(Some("203.0.113.2")).await.status(),
        StatusCode::SEE_OTHER
    );
    // The proxy's own address is a client too.
    assert_eq!(get(None).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_forwarded_header_from_an_untrusted_peer_is_ignored() {
    let shop = spawn_shop_with(AppConfig {
        page_requests_per_minute: 1,
        page_burst: 2,
        ..AppConfig::default()
    })
    .await;
    let url = format!("{}{}", shop.base, shop.flow_url(None));
    let mut statuses = Vec::new();
    for i in 0..3 {
        let response = shop
            .http
            .get(url.clone())
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

/// The front page speaks the language the browser prefers among ours, weights and
/// regional tags included, as the error pages do.
#[tokio::test]
async fn the_front_page_speaks_the_language_the_browser_prefers() {
    let shop = spawn_shop().await;
    let dutch = "Deze server verkoopt tickets";
    let english = "This server sells tickets";
    for (language, says) in [
        (None, english),
        (Some("nl-BE,nl;q=0.9,en;q=0.8"), dutch),
        (Some("fr, nl;q=0.5"), dutch),
        (Some("nl;q=0.4, en-GB;q=0.6"), english),
        (Some("de"), english),
        (Some("nl;q=0"), english),
    ] {
        let mut request = shop.http.get(format!("{}/", shop.base));
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{language:?}");
        let body = answer.text().await.unwrap();
        assert!(body.contains(says), "{language:?}: {body}");
    }
}

#[tokio::test]
async fn an_unknown_address_is_a_page_outside_the_api_and_json_inside() {
    let shop = spawn_shop().await;
    for (path, language, says) in [
        ("/widgets/demo/shop/nowhere", None, "There is no such page."),
        (
            "/widgets/demo/a/b/c",
            Some("nl"),
            "Die pagina bestaat niet.",
        ),
        ("/nowhere", Some("fr, en;q=0.5"), "There is no such page."),
    ] {
        let mut request = shop.http.get(format!("{}{path}", shop.base));
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        let kind = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(answer.text().await.unwrap().contains(says), "{path}");
    }
    let answer = shop
        .http
        .get(format!("{}/api/1/demo/nowhere", shop.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], 404);
}
