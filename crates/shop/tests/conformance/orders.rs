//! The shop rules and their capture: what each change writes to the outbox (exactly the
//! contract's payloads, and nothing without `ref`), rollbacks, inventory under
//! concurrency, and reservation expiry.

use std::time::Duration;

use protocol::{NumId, Ref};
use serde_json::Value;
use shop::{Entry, Error, PaymentOutcome, PaymentStatus, Scenario, ShopRule, WidgetParams};

use super::{EVENT, Harness, JAZZ, NORMAL, REDUCED, VOUCHER, qty, shop, shop_with, ts};

/// An entry without parameters, with or without a `ref`.
fn plain(reference: Option<&str>) -> Entry {
    Entry {
        reference: reference.map(|r| Ref::parse(r).unwrap()),
        params: WidgetParams::new(),
        settings: shop::WidgetSettings::default(),
        lang: "en".to_owned(),
    }
}

pub(crate) async fn a_tracked_purchase_records_every_step_with_the_order_after_it(
    h: &impl Harness,
) {
    let shop = shop(h).await;
    let s = shop.session(Some("user12345")).await;
    let a = &shop.account;
    let st = &shop.store;

    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 2), (REDUCED, 0)]), ts(1))
        .await
        .unwrap();
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 1), (REDUCED, 1)]), ts(2))
        .await
        .unwrap();
    st.set_products(a, &s, VOUCHER, 2, ts(3)).await.unwrap();
    st.set_products(a, &s, VOUCHER, 1, ts(4)).await.unwrap();
    st.start_checkout(a, &s, ts(5)).await.unwrap();
    shop.fill_in_checkout(&s, "Ann Smith", "ann@example.org", NumId(10001), 6)
        .await;
    let token = st.initiate_payment(a, &s, ts(9)).await.unwrap();
    let paid = st
        .finish_payment(a, &token, PaymentOutcome::Paid, ts(10))
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::Paid);

    let rows = shop.outbox().await;
    let kinds: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "webshop:add_tickets",
            "webshop:remove_tickets",
            "webshop:add_tickets",
            "webshop:add_products",
            "webshop:remove_products",
            "webshop:checkout_start",
            "webshop:checkout_addcustomerinfo",
            "webshop:checkout_adddeliveryinfo",
            "webshop:checkout_addpaymentinfo",
            "webshop:checkout_initiatepayment",
            "webshop:checkout_confirm",
        ]
    );
    for (_, data) in &rows {
        assert_eq!(data["ref"], "user12345");
        // PII never reaches an item.
        let text = data.to_string();
        assert!(!text.contains("Ann") && !text.contains("ann@example.org"));
    }

    // add 2 Normal.
    let first = &rows[0].1;
    assert_eq!(first["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(first["tickets"][0]["tickettypepriceid"], "580");
    assert_eq!(first["tickets"][0]["price"], "20");
    assert_eq!(first["tickets"][0]["eventname"], "Dance performance 2");
    assert_eq!(first["tickets"][0]["pricetypename"], "Normal");
    assert_eq!(first["order"]["totalamount"], "40");
    assert_eq!(first["order"]["customerid"], Value::Null);
    assert_eq!(first["order"]["saleschannelid"], "10000");
    // 2 Normal -> 1 Normal + 1 Reduced: exactly one Normal line removed, one Reduced added.
    let removed = &rows[1].1;
    assert_eq!(removed["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(removed["tickets"][0]["id"], first["tickets"][1]["id"]);
    assert_eq!(removed["order"]["totalamount"], "20");
    let added = &rows[2].1;
    assert_eq!(added["tickets"].as_array().unwrap().len(), 1);
    assert_eq!(added["tickets"][0]["price"], "12.5");
    assert_eq!(added["order"]["totalamount"], "32.5");
    assert_eq!(added["order"]["tickets"].as_array().unwrap().len(), 2);
    // Vouchers.
    assert_eq!(rows[3].1["products"].as_array().unwrap().len(), 2);
    assert_eq!(rows[3].1["products"][0]["producttype"], "26002");
    assert_eq!(rows[3].1["order"]["totalamount"], "232.5");
    assert_eq!(rows[4].1["products"].as_array().unwrap().len(), 1);
    assert_eq!(rows[4].1["order"]["totalamount"], "132.5");
    // Checkout steps set their field.
    assert_eq!(rows[5].1["order"]["customerid"], Value::Null);
    assert!(rows[6].1["order"]["customerid"].is_string());
    assert_eq!(rows[6].1["order"]["deliveryscenarioid"], Value::Null);
    assert_eq!(rows[7].1["order"]["deliveryscenarioid"], "10000");
    assert_eq!(rows[7].1["order"]["paymentscenarioid"], Value::Null);
    assert_eq!(rows[8].1["order"]["paymentscenarioid"], "10001");
    let order_id = rows[0].1["order"]["id"].clone();
    assert!(rows.iter().all(|(_, d)| d["order"]["id"] == order_id));
    assert_eq!(shop.available(EVENT).await, 198);
}

pub(crate) async fn an_untracked_session_writes_nothing_to_the_outbox(h: &impl Harness) {
    let shop = shop(h).await;
    let s = shop.session(None).await;
    let a = &shop.account;
    let st = &shop.store;
    let session = st.session(a, &s).await.unwrap().unwrap();
    st.record_pageview(&session, "addtickets", ts(1))
        .await
        .unwrap();
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 2)]), ts(1))
        .await
        .unwrap();
    st.set_products(a, &s, VOUCHER, 1, ts(2)).await.unwrap();
    st.start_checkout(a, &s, ts(3)).await.unwrap();
    shop.fill_in_checkout(&s, "Bo", "bo@example.org", NumId(10000), 4)
        .await;
    let token = st.initiate_payment(a, &s, ts(7)).await.unwrap();
    st.finish_payment(a, &token, PaymentOutcome::Paid, ts(8))
        .await
        .unwrap();
    assert_eq!(shop.outbox().await.len(), 0);
    assert_eq!(st.outbox_len().await.unwrap(), 0);
    assert_eq!(shop.available(EVENT).await, 198);
}

