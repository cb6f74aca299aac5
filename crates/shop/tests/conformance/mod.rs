//! The conformance suite of the shop store: the shop rules and their capture, as tests
//! that every storage backend must pass.
//!
//! A backend's test file implements [`Harness`] (fresh storage, a way to reopen it, and a
//! way to damage a seat count behind the shop's back) and invokes [`conformance_suite!`],
//! which generates one `#[tokio::test]` per case.

pub(crate) mod admin;
pub(crate) mod checkout;
pub(crate) mod integrity;
pub(crate) mod orders;

use std::future::Future;
use std::time::Duration;

use protocol::{AccountName, NumId, Ref, Timestamp};
use serde_json::Value;
use shop::{CustomerInfo, Entry, Quantities, Scenario, ShopStore, WidgetParams, WidgetSettings};

/// A point in time well after the epoch; every case starts here.
pub(crate) const T0: i64 = 1_790_000_000_000;

/// What a backend provides to run the suite.
pub(crate) trait Harness: Send + Sync + 'static {
    /// Opens the store over this harness's storage. Opening again is a restart.
    fn open(&self, reservation: Duration) -> impl Future<Output = ShopStore> + Send;
    /// Sets an event's `taken` directly in the storage, bypassing the shop: a store
    /// damaged by hand or by a bug elsewhere.
    fn force_taken(&self, account: &str, event: u64, taken: i64)
    -> impl Future<Output = ()> + Send;
}

/// Generates one test per case for the harness that `$make` returns. With `optional`,
/// `$make` returns an `Option` and each case returns at once on `None` (a backend whose
/// server is not configured; `$make` says that it skipped).
macro_rules! conformance_suite {
    ($make:expr) => {
        conformance_suite!(optional Some($make));
    };
    (optional $make:expr) => {
        conformance_suite!(@cases $make;
            orders::a_tracked_purchase_records_every_step_with_the_order_after_it,
            orders::an_untracked_session_writes_nothing_to_the_outbox,
            orders::a_ref_given_later_starts_tracking_and_another_ref_replaces_it,
            orders::a_change_that_fails_writes_nothing_and_changes_nothing,
            orders::many_concurrent_buyers_never_oversell,
            orders::expired_reservations_release_seats_and_cannot_be_paid,
            orders::a_cancelled_or_failed_payment_leaves_the_order_open_for_another_try,
            orders::a_pageview_carries_the_params_and_the_order_once_it_exists,
            integrity::the_last_seats_go_to_exactly_as_many_buyers_as_there_are_seats,
            integrity::a_rolled_back_change_leaves_no_outbox_row,
            integrity::caps_apply_to_the_resulting_order,
            integrity::removing_gives_back_exactly_the_seats_removed,
            integrity::a_basket_change_cancels_the_open_payment,
            integrity::paying_twice_reuses_the_open_payment,
            integrity::a_repeated_confirmation_answers_again_and_records_nothing,
            integrity::one_bad_order_does_not_stop_the_others_expiring,
            integrity::ids_the_store_cannot_hold_are_not_found,
            integrity::the_outbox_deletes_exactly_the_rows_named,
            admin::accounts_are_unique_and_keys_are_separate_kinds,
            admin::reopening_keeps_everything,
            admin::importing_twice_updates_in_place,
            admin::an_import_elsewhere_is_seen_at_once,
            admin::a_visit_names_order_lines_as_the_catalog_does,
            admin::a_change_names_its_order_lines_as_the_catalog_does,
            admin::catalog_import_errors_change_nothing,
            admin::event_images_are_stored_with_the_catalog,
            admin::sessions_without_an_order_are_forgotten_sooner,
            admin::a_change_marks_the_session_seen_at_most_once_a_resolution,
            admin::a_new_visit_lets_a_finished_order_go,
            checkout::the_checkout_form_records_new_panels_once_and_reuses_the_payment,
            checkout::order_codes_are_unique_and_open_only_their_own_order,
        );
    };
    (@cases $make:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(harness) = $make else {
                    return;
                };
                crate::conformance::$module::$case(&harness).await;
            }
        )*
    };
}
pub(crate) use conformance_suite;

pub(crate) fn ts(offset_ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + offset_ms)
}

