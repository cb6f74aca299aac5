//! Inventory and payment integrity: the last seats under contention, rollbacks, caps on
//! the resulting order, seats given back exactly, payments bound to the order, and
//! expiry that one bad order cannot stop.

use std::time::Duration;

use protocol::NumId;
use shop::{
    Error, MAX_TICKETS_PER_ORDER, MAX_TICKETS_PER_PRICE, PaymentOutcome, PaymentStatus, ShopRule,
};

use super::{
    EVENT, Harness, JAZZ, JAZZ_SEAT, NORMAL, REDUCED, VOUCHER, demo, qty, shop, shop_with, ts,
};

pub(crate) async fn the_last_seats_go_to_exactly_as_many_buyers_as_there_are_seats(
    h: &impl Harness,
) {
    let shop = shop(h).await;
    let first = shop.session(Some("first")).await;
    shop.store
        .set_tickets(&shop.account, &first, JAZZ, qty(&[(JAZZ_SEAT, 4)]), ts(0))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let store = shop.store.clone();
        let account = shop.account.clone();
        let s = shop.session(Some(&format!("late{i}"))).await;
        tasks.push(tokio::spawn(async move {
            store
                .set_tickets(&account, &s, JAZZ, qty(&[(JAZZ_SEAT, 1)]), ts(i))
                .await
        }));
    }
    let mut sold = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(order) => {
                assert_eq!(order.tickets.len(), 1);
                sold += 1;
            }
            Err(Error::Rule(ShopRule::SoldOut { available: 0 })) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(sold, 2, "two seats were left");
    assert_eq!(shop.available(JAZZ).await, 0);
    shop.assert_seats_consistent().await;
}

pub(crate) async fn a_rolled_back_change_leaves_no_outbox_row(h: &impl Harness) {
    let shop = shop(h).await;
    let a = &shop.account;
    let st = &shop.store;
    let s = shop.session(Some("r")).await;
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 3)]), ts(1))
        .await
        .unwrap();
    // Two others take all but the 3 seats: 100 + 97 of 200.
    for (i, reduced) in [(0, 50), (1, 47)] {
        let other = shop.session(Some(&format!("other{i}"))).await;
        st.set_tickets(
            a,
            &other,
            EVENT,
            qty(&[(NORMAL, 50), (REDUCED, reduced)]),
            ts(1),
        )
        .await
        .unwrap();
    }
    assert_eq!(shop.available(EVENT).await, 0);
    let rows = shop.outbox().await.len();
    let before = st.current_order(a, &s).await.unwrap().unwrap();

    // The removal of two Normal lines is written first (with its remove_tickets row),
    // then the five Reduced do not fit in the two seats it freed: all of it rolls back.
    let err = st
        .set_tickets(a, &s, EVENT, qty(&[(NORMAL, 1), (REDUCED, 5)]), ts(2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rule(ShopRule::SoldOut { available: 2 })),
        "{err:?}"
    );
    assert_eq!(shop.outbox().await.len(), rows, "no remove_tickets row");
    assert_eq!(st.current_order(a, &s).await.unwrap().unwrap(), before);
    assert_eq!(shop.available(EVENT).await, 0);
    shop.assert_seats_consistent().await;
}

pub(crate) async fn caps_apply_to_the_resulting_order(h: &impl Harness) {
    let shop = shop(h).await;
    let s = shop.session(Some("r")).await;
    let a = &shop.account;
    let st = &shop.store;
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, MAX_TICKETS_PER_PRICE)]), ts(1))
        .await
        .unwrap();
    let err = st
        .set_tickets(
            a,
            &s,
            EVENT,
            qty(&[(NORMAL, MAX_TICKETS_PER_PRICE + 1)]),
            ts(2),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rule(ShopRule::TooManyOfOnePrice { max: 50 })),
        "{err:?}"
    );
    st.set_tickets(
        a,
        &s,
        EVENT,
        qty(&[(REDUCED, MAX_TICKETS_PER_PRICE)]),
        ts(3),
    )
    .await
    .unwrap();
    // 100 tickets of event 10003: one more of any event is over the order's cap.
    let err = st
        .set_tickets(a, &s, JAZZ, qty(&[(JAZZ_SEAT, 1)]), ts(4))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rule(ShopRule::TooManyTickets { max }) if max == MAX_TICKETS_PER_ORDER),
        "{err:?}"
    );
    // Swapping within the cap is fine.
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 49)]), ts(5))
        .await
        .unwrap();
    let order = st
        .set_tickets(a, &s, JAZZ, qty(&[(JAZZ_SEAT, 1)]), ts(6))
        .await
        .unwrap();
    assert_eq!(order.tickets.len(), 100);
    let err = st
        .set_products(a, &s, VOUCHER, 21, ts(7))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rule(ShopRule::TooManyOfOneProduct { max: 20 })),
        "{err:?}"
    );
    shop.assert_seats_consistent().await;
}