pub(crate) async fn a_ref_given_later_starts_tracking_and_another_ref_replaces_it(
    h: &impl Harness,
) {
    let shop = shop(h).await;
    let s = shop.session(None).await;
    let a = &shop.account;
    shop.store
        .set_tickets(a, &s, EVENT, qty(&[(NORMAL, 1)]), ts(1))
        .await
        .unwrap();
    assert!(shop.outbox().await.is_empty());
    let again = shop
        .store
        .enter_session(a, Some(s.clone()), plain(Some("later")), ts(2))
        .await
        .unwrap();
    assert_eq!(again.id, s, "the session and its order are kept");
    shop.store
        .set_tickets(a, &s, EVENT, qty(&[(NORMAL, 2)]), ts(3))
        .await
        .unwrap();
    shop.store
        .enter_session(a, Some(s.clone()), plain(Some("other")), ts(4))
        .await
        .unwrap();
    // Without ref the session keeps the one it has.
    shop.store
        .enter_session(a, Some(s.clone()), plain(None), ts(5))
        .await
        .unwrap();
    shop.store
        .set_tickets(a, &s, EVENT, qty(&[(NORMAL, 3)]), ts(6))
        .await
        .unwrap();
    let refs: Vec<Value> = shop
        .outbox()
        .await
        .into_iter()
        .map(|(_, d)| d["ref"].clone())
        .collect();
    assert_eq!(refs, ["later", "other"]);
}

pub(crate) async fn a_change_that_fails_writes_nothing_and_changes_nothing(h: &impl Harness) {
    let shop = shop(h).await;
    let s = shop.session(Some("r")).await;
    let a = &shop.account;
    let jazz = NumId(10005); // 6 seats
    let seat = NumId(600);
    shop.store
        .set_tickets(a, &s, jazz, qty(&[(seat, 2)]), ts(1))
        .await
        .unwrap();
    let before = shop.outbox().await.len();
    let order_before = shop.store.current_order(a, &s).await.unwrap().unwrap();

    let err = shop
        .store
        .set_tickets(a, &s, jazz, qty(&[(seat, 9)]), ts(2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rule(ShopRule::SoldOut { available: 4 })),
        "{err:?}"
    );
    // Unknown price, product, scenario: refused, nothing written.
    assert!(
        shop.store
            .set_tickets(a, &s, jazz, qty(&[(NORMAL, 1)]), ts(3))
            .await
            .is_err()
    );
    assert!(
        shop.store
            .set_products(a, &s, NumId(4242), 1, ts(4))
            .await
            .is_err()
    );
    assert!(
        shop.store
            .set_scenario(a, &s, Scenario::Delivery, NumId(4242), ts(5))
            .await
            .is_err()
    );
    assert!(
        shop.store.initiate_payment(a, &s, ts(6)).await.is_err(),
        "no customer yet"
    );

    assert_eq!(shop.outbox().await.len(), before);
    assert_eq!(
        shop.store.current_order(a, &s).await.unwrap().unwrap(),
        order_before
    );
    assert_eq!(shop.available(JAZZ).await, 4);
}

