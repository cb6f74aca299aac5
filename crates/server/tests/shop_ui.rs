//! What a shopper sees, over HTTP: the checkout form sent back with its mistakes marked
//! (and nothing recorded), the language switch that keeps the basket, error pages in the
//! session's language with a way back, the notice when a reservation ran out, the
//! accounts' images served safely, the front page and the favicon.

#![allow(clippy::unwrap_used)]

mod pages_support;

use pages_support::{Shopper, kinds, spawn_shop, spawn_shop_with};
use protocol::Timestamp;
use reqwest::StatusCode;
use server::AppConfig;

#[tokio::test]
async fn a_checkout_form_with_mistakes_comes_back_marked_and_records_nothing() {
    let shop = spawn_shop().await;
    let mut s = Shopper::new(&shop);
    s.visit("/widgets/demo/flow/saleslink?event=10003&l=nl&ref=mistakes")
        .await;
    s.submit("/shop/tickets", &[("event", "10003"), ("q_580", "1")])
        .await;
    s.submit("/shop/checkout/start", &[]).await;
    let before = shop.items(5).await.len();
    let page = s
        .post_body(
            "/shop/checkout",
            format!(
                "csrf={}&name=Ann+%3Cb%3E&email=ann.example.org&deliveryscenario=10000",
                s.csrf
            ),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = &page.body;
    assert!(
        body.contains(r#"value="Ann &#60;b&#62;""#) || body.contains(r#"value="Ann &lt;b&gt;""#),
        "{body}"
    );
    assert!(body.contains(r#"value="ann.example.org""#));
    assert!(
        body.contains(r#"aria-invalid="true" aria-describedby="email-error email-hint""#)
            || body.contains("aria-describedby=\"email-error email-hint\" aria-invalid=\"true\""),
        "{body}"
    );
    assert!(body.contains("Vul een e-mailadres in zoals naam@voorbeeld.be."));
    assert!(body.contains("Kies hoe u wilt betalen."));
    assert!(
        body.contains(
            r#"id="delivery_10000" name="deliveryscenario" value="10000" required checked"#
        )
    );
    // A scenario that is not on offer is as good as none.
    let page = s
        .post_body(
            "/shop/checkout",
            format!(
                "csrf={}&name=Ann&email=ann%40example.org&deliveryscenario=4242&paymentscenario=10000",
                s.csrf
            ),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("delivery-error"));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(shop.read_all().await.len(), before, "nothing recorded");
}

#[tokio::test]
async fn the_language_switch_keeps_the_basket_and_stays_in_the_shop() {
    let shop = spawn_shop().await;
    let mut s = Shopper::new(&shop);
    s.visit(&shop.flow_url(None)).await;
    let basket = s
        .submit("/shop/tickets", &[("event", "10003"), ("q_581", "2")])
        .await;
    assert!(basket.body.contains("€\u{a0}25.00"), "{}", basket.body);
    let switched = s
        .post(
            "/shop/language",
            &[("lang", "nl"), ("back", "/widgets/demo/shop/basket")],
        )
        .await;
    assert_eq!(switched.location(), "/widgets/demo/shop/basket");
    let page = s.visit("/widgets/demo/shop/basket").await;
    assert!(page.body.contains(r#"<html lang="nl">"#));
    assert!(page.body.contains("€\u{a0}25,00") && page.body.contains("Reductie"));
    assert!(page.body.contains("Dansvoorstelling 2"));
    // Anywhere else is not followed.
    let away = s
        .post(
            "/shop/language",
            &[("lang", "en"), ("back", "https://evil.example/")],
        )
        .await;
    assert_eq!(away.location(), "/widgets/demo/shop/basket");
}

#[tokio::test]
async fn error_pages_speak_the_sessions_language_and_lead_back() {
    let shop = spawn_shop().await;
    let mut s = Shopper::new(&shop);
    s.visit("/widgets/demo/flow/saleslink?event=10003&l=nl")
        .await;
    let page = s.get("/widgets/demo/shop/order/AAAAA-AAAAA").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains(r#"<html lang="nl">"#), "{}", page.body);
    assert!(page.body.contains("Die bestelling bestaat niet"));
    assert!(
        page.body
            .contains(r#"href="/widgets/demo/shop/tickets?event=10003""#)
    );
    let page = s
        .post_body("/shop/tickets", "csrf=0&event=10003".into())
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Dit formulier is verlopen"));
    // An entry link in Dutch that is broken: Dutch, without a session to go back to.
    let page = Shopper::new(&shop)
        .get("/widgets/demo/flow/saleslink?event=99&l=nl")
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("niet te koop") && page.body.contains("Begin opnieuw"));
    // No session at all: English by default, and where to start again.
    let page = Shopper::new(&shop).get("/widgets/demo/shop/basket").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("start again from the link"));
}

#[tokio::test]
async fn an_expired_reservation_says_so_and_leads_back_to_the_tickets() {
    let shop = spawn_shop().await;
    let mut s = Shopper::new(&shop);
    s.visit(&shop.flow_url(Some("late"))).await;
    s.submit("/shop/tickets", &[("event", "10003"), ("q_580", "1")])
        .await;
    let page = s.visit("/widgets/demo/shop/basket").await;
    assert!(page.body.contains(r#"id="held-until""#));
    let later = Timestamp::from_unix_ms(i64::MAX / 2);
    assert_eq!(shop.store.expire_orders(later).await.unwrap().expired, 1);
    let page = s.visit("/widgets/demo/shop/basket").await;
    assert!(page.body.contains(r#"id="expired""#), "{}", page.body);
    assert!(page.body.contains("Your reservation has expired"));
    assert!(
        page.body
            .contains(r#"href="/widgets/demo/shop/tickets?event=10003""#)
    );
    assert!(!page.body.contains("checkout-form"));
    let checkout = s.get("/widgets/demo/shop/checkout").await;
    assert_eq!(checkout.location(), "/widgets/demo/shop/basket?msg=expired");
    assert!(kinds(&shop.items(4).await).contains(&"add_tickets".to_owned()));
}

/// Images of a data directory from before they moved into the store are still served
/// from its media folder; an image the store holds wins over a file of the same name.
#[tokio::test]
async fn images_the_store_lacks_come_from_an_older_media_folder() {
    let media = tempfile::tempdir().unwrap();
    let folder = media.path().join("demo");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("poster.png"), b"\x89PNG old file").unwrap();
    std::fs::write(folder.join("dance.svg"), b"<svg>the old file</svg>").unwrap();
    let shop = spawn_shop_with(AppConfig {
        media_dir: Some(media.path().to_owned()),
        ..AppConfig::default()
    })
    .await;
    let get = |path: &str| shop.http.get(format!("{}{path}", shop.base)).send();

    let old = get("/media/demo/poster.png").await.unwrap();
    assert_eq!(old.status(), StatusCode::OK);
    assert_eq!(old.headers()["content-type"], "image/png");
    assert_eq!(old.bytes().await.unwrap().as_ref(), b"\x89PNG old file");

    let stored = get("/media/demo/dance.svg")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(stored.as_bytes(), shop::DEMO_MEDIA[0].1);
    assert_eq!(
        get("/media/demo/other.png").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn account_images_are_served_with_their_type_and_nothing_else_is() {
    let shop = spawn_shop().await;
    let get = |path: &str| shop.http.get(format!("{}{path}", shop.base)).send();
    let image = get("/media/demo/dance.svg").await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/svg+xml");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert!(image.text().await.unwrap().starts_with("<svg"));
    for bad in [
        "/media/demo/..%2Fshop.sqlite",
        "/media/demo/%2e%2e%2fshop.sqlite",
        "/media/demo/../shop.sqlite",
        "/media/demo/missing.png",
        "/media/demo/dance.SVG",
        "/media/demo/shop.sqlite",
        "/media/Demo/dance.svg",
        "/media/other/dance.svg",
        "/media/demo/.dance.svg",
    ] {
        let status = get(bad).await.unwrap().status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
    let page = Shopper::new(&shop).visit(&shop.flow_url(None)).await;
    assert!(page.body.contains(r#"src="/media/demo/dance.svg""#));
}

#[tokio::test]
async fn the_front_page_and_the_favicon_are_there() {
    let shop = spawn_shop().await;
    let home = shop
        .http
        .get(format!("{}/", shop.base))
        .header("accept-language", "nl-BE,nl;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let body = home.text().await.unwrap();
    assert!(body.contains(r#"<html lang="nl">"#) && body.contains("verkoopt tickets"));
    for path in ["/favicon.ico", "/static/favicon.svg"] {
        let icon = shop
            .http
            .get(format!("{}{path}", shop.base))
            .send()
            .await
            .unwrap();
        assert_eq!(icon.status(), StatusCode::OK, "{path}");
        assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    }
}