pub(crate) async fn removing_gives_back_exactly_the_seats_removed(h: &impl Harness) {
    let shop = shop(h).await;
    let s = shop.session(Some("r")).await;
    let a = &shop.account;
    let st = &shop.store;
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 5), (REDUCED, 2)]), ts(1))
        .await
        .unwrap();
    assert_eq!(shop.available(EVENT).await, 193);
    // Zero of a price never held, and of one held, from a map: each line once.
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 0), (REDUCED, 0)]), ts(2))
        .await
        .unwrap();
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 0), (REDUCED, 0)]), ts(3))
        .await
        .unwrap();
    assert_eq!(shop.available(EVENT).await, 200);
    let rows = shop.outbox().await;
    let removed: Vec<_> = rows
        .iter()
        .filter(|(k, _)| k == "webshop:remove_tickets")
        .collect();
    assert_eq!(removed.len(), 1, "the second removal had nothing to remove");
    let ids: Vec<&str> = removed[0].1["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(ids.len(), 7);
    assert_eq!(unique.len(), 7, "each ticket listed once: {ids:?}");
    shop.assert_seats_consistent().await;
}

pub(crate) async fn a_basket_change_cancels_the_open_payment(h: &impl Harness) {
    let shop = shop(h).await;
    let s = shop.session(Some("r")).await;
    let a = &shop.account;
    let st = &shop.store;
    shop.ready_to_pay(&s, EVENT, NORMAL, 1).await;
    let token = st.initiate_payment(a, &s, ts(4)).await.unwrap();
    let paying = st.payment(a, &token).await.unwrap().unwrap();
    assert_eq!(paying.amount.to_string(), "20");
    // Ten more tickets after the payment of 20 started.
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 11)]), ts(5))
        .await
        .unwrap();
    assert_eq!(
        st.payment(a, &token).await.unwrap().unwrap().status,
        PaymentStatus::Cancelled
    );
    let err = st
        .finish_payment(a, &token, PaymentOutcome::Paid, ts(6))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rule(ShopRule::PaymentClosed)),
        "{err:?}"
    );
    let order = st.current_order(a, &s).await.unwrap().unwrap();
    assert_eq!(order.status, shop::OrderStatus::Open);
    assert!(
        !shop
            .kinds()
            .await
            .contains(&"webshop:checkout_confirm".to_owned())
    );

    // A new payment is for the order as it is now, and confirms it.
    let token = st.initiate_payment(a, &s, ts(7)).await.unwrap();
    assert_eq!(
        st.payment(a, &token)
            .await
            .unwrap()
            .unwrap()
            .amount
            .to_string(),
        "220"
    );
    st.finish_payment(a, &token, PaymentOutcome::Paid, ts(8))
        .await
        .unwrap();
    let order = st.current_order(a, &s).await.unwrap().unwrap();
    assert_eq!(order.status, shop::OrderStatus::Confirmed);

    // A product change cancels an open payment the same way.
    let s2 = shop.session(None).await;
    st.set_products(a, &s2, VOUCHER, 1, ts(9)).await.unwrap();
    shop.fill_in_checkout(&s2, "D", "d@example.org", NumId(10000), 10)
        .await;
    let token = st.initiate_payment(a, &s2, ts(13)).await.unwrap();
    st.set_products(a, &s2, VOUCHER, 2, ts(14)).await.unwrap();
    assert!(
        st.finish_payment(a, &token, PaymentOutcome::Paid, ts(15))
            .await
            .is_err()
    );
}

pub(crate) async fn paying_twice_reuses_the_open_payment(h: &impl Harness) {
    let shop = shop(h).await;
    let s = shop.session(Some("r")).await;
    let a = &shop.account;
    let st = &shop.store;
    shop.ready_to_pay(&s, EVENT, NORMAL, 1).await;
    let first = st.initiate_payment(a, &s, ts(4)).await.unwrap();
    let second = st.initiate_payment(a, &s, ts(5)).await.unwrap();
    assert_eq!(first, second);
    let initiated = shop
        .kinds()
        .await
        .iter()
        .filter(|k| *k == "webshop:checkout_initiatepayment")
        .count();
    assert_eq!(initiated, 1);
    // Another payment method makes the open payment stale: a new one replaces it.
    st.set_scenario(a, &s, shop::Scenario::Payment, NumId(10001), ts(6))
        .await
        .unwrap();
    let third = st.initiate_payment(a, &s, ts(7)).await.unwrap();
    assert_ne!(third, first);
    assert_eq!(
        st.payment(a, &first).await.unwrap().unwrap().status,
        PaymentStatus::Cancelled
    );
}

