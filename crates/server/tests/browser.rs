//! A whole purchase in a real browser. Headless Chromium, driven over WebDriver, follows
//! the public sales-flow link an integrator hands out (with `ref`), at desktop and at
//! phone width, in English and in Dutch: it chooses tickets and a gift voucher, sends the
//! checkout form once with a mistake and once right, pays at the test payment provider
//! and reads its tickets. Then the eventstream must hold exactly the items of tracking
//! spec section 3, in order.
//!
//! Every page is held to the spec's section 2 and to WCAG 2.2 AA as a browser computes
//! it: no request to another host, exactly one (HttpOnly) cookie, a contrast of at least
//! 4.5:1 for every text in light and in dark mode, no target under 24x24 px, a label for
//! every input, radio groups in a fieldset with a legend. A screenshot of every step goes
//! to `target/screenshots/<test>/<language>-<width>/`; with TICKETSTREAM_DOCS_SCREENSHOTS
//! set, the ones the README shows are copied into `docs/screenshots/`.
//!
//! Behind the `browser-tests` feature because it needs Chromium and chromedriver (Debian:
//! `apt-get install chromium chromium-driver`):
//! `cargo test -p ticketstream-server --features browser-tests --test browser`.
//! With the feature on, a missing browser fails the test; it never passes without one.

#![cfg(feature = "browser-tests")]
#![allow(clippy::unwrap_used)]

mod browser_support;

use std::path::{Path, PathBuf};

use browser_support::chrome::Browser;
use browser_support::shop::{Shop, labels};
use serde_json::Value;

const NAME: &str = "Ada Lovelace";
const EMAIL: &str = "ada@example.org";

/// The submit button of the basket's form for the gift voucher (product 10000).
const VOUCHER_BUTTON: &str = "form.set-product:has(#p_10000) button[type=submit]";

/// A language and a screen the purchase is walked in.
#[derive(Debug, Clone, Copy)]
struct Variant {
    lang: &'static str,
    device: &'static str,
    width: u32,
    height: u32,
    phone: bool,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        lang: "en",
        device: "desktop",
        width: 1280,
        height: 900,
        phone: false,
    },
    Variant {
        lang: "nl",
        device: "desktop",
        width: 1280,
        height: 900,
        phone: false,
    },
    Variant {
        lang: "en",
        device: "phone",
        width: 390,
        height: 844,
        phone: true,
    },
    Variant {
        lang: "nl",
        device: "phone",
        width: 390,
        height: 844,
        phone: true,
    },
];

/// What the pages must say, per language (WebDriver reads a no-break space as a space).
struct Words {
    basket_total: &'static str,
    total: &'static str,
    email_error: &'static str,
    step_details: &'static str,
}

fn words(lang: &str) -> Words {
    match lang {
        "nl" => Words {
            basket_total: "€ 40,00",
            total: "€ 140,00",
            email_error: "Vul een e-mailadres in zoals naam@voorbeeld.be.",
            step_details: "Uw gegevens",
        },
        _ => Words {
            basket_total: "€ 40.00",
            total: "€ 140.00",
            email_error: "Enter an e-mail address like name@example.org.",
            step_details: "Your details",
        },
    }
}

/// The folder of this test's screenshots: `target/screenshots/<test>/`.
fn screenshots(test: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    target.join("screenshots").join(test)
}