pub(crate) async fn many_concurrent_buyers_never_oversell(h: &impl Harness) {
    let shop = shop(h).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = shop.store.clone();
        let account = shop.account.clone();
        let s = shop.session(Some(&format!("buyer{i}"))).await;
        tasks.push(tokio::spawn(async move {
            store
                .set_tickets(
                    &account,
                    &s,
                    NumId(10005),
                    qty(&[(NumId(600), 1 + (i % 2))]),
                    ts(i as i64),
                )
                .await
        }));
    }
    let mut seats = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(order) => seats += order.tickets.len(),
            Err(Error::Rule(ShopRule::SoldOut { .. })) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(seats <= 6, "{seats} seats sold of 6");
    assert!(seats >= 5, "the event should sell out: {seats}");
    assert_eq!(shop.available(JAZZ).await, 6 - seats as u32);
    let tracked: usize = shop
        .outbox()
        .await
        .iter()
        .map(|(_, d)| d["tickets"].as_array().unwrap().len())
        .sum();
    assert_eq!(tracked, seats);
}

pub(crate) async fn expired_reservations_release_seats_and_cannot_be_paid(h: &impl Harness) {
    let shop = shop_with(h, Duration::from_secs(60)).await;
    let s = shop.session(Some("r")).await;
    let a = &shop.account;
    let st = &shop.store;
    shop.ready_to_pay(&s, NumId(10005), NumId(600), 3).await;
    let token = st.initiate_payment(a, &s, ts(4)).await.unwrap();
    assert_eq!(shop.available(JAZZ).await, 3);

    assert_eq!(st.expire_orders(ts(30_000)).await.unwrap().expired, 0);
    assert_eq!(st.expire_orders(ts(61_000 + 4)).await.unwrap().expired, 1);
    assert_eq!(shop.available(JAZZ).await, 6);
    assert_eq!(
        st.expire_orders(ts(120_000)).await.unwrap().expired,
        0,
        "released once"
    );

    let before = shop.outbox().await.len();
    let err = st
        .finish_payment(a, &token, PaymentOutcome::Paid, ts(62_000))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rule(ShopRule::NoOpenOrder)), "{err:?}");
    assert_eq!(shop.outbox().await.len(), before, "no checkout_confirm");

    // The session can start again with a new order.
    let order = st
        .set_tickets(a, &s, NumId(10005), qty(&[(NumId(600), 1)]), ts(63_000))
        .await
        .unwrap();
    assert_eq!(order.tickets.len(), 1);
}

pub(crate) async fn a_cancelled_or_failed_payment_leaves_the_order_open_for_another_try(
    h: &impl Harness,
) {
    let shop = shop(h).await;
    let s = shop.session(Some("r")).await;
    let a = &shop.account;
    let st = &shop.store;
    shop.ready_to_pay(&s, EVENT, NORMAL, 1).await;
    for outcome in [PaymentOutcome::Cancelled, PaymentOutcome::Failed] {
        let token = st.initiate_payment(a, &s, ts(4)).await.unwrap();
        st.finish_payment(a, &token, outcome, ts(5)).await.unwrap();
        assert!(
            st.finish_payment(a, &token, PaymentOutcome::Paid, ts(6))
                .await
                .is_err()
        );
    }
    let token = st.initiate_payment(a, &s, ts(7)).await.unwrap();
    st.finish_payment(a, &token, PaymentOutcome::Paid, ts(8))
        .await
        .unwrap();
    let kinds: Vec<String> = shop.outbox().await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "webshop:checkout_initiatepayment")
            .count(),
        3
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "webshop:checkout_confirm")
            .count(),
        1
    );
}

pub(crate) async fn a_pageview_carries_the_params_and_the_order_once_it_exists(h: &impl Harness) {
    let shop = shop(h).await;
    let a = &shop.account;
    let st = &shop.store;
    let s = shop.session(Some("viewer")).await;
    let session = st.session(a, &s).await.unwrap().unwrap();
    st.record_pageview(&session, "addtickets", ts(1))
        .await
        .unwrap();
    let order = st
        .set_tickets(a, &s, EVENT, qty(&[(NORMAL, 1)]), ts(2))
        .await
        .unwrap();
    let session = st.session(a, &s).await.unwrap().unwrap();
    st.record_pageview(&session, "summary", ts(3))
        .await
        .unwrap();

    let rows = shop.outbox().await;
    let views: Vec<&Value> = rows
        .iter()
        .filter(|(k, _)| k == "webshop:pageview")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(views.len(), 2);
    assert_eq!(views[0]["page"], "addtickets");
    assert_eq!(views[0]["orderid"], Value::Null);
    assert_eq!(views[0]["params"]["event"], "10003");
    assert_eq!(views[0]["ref"], "viewer");
    assert_eq!(views[1]["page"], "summary");
    assert_eq!(views[1]["orderid"], order.id.to_string());
    assert_eq!(views[1]["customerid"], Value::Null);
}
