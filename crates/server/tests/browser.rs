//! A whole purchase in a real browser. Headless Chromium, driven over WebDriver, follows
//! the public sales-flow link an integrator hands out (with `ref`), chooses tickets and a
//! gift voucher, completes every checkout panel and pays at the test payment provider.
//! Then the eventstream must hold exactly the items of tracking spec section 3, in order,
//! and every page must have kept to section 2 (no third-party resources, one HttpOnly
//! session cookie).
//!
//! Behind the `browser-tests` feature because it needs Chromium and chromedriver (Debian:
//! `apt-get install chromium chromium-driver`):
//! `cargo test -p ticketstream-server --features browser-tests --test browser`.
//! With the feature on, a missing browser fails the test; it never passes without one.

#![cfg(feature = "browser-tests")]
#![allow(clippy::unwrap_used)]

mod browser_support;

use browser_support::chrome::Browser;
use browser_support::shop::{Shop, labels};
use serde_json::Value;

const NAME: &str = "Ada Lovelace";
const EMAIL: &str = "ada@example.org";

/// The submit button of the basket's form for the gift voucher (product 10000).
const VOUCHER_BUTTON: &str = "form.set-product:has(#p_10000) button[type=submit]";

/// The three checkout panels, each saved on its own, as a shopper does it.
async fn complete_checkout(browser: &Browser) {
    browser.fill("#name", NAME).await;
    browser.fill("#email", EMAIL).await;
    browser.submit("#save-customer").await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/checkout");
    browser.click("#delivery_10000").await;
    browser.submit("#save-delivery").await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/checkout");
    browser.click("#payment_10000").await;
    browser.submit("#save-payment").await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/checkout");
    assert!(
        browser.find("#pay").await.is_enabled().await.unwrap(),
        "#pay is still disabled with every panel saved"
    );
}

fn of_type<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|item| item["type"] == kind).collect()
}

/// Every item belongs to this shopper and carries no personal data.
fn assert_tracked_as(items: &[Value], reference: &str) {
    for item in items {
        assert_eq!(
            item["data"]["ref"], reference,
            "item without the ref: {item}"
        );
        let text = item.to_string();
        assert!(
            !text.contains(NAME) && !text.contains(EMAIL),
            "personal data in an item: {text}"
        );
    }
}

#[tokio::test]
async fn a_purchase_in_the_browser_is_tracked_step_by_step() {
    const REF: &str = "browser-user";
    let shop = Shop::spawn().await;
    let browser = Browser::launch().await;

    browser.open(&shop.saleslink(REF)).await;
    assert_eq!(
        browser.path().await,
        "/widgets/demo/shop/tickets?event=10003",
        "the entry redirects to a clean address, without the ref"
    );
    browser.fill("#q_580", "2").await;
    browser.submit("#add-to-basket").await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/basket");
    assert_eq!(browser.text("#total").await, "40");

    browser.fill("#p_10000", "1").await;
    browser.submit(VOUCHER_BUTTON).await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/basket");
    assert_eq!(browser.text("#total").await, "140");

    browser.submit("#checkout").await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/checkout");
    complete_checkout(&browser).await;

    browser.submit("#pay").await;
    assert!(browser.path().await.starts_with("/widgets/demo/psp/"));
    assert_eq!(browser.text("#amount").await, "140");
    browser.submit("#psp-paid").await;

    browser.find("#confirmed").await;
    assert_eq!(browser.text("#total").await, "140");
    let order_id = browser.text("#order-id").await;
    assert_eq!(
        browser.path().await,
        format!("/widgets/demo/shop/order/{order_id}")
    );

    let cookies = browser.cookies().await;
    let names: Vec<&str> = cookies.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        ["ts_session"],
        "the session cookie is the only cookie"
    );
    assert_eq!(cookies[0].http_only(), Some(true));
    assert!(cookies[0].same_site().is_some_and(|s| s.is_lax()));
    browser.close().await;

    let expected = [
        "pageview(addtickets)",
        "add_tickets",
        "pageview(summary)",
        "add_products",
        "pageview(summary)",
        "checkout_start",
        "pageview(checkout)",
        "checkout_addcustomerinfo",
        "pageview(checkout)",
        "checkout_adddeliveryinfo",
        "pageview(checkout)",
        "checkout_addpaymentinfo",
        "pageview(checkout)",
        "checkout_initiatepayment",
        "checkout_confirm",
        "pageview(orderdetail)",
    ];
    let items = shop.items(expected.len()).await;
    assert_eq!(labels(&items), expected);
    assert_tracked_as(&items, REF);

    let added = of_type(&items, "webshop:add_tickets");
    assert_eq!(added[0]["data"]["tickets"].as_array().unwrap().len(), 2);
    let added = of_type(&items, "webshop:add_products");
    assert_eq!(added[0]["data"]["products"].as_array().unwrap().len(), 1);
    let confirm = of_type(&items, "webshop:checkout_confirm")[0];
    let order = &confirm["data"]["order"];
    assert_eq!(order["totalamount"], "140");
    assert_eq!(order["id"], order_id.as_str());
    assert_eq!(order["deliveryscenarioid"], "10000");
    assert_eq!(order["paymentscenarioid"], "10000");
    assert!(order["customerid"].is_string());

    shop.stop().await;
}

#[tokio::test]
async fn a_cancelled_payment_records_nothing_and_paying_again_confirms() {
    const REF: &str = "browser-retry";
    let shop = Shop::spawn().await;
    let browser = Browser::launch().await;

    browser.open(&shop.saleslink(REF)).await;
    browser.fill("#q_581", "1").await;
    browser.submit("#add-to-basket").await;
    browser.submit("#checkout").await;
    complete_checkout(&browser).await;

    browser.submit("#pay").await;
    browser.submit("#psp-cancelled").await;
    assert_eq!(
        browser.path().await,
        "/widgets/demo/shop/checkout?msg=cancelled"
    );
    browser.find("#message").await;

    browser.submit("#pay").await;
    assert_eq!(browser.text("#amount").await, "12.5");
    browser.submit("#psp-paid").await;
    browser.find("#confirmed").await;
    assert_eq!(browser.text("#total").await, "12.5");
    browser.close().await;

    // The cancel itself adds nothing: after the first initiatepayment comes only the view
    // of the checkout page it returned to.
    let expected = [
        "pageview(addtickets)",
        "add_tickets",
        "pageview(summary)",
        "checkout_start",
        "pageview(checkout)",
        "checkout_addcustomerinfo",
        "pageview(checkout)",
        "checkout_adddeliveryinfo",
        "pageview(checkout)",
        "checkout_addpaymentinfo",
        "pageview(checkout)",
        "checkout_initiatepayment",
        "pageview(checkout)",
        "checkout_initiatepayment",
        "checkout_confirm",
        "pageview(orderdetail)",
    ];
    let items = shop.items(expected.len()).await;
    assert_eq!(labels(&items), expected);
    assert_tracked_as(&items, REF);
    let confirm = of_type(&items, "webshop:checkout_confirm")[0];
    assert_eq!(confirm["data"]["order"]["totalamount"], "12.5");

    shop.stop().await;
}