/// Checks the page shown and saves its screenshot as `<folder>/<name>.png`.
async fn step(browser: &Browser, folder: &Path, name: &str) {
    let problems = browser.audit().await;
    let path = browser.path().await;
    assert!(
        problems.is_empty(),
        "accessibility problems on {path}:\n{}",
        problems.join("\n")
    );
    browser
        .screenshot(&folder.join(format!("{name}.png")))
        .await;
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

/// One purchase in `v`'s language and screen; returns the eventstream's items.
async fn purchase(v: Variant, folder: &Path) {
    let reference = format!("browser-{}-{}", v.lang, v.device);
    let w = words(v.lang);
    let shop = Shop::spawn().await;
    let browser = Browser::launch().await;
    browser.viewport(v.width, v.height, v.phone).await;

    browser.open(&shop.saleslink(v.lang, &reference)).await;
    assert_eq!(
        browser.path().await,
        "/widgets/demo/shop/tickets?event=10003",
        "the entry redirects to a clean address, without the ref"
    );
    assert_eq!(browser.attr("html", "lang").await.as_deref(), Some(v.lang));
    assert!(
        browser.count(".event-hero time").await == 1,
        "the event's date"
    );
    assert!(browser.count("img.poster").await == 1, "the event's image");
    assert!(
        browser.image_shows("img.poster").await,
        "the event's image, from the shop store, shows"
    );
    step(&browser, folder, "1-tickets").await;

    browser.fill("#q_580", "2").await;
    browser.submit("#add-to-basket").await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/basket");
    assert_eq!(browser.text("#total").await, w.basket_total);
    browser.find("#held-until").await;
    browser.find(".event-card time").await;

    browser.fill("#p_10000", "1").await;
    browser.submit(VOUCHER_BUTTON).await;
    assert_eq!(browser.text("#total").await, w.total);
    step(&browser, folder, "2-basket").await;

    // The language switch keeps the basket: over and back.
    browser.submit("#switch-language").await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/basket");
    assert_ne!(browser.attr("html", "lang").await.as_deref(), Some(v.lang));
    assert_eq!(
        browser.text("#total").await,
        words(if v.lang == "nl" { "en" } else { "nl" }).total
    );
    browser.submit("#switch-language").await;
    assert_eq!(browser.attr("html", "lang").await.as_deref(), Some(v.lang));

    browser.submit("#checkout").await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/checkout");
    assert_eq!(
        browser.text(".steps [aria-current=step] .label").await,
        w.step_details
    );
    step(&browser, folder, "3-details").await;

    // A mistake: the form comes back with what was typed, the field marked and explained.
    browser.fill("#name", NAME).await;
    browser.fill("#email", "ada.example.org").await;
    browser.click("#delivery_10000").await;
    browser.submit("#pay").await;
    assert_eq!(browser.path().await, "/widgets/demo/shop/checkout");
    assert_eq!(
        browser.attr("#email", "aria-invalid").await.as_deref(),
        Some("true")
    );
    let described = browser.attr("#email", "aria-describedby").await.unwrap();
    assert!(
        described.split(' ').any(|id| id == "email-error"),
        "{described}"
    );
    assert_eq!(browser.text("#email-error").await, w.email_error);
    assert_eq!(browser.attr("#name", "value").await.as_deref(), Some(NAME));
    assert_eq!(
        browser.attr("#email", "value").await.as_deref(),
        Some("ada.example.org")
    );
    assert!(
        browser
            .find("#delivery_10000")
            .await
            .is_selected()
            .await
            .unwrap()
    );
    assert_eq!(
        browser
            .attr("#payment_10000", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    browser.find("#error-summary").await;
    step(&browser, folder, "4-details-mistake").await;

    browser.fill("#email", EMAIL).await;
    browser.click("#payment_10000").await;
    browser.submit("#pay").await;
    assert!(browser.path().await.starts_with("/widgets/demo/psp/"));
    assert_eq!(browser.text("#amount").await, w.total);
    step(&browser, folder, "5-payment").await;

    browser.submit("#psp-paid").await;
    browser.find("#confirmed").await;
    assert_eq!(browser.text("#total").await, w.total);
    let code = browser.text("#order-code").await;
    assert_eq!(
        browser.path().await,
        format!("/widgets/demo/shop/order/{code}")
    );
    assert_eq!(browser.text("#delivery-email").await, EMAIL);
    assert_eq!(
        browser.count("article.ticket").await,
        2,
        "a ticket per seat"
    );
    assert_eq!(browser.count("article.ticket svg.qr path").await, 2);
    step(&browser, folder, "6-done").await;

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
        "pageview(summary)",
        "pageview(summary)",
        "checkout_start",
        "pageview(checkout)",
        "checkout_addcustomerinfo",
        "checkout_adddeliveryinfo",
        "checkout_addpaymentinfo",
        "checkout_initiatepayment",
        "checkout_confirm",
        "pageview(orderdetail)",
    ];
    let items = shop.items(expected.len()).await;
    assert_eq!(labels(&items), expected, "{}", reference);
    assert_tracked_as(&items, &reference);

    let added = of_type(&items, "webshop:add_tickets");
    assert_eq!(added[0]["data"]["tickets"].as_array().unwrap().len(), 2);
    let added = of_type(&items, "webshop:add_products");
    assert_eq!(added[0]["data"]["products"].as_array().unwrap().len(), 1);
    let confirm = of_type(&items, "webshop:checkout_confirm")[0];
    let order = &confirm["data"]["order"];
    assert_eq!(
        order["totalamount"], "140",
        "the eventstream keeps its own amounts"
    );
    assert_ne!(
        order["id"],
        code.as_str(),
        "the public code is not the order id"
    );
    assert_eq!(order["deliveryscenarioid"], "10000");
    assert_eq!(order["paymentscenarioid"], "10000");
    assert!(order["customerid"].is_string());
    shop.stop().await;
}

#[tokio::test]
async fn a_purchase_in_both_languages_at_desktop_and_phone_width() {
    let folder = screenshots("a_purchase_in_both_languages_at_desktop_and_phone_width");
    let _ = std::fs::remove_dir_all(&folder);
    for v in VARIANTS {
        purchase(v, &folder.join(format!("{}-{}", v.lang, v.device))).await;
    }
    println!("screenshots: {}", folder.display());
    if std::env::var_os("TICKETSTREAM_DOCS_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        for (from, to) in [
            ("en-desktop/2-basket.png", "basket-desktop-en.png"),
            ("nl-phone/4-details-mistake.png", "checkout-phone-nl.png"),
            ("en-desktop/6-done.png", "order-desktop-en.png"),
        ] {
            std::fs::copy(folder.join(from), docs.join(to)).unwrap();
        }
    }
}

#[tokio::test]
async fn a_cancelled_payment_records_nothing_and_paying_again_confirms() {
    const REF: &str = "browser-retry";
    let shop = Shop::spawn().await;
    let browser = Browser::launch().await;

    browser.open(&shop.saleslink("en", REF)).await;
    browser.fill("#q_581", "1").await;
    browser.submit("#add-to-basket").await;
    browser.submit("#checkout").await;
    browser.fill("#name", NAME).await;
    browser.fill("#email", EMAIL).await;
    browser.click("#delivery_10000").await;
    browser.click("#payment_10000").await;
    browser.submit("#pay").await;
    browser.submit("#psp-cancelled").await;
    assert_eq!(
        browser.path().await,
        "/widgets/demo/shop/checkout?msg=cancelled"
    );
    browser.find("#message").await;
    // The form still holds the details: sent again as it stands.
    assert_eq!(
        browser.attr("#email", "value").await.as_deref(),
        Some(EMAIL)
    );
    browser.submit("#pay").await;
    assert_eq!(browser.text("#amount").await, "€ 12.50");
    browser.submit("#psp-paid").await;
    browser.find("#confirmed").await;
    assert_eq!(browser.text("#total").await, "€ 12.50");
    browser.close().await;

    // The cancel itself adds nothing, and the form sent again unchanged only starts a
    // new payment.
    let expected = [
        "pageview(addtickets)",
        "add_tickets",
        "pageview(summary)",
        "checkout_start",
        "pageview(checkout)",
        "checkout_addcustomerinfo",
        "checkout_adddeliveryinfo",
        "checkout_addpaymentinfo",
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

/// The accessibility checks can fail: a page spoiled on purpose fails each of them.
#[tokio::test]
async fn the_accessibility_checks_catch_what_they_look_for() {
    let shop = Shop::spawn().await;
    let browser = Browser::launch().await;
    browser.open(&shop.saleslink("en", "audit")).await;
    assert_eq!(browser.audit().await, Vec::<String>::new());
    browser
        .run(
            "document.querySelector('.seats').style.color = '#b0b0b0';
             document.querySelector('.hero-text h1').style.color = '#333333';
             const b = document.getElementById('add-to-basket');
             b.style.minHeight = '0'; b.style.height = '12px'; b.style.padding = '0';
             document.querySelector('label[for=q_580]').removeAttribute('for');",
        )
        .await;
    let problems = browser.audit().await.join("\n");
    for expected in [
        "light: contrast 2.17:1 of p.seats",
        "dark: contrast 1.",
        "target",
        "no label: input#q_580",
    ] {
        assert!(problems.contains(expected), "{expected} in:\n{problems}");
    }
    browser.close().await;
    shop.stop().await;
}
