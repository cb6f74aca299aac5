//! The one checkout form and the public order codes: the panels of one submission are
//! recorded in one transaction, in order, and only when they are new; a repeated submit
//! reuses the open payment; a refused one records nothing; order codes are random,
//! unique, and open an order only to its own session.

use protocol::NumId;
use shop::{CheckoutDetails, CustomerInfo, Error, PaymentOutcome, ShopRule};

use super::{EVENT, Harness, NORMAL, qty, shop, ts};

fn details(email: &str, delivery: u64, payment: u64) -> CheckoutDetails {
    CheckoutDetails {
        customer: Some(CustomerInfo::parse("Ann Smith", email).unwrap()),
        delivery: Some(NumId(delivery)),
        payment: Some(NumId(payment)),
    }
}

pub(crate) async fn the_checkout_form_records_new_panels_once_and_reuses_the_payment(
    h: &impl Harness,
) {
    let shop = shop(h).await;
    let s = shop.session(Some("form")).await;
    let (a, st) = (&shop.account, &shop.store);
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 2)]), ts(1))
        .await
        .unwrap();
    st.start_checkout(a, &s, ts(2)).await.unwrap();
    let before = shop.kinds().await.len();

    // A shown panel left out: refused, nothing recorded, nothing changed.
    let incomplete = CheckoutDetails {
        payment: None,
        ..details("ann@example.org", 10000, 10000)
    };
    let refused = st.submit_checkout(a, &s, incomplete, ts(3)).await;
    assert!(
        matches!(refused, Err(Error::Rule(ShopRule::Incomplete(_)))),
        "{refused:?}"
    );
    // A scenario not on offer: refused as a whole, the customer included.
    let unknown = details("ann@example.org", 4242, 10000);
    let refused = st.submit_checkout(a, &s, unknown, ts(3)).await;
    assert!(matches!(
        refused,
        Err(Error::Rule(ShopRule::InvalidInput(_)))
    ));
    assert_eq!(shop.kinds().await.len(), before);
    let order = st.current_order(a, &s).await.unwrap().unwrap();
    assert_eq!(order.state.customerid, None);

    let token = st
        .submit_checkout(a, &s, details("ann@example.org", 10000, 10001), ts(4))
        .await
        .unwrap();
    let rows = shop.outbox().await;
    let new: Vec<&str> = rows[before..].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        new,
        [
            "webshop:checkout_addcustomerinfo",
            "webshop:checkout_adddeliveryinfo",
            "webshop:checkout_addpaymentinfo",
            "webshop:checkout_initiatepayment",
        ]
    );
    // Each item carries the order as it is after its own panel.
    let order_of = |i: usize| &rows[before + i].1["order"];
    assert!(order_of(0)["customerid"].is_string());
    assert_eq!(order_of(0)["deliveryscenarioid"], serde_json::Value::Null);
    assert_eq!(order_of(1)["deliveryscenarioid"], "10000");
    assert_eq!(order_of(1)["paymentscenarioid"], serde_json::Value::Null);
    assert_eq!(order_of(2)["paymentscenarioid"], "10001");
    assert_eq!(order_of(3)["totalamount"], "40");

    // The same form again: the same payment, nothing recorded.
    let again = st
        .submit_checkout(a, &s, details("ann@example.org", 10000, 10001), ts(5))
        .await
        .unwrap();
    assert_eq!(again, token);
    assert_eq!(shop.outbox().await.len(), rows.len());

    // Another delivery: only that panel, and a new payment for the order as it now is.
    let other = st
        .submit_checkout(a, &s, details("ann@example.org", 10001, 10001), ts(6))
        .await
        .unwrap();
    assert_ne!(other, token);
    let kinds = shop.kinds().await;
    assert_eq!(
        kinds[rows.len()..],
        [
            "webshop:checkout_adddeliveryinfo",
            "webshop:checkout_initiatepayment"
        ]
    );
    let stale = st
        .finish_payment(a, &token, PaymentOutcome::Paid, ts(7))
        .await;
    assert!(matches!(stale, Err(Error::Rule(ShopRule::PaymentClosed))));

    // A corrected e-mail address: the customer panel again; what is paid is the same,
    // so the open payment is too.
    let corrected = st
        .submit_checkout(a, &s, details("ann@example.net", 10001, 10001), ts(8))
        .await
        .unwrap();
    assert_eq!(corrected, other);
    let kinds = shop.kinds().await;
    assert_eq!(kinds.len(), rows.len() + 3);
    assert_eq!(kinds[kinds.len() - 1], "webshop:checkout_addcustomerinfo");
    let order = st.current_order(a, &s).await.unwrap().unwrap();
    assert_eq!(order.customer_email.as_deref(), Some("ann@example.net"));
}

pub(crate) async fn order_codes_are_unique_and_open_only_their_own_order(h: &impl Harness) {
    let shop = shop(h).await;
    let (a, st) = (&shop.account, &shop.store);
    let mut codes = Vec::new();
    let mut sessions = Vec::new();
    for i in 0..5 {
        let s = shop.session(None).await;
        st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 1)]), ts(i))
            .await
            .unwrap();
        let order = st.current_order(a, &s).await.unwrap().unwrap();
        assert!(shop::plausible_code(&order.code), "{}", order.code);
        assert_ne!(order.code, order.state.id.to_string());
        let found = st.order_by_code(a, &s, &order.code).await.unwrap().unwrap();
        assert_eq!(found.state.id, order.state.id);
        codes.push(order.code);
        sessions.push(s);
    }
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), codes.len(), "{codes:?}");
    // Another session's code, or no order's: not found.
    assert!(
        st.order_by_code(a, &sessions[0], &codes[1])
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        st.order_by_code(a, &sessions[0], "AAAAA-AAAAA")
            .await
            .unwrap()
            .is_none()
    );
}