pub(crate) async fn a_repeated_confirmation_answers_again_and_records_nothing(h: &impl Harness) {
    let shop = shop(h).await;
    let s = shop.session(Some("r")).await;
    let a = &shop.account;
    let st = &shop.store;
    shop.ready_to_pay(&s, EVENT, NORMAL, 2).await;
    let token = st.initiate_payment(a, &s, ts(4)).await.unwrap();
    let first = st
        .finish_payment(a, &token, PaymentOutcome::Paid, ts(5))
        .await
        .unwrap();
    let rows = shop.outbox().await.len();
    let again = st
        .finish_payment(a, &token, PaymentOutcome::Paid, ts(6))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(again.status, PaymentStatus::Paid);
    assert_eq!(
        shop.outbox().await.len(),
        rows,
        "no second checkout_confirm"
    );
    // A paid payment cannot be cancelled afterwards.
    assert!(
        st.finish_payment(a, &token, PaymentOutcome::Cancelled, ts(7))
            .await
            .is_err()
    );
    assert_eq!(shop.available(EVENT).await, 198);
}

pub(crate) async fn one_bad_order_does_not_stop_the_others_expiring(h: &impl Harness) {
    let shop = shop_with(h, Duration::from_secs(60)).await;
    let a = &shop.account;
    let st = &shop.store;
    let bad = shop.session(Some("bad")).await;
    st.set_tickets(a, &bad, JAZZ, qty(&[(JAZZ_SEAT, 3)]), ts(0))
        .await
        .unwrap();
    let good = shop.session(Some("good")).await;
    st.set_tickets(a, &good, EVENT, qty(&[(NORMAL, 4)]), ts(1))
        .await
        .unwrap();
    // The JAZZ counter lost seats behind the shop's back: releasing the bad order's three
    // would take it below zero.
    h.force_taken("demo", JAZZ.0, 1).await;

    let report = st.expire_orders(ts(120_000)).await.unwrap();
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(shop.available(EVENT).await, 200);
    // The bad order keeps its seats and stays open; it is reported again next time.
    let again = st.expire_orders(ts(121_000)).await.unwrap();
    assert_eq!((again.expired, again.failed.len()), (0, 1));
    assert_eq!(
        st.current_order(a, &bad).await.unwrap().unwrap().status,
        shop::OrderStatus::Open
    );
}

pub(crate) async fn ids_the_store_cannot_hold_are_not_found(h: &impl Harness) {
    let shop = shop(h).await;
    let s = shop.session(None).await;
    let a = &shop.account;
    let huge = NumId(u64::MAX);
    assert!(shop.store.event_offer(a, huge).await.unwrap().is_none());
    let err = shop
        .store
        .set_tickets(a, &s, huge, qty(&[(NORMAL, 1)]), ts(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rule(ShopRule::NotOnSale)), "{err:?}");
    let err = shop
        .store
        .set_tickets(a, &s, EVENT, qty(&[(huge, 1)]), ts(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rule(ShopRule::NotOnSale)), "{err:?}");
    assert!(
        shop.store
            .order_of_session(a, &s, huge)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        shop.store.saleschannel(&demo(), Some(huge)).await.unwrap(),
        None
    );
}

/// The relay deletes the rows it carried by id: exactly those, whatever ids lie between
/// them and whatever ids do not exist.
pub(crate) async fn the_outbox_deletes_exactly_the_rows_named(h: &impl Harness) {
    let shop = shop(h).await;
    for i in 0..5 {
        let session = shop
            .store
            .enter_session(&shop.account, None, super::entry(Some("r")), super::ts(i))
            .await
            .unwrap();
        shop.store
            .record_pageview(&session, "addtickets", super::ts(i))
            .await
            .unwrap();
    }
    let rows = shop.store.outbox_batch(100).await.unwrap();
    assert_eq!(rows.len(), 5);
    let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
    let gone = vec![ids[0], ids[2], ids[4], ids[4], u64::MAX, ids[4] + 1000];
    assert_eq!(shop.store.outbox_delete(gone).await.unwrap(), 3);
    let left: Vec<u64> = shop
        .store
        .outbox_batch(100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, [ids[1], ids[3]]);
    assert_eq!(shop.store.outbox_delete(Vec::new()).await.unwrap(), 0);
    assert_eq!(shop.store.outbox_delete(left).await.unwrap(), 2);
    assert_eq!(shop.store.outbox_len().await.unwrap(), 0);
}