pub(crate) fn demo() -> AccountName {
    AccountName::parse("demo").unwrap()
}

/// Quantities per price.
pub(crate) fn qty(pairs: &[(NumId, u32)]) -> Quantities {
    pairs.iter().copied().collect()
}

/// Normal (580) and Reduced (581) prices of event 10003 (200 seats).
pub(crate) const NORMAL: NumId = NumId(580);
pub(crate) const REDUCED: NumId = NumId(581);
pub(crate) const EVENT: NumId = NumId(10003);
pub(crate) const VOUCHER: NumId = NumId(10000);
/// Event 10005 has 6 seats at one price, 600.
pub(crate) const JAZZ: NumId = NumId(10005);
pub(crate) const JAZZ_SEAT: NumId = NumId(600);

/// A store with the demo account and catalog.
pub(crate) struct Shop {
    pub(crate) store: ShopStore,
    pub(crate) account: AccountName,
}

pub(crate) async fn shop(h: &impl Harness) -> Shop {
    shop_with(h, ShopStore::DEFAULT_RESERVATION).await
}

pub(crate) async fn shop_with(h: &impl Harness, reservation: Duration) -> Shop {
    let store = h.open(reservation).await;
    shop::demo_init(&store).await.unwrap();
    Shop {
        store,
        account: demo(),
    }
}

pub(crate) fn entry(reference: Option<&str>) -> Entry {
    let mut params = WidgetParams::new();
    params.insert("event".to_owned(), Some("10003".to_owned()));
    params.insert(
        "panels".to_owned(),
        Some("customer,delivery,payment".to_owned()),
    );
    Entry {
        reference: reference.map(|r| Ref::parse(r).unwrap()),
        params,
        settings: WidgetSettings {
            event: Some(EVENT),
            ..WidgetSettings::default()
        },
        lang: "en".to_owned(),
    }
}

impl Shop {
    pub(crate) async fn session(&self, reference: Option<&str>) -> String {
        self.store
            .enter_session(&self.account, None, entry(reference), ts(0))
            .await
            .unwrap()
            .id
    }

    pub(crate) async fn outbox(&self) -> Vec<(String, Value)> {
        self.store
            .outbox_batch(10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.kind, serde_json::from_str(&row.data).unwrap()))
            .collect()
    }

    pub(crate) async fn kinds(&self) -> Vec<String> {
        self.outbox().await.into_iter().map(|(k, _)| k).collect()
    }

    /// The customer, delivery (the first option) and payment panels, at `at`, `at + 1`
    /// and `at + 2`.
    pub(crate) async fn fill_in_checkout(
        &self,
        s: &str,
        name: &str,
        email: &str,
        payment: NumId,
        at: i64,
    ) {
        let (a, st) = (&self.account, &self.store);
        let customer = CustomerInfo::parse(name, email).unwrap();
        st.set_customer(a, s, customer, ts(at)).await.unwrap();
        st.set_scenario(a, s, Scenario::Delivery, NumId(10000), ts(at + 1))
            .await
            .unwrap();
        st.set_scenario(a, s, Scenario::Payment, payment, ts(at + 2))
            .await
            .unwrap();
    }

    /// `count` tickets of one price at 0, then the checkout panels at 1 to 3.
    pub(crate) async fn ready_to_pay(&self, s: &str, event: NumId, price: NumId, count: u32) {
        self.store
            .set_tickets(&self.account, s, event, qty(&[(price, count)]), ts(0))
            .await
            .unwrap();
        self.fill_in_checkout(s, "C", "c@example.org", NumId(10000), 1)
            .await;
    }

    pub(crate) async fn available(&self, event: NumId) -> u32 {
        self.store
            .event_offer(&self.account, event)
            .await
            .unwrap()
            .unwrap()
            .event
            .available
    }

    /// Every event's `taken` equals the seats its order lines hold, within capacity.
    pub(crate) async fn assert_seats_consistent(&self) {
        let counts = self.store.seat_counts(&self.account).await.unwrap();
        assert!(!counts.is_empty());
        for c in counts {
            assert_eq!(c.taken, c.held, "event {}: {c:?}", c.event);
            assert!(c.taken <= i64::from(c.capacity), "event {}: {c:?}", c.event);
        }
    }
}
