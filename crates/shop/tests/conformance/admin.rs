//! Accounts, keys, catalog imports and sessions.

use std::time::Duration;

use protocol::{AccountName, NumId};
use shop::{
    Error, EventImage, KeyKind, ORDERLESS_SESSION_IDLE, PaymentOutcome, SEEN_RESOLUTION,
    SESSION_IDLE, ShopStore, parse_catalog,
};

use super::{EVENT, Harness, NORMAL, REDUCED, demo, entry, qty, shop, ts};

const EXAMPLE: &str = include_str!("../../../../examples/catalog.toml");

fn name(s: &str) -> AccountName {
    AccountName::parse(s).unwrap()
}

pub(crate) async fn accounts_are_unique_and_keys_are_separate_kinds(h: &impl Harness) {
    let store = h.open(ShopStore::DEFAULT_RESERVATION).await;
    store.create_account(&name("club")).await.unwrap();
    assert!(matches!(
        store.create_account(&name("club")).await,
        Err(Error::AccountExists(_))
    ));
    assert!(matches!(
        store.create_key(&name("nope"), KeyKind::Api).await,
        Err(Error::NoSuchAccount(_))
    ));

    let api = store.create_key(&name("club"), KeyKind::Api).await.unwrap();
    let widget = store
        .create_key(&name("club"), KeyKind::Widget)
        .await
        .unwrap();
    assert_eq!(api.accesskey.len(), 24);
    assert_eq!(api.secretkey.expose().len(), 48);
    assert_ne!(api.accesskey, widget.accesskey);

    let found = store.find_key(&api.accesskey).await.unwrap().unwrap();
    assert_eq!(found.account, name("club"));
    assert_eq!(found.kind, KeyKind::Api);
    assert_eq!(found.pair, api);
    let found = store.find_key(&widget.accesskey).await.unwrap().unwrap();
    assert_eq!(found.kind, KeyKind::Widget);
    assert!(store.find_key("unknown").await.unwrap().is_none());
    assert_eq!(
        store.keys(&name("club"), KeyKind::Api).await.unwrap(),
        vec![api]
    );
}

pub(crate) async fn reopening_keeps_everything(h: &impl Harness) {
    let store = h.open(ShopStore::DEFAULT_RESERVATION).await;
    store.create_account(&name("club")).await.unwrap();
    let key = store.create_key(&name("club"), KeyKind::Api).await.unwrap();
    drop(store);
    let store = h.open(ShopStore::DEFAULT_RESERVATION).await;
    assert!(store.account(&name("club")).await.unwrap().is_some());
    assert!(store.find_key(&key.accesskey).await.unwrap().is_some());
}

pub(crate) async fn importing_twice_updates_in_place(h: &impl Harness) {
    let store = h.open(ShopStore::DEFAULT_RESERVATION).await;
    let club = name("club");
    store.create_account(&club).await.unwrap();
    let catalog = parse_catalog(EXAMPLE).unwrap();
    let first = store
        .import_catalog_with_images(&club, catalog.clone(), shop::demo_images())
        .await
        .unwrap();
    let second = store.import_catalog(&club, catalog.clone()).await.unwrap();
    assert_eq!(first, second);
    let events = store.events(&club).await.unwrap();
    assert_eq!(events.len(), catalog.events.len());

    // Everything shoppers see of an event comes back as the file gave it.
    let offer = store.event_offer(&club, EVENT).await.unwrap().unwrap();
    let given = &catalog.events[0];
    assert_eq!(offer.event.name, given.name);
    assert_eq!(offer.event.name.in_lang("nl"), "Dansvoorstelling 2");
    assert_eq!(offer.event.time.as_ref(), Some(&given.time));
    assert!(given.time.end.is_some());
    assert_eq!(offer.event.venue, given.venue);
    assert_eq!(offer.event.description, given.description);
    assert!(offer.event.description.nl.is_some());
    assert_eq!(offer.event.image, given.image);
    assert_eq!(offer.event.available, 200);
    assert_eq!(offer.lines.len(), 2);
    assert_eq!(offer.lines[0].pricetype_name.text, "Normal");
    assert_eq!(offer.lines[0].pricetype_name.in_lang("nl"), "Normaal");
    assert_eq!(offer.lines[1].price.to_string(), "12.5");
    let products = store.products(&club).await.unwrap();
    assert_eq!(products[0].name.in_lang("nl"), "Cadeaubon");
    assert_eq!(store.organiser(&club).await.unwrap(), catalog.organiser);
    assert!(catalog.organiser.terms_url.is_some());

    // A changed file: renamed event without a translation or image, an offset instead of
    // a zone, one product dropped, no return hosts, no organiser.
    let mut changed = catalog.clone();
    changed.events[0].name = shop::Text::new("Dance performance 2 (extra night)");
    changed.events[0].image = None;
    changed.events[0].time = catalog.events[1].time.clone();
    changed.products.truncate(1);
    changed.return_hosts.clear();
    changed.organiser = shop::Organiser::default();
    assert!(!store.return_hosts(&club).await.unwrap().is_empty());
    store.import_catalog(&club, changed.clone()).await.unwrap();
    let events = store.events(&club).await.unwrap();
    assert_eq!(events.len(), catalog.events.len());
    assert_eq!(events[0].name, changed.events[0].name);
    assert_eq!(
        events[0].name.in_lang("nl"),
        "Dance performance 2 (extra night)"
    );
    assert_eq!(events[0].image, None);
    assert_eq!(events[0].time.as_ref(), Some(&changed.events[0].time));
    assert_eq!(store.products(&club).await.unwrap().len(), 1);
    assert!(store.return_hosts(&club).await.unwrap().is_empty());
    assert_eq!(
        store.organiser(&club).await.unwrap(),
        shop::Organiser::default()
    );

    let (delivery, payment) = store.scenarios(&club).await.unwrap();
    assert_eq!((delivery.len(), payment.len()), (2, 2));
    assert_eq!(delivery[1].name.in_lang("nl"), "Afhalen aan de kassa");
    assert_eq!(
        store.saleschannel(&club, None).await.unwrap(),
        Some(NumId(10000))
    );
    assert_eq!(
        store.saleschannel(&club, Some(NumId(10001))).await.unwrap(),
        Some(NumId(10001))
    );
    assert_eq!(
        store.saleschannel(&club, Some(NumId(9))).await.unwrap(),
        None
    );
    assert!(store.event_offer(&club, NumId(1)).await.unwrap().is_none());
}

/// A server keeps the catalog in memory; an import made through another handle on the
/// same store (another process, or `catalog import` beside a running server) is seen by
/// its next read, and so is the import's own handle's.
pub(crate) async fn an_import_elsewhere_is_seen_at_once(h: &impl Harness) {
    let serving = h.open(ShopStore::DEFAULT_RESERVATION).await;
    let importing = h.open(ShopStore::DEFAULT_RESERVATION).await;
    let club = name("club");
    serving.create_account(&club).await.unwrap();
    let catalog = parse_catalog(EXAMPLE).unwrap();
    importing
        .import_catalog_with_images(&club, catalog.clone(), shop::demo_images())
        .await
        .unwrap();
    let offer = serving.event_offer(&club, EVENT).await.unwrap().unwrap();
    assert_eq!(offer.lines[0].price.to_string(), "20");
    assert_eq!(serving.products(&club).await.unwrap().len(), 2);
    assert_eq!(serving.organiser(&club).await.unwrap(), catalog.organiser);

    let mut changed = catalog.clone();
    changed.events[0].tickettypes[0].prices[0].price = "99".parse().unwrap();
    changed.products.truncate(1);
    changed.organiser = shop::Organiser::default();
    changed.deliveryscenarios.truncate(1);
    importing
        .import_catalog(&club, changed.clone())
        .await
        .unwrap();
    let offer = serving.event_offer(&club, EVENT).await.unwrap().unwrap();
    assert_eq!(offer.lines[0].price.to_string(), "99");
    assert_eq!(serving.products(&club).await.unwrap().len(), 1);
    assert_eq!(
        serving.organiser(&club).await.unwrap(),
        shop::Organiser::default()
    );
    assert_eq!(serving.scenarios(&club).await.unwrap().0.len(), 1);
    assert_eq!(importing.products(&club).await.unwrap().len(), 1);
}

/// A page's visit names its order's lines from the catalog cache: the same lines as the
/// store's join gives, before and after an import renames their entries or takes one
/// off sale.
pub(crate) async fn a_visit_names_order_lines_as_the_catalog_does(h: &impl Harness) {
    let shop = shop(h).await;
    let (a, st) = (&shop.account, &shop.store);
    let session = shop.session(None).await;
    st.set_tickets(a, &session, EVENT, qty(&[(NORMAL, 2)]), ts(0))
        .await
        .unwrap();
    let catalog = parse_catalog(EXAMPLE).unwrap();
    let product = catalog.products[0].id;
    st.set_products(a, &session, product, 1, ts(0))
        .await
        .unwrap();
    let order = |visit: Option<shop::Visit>| visit.unwrap().order.unwrap();

    let seen = order(st.visit(a, &session, Some(EVENT)).await.unwrap());
    let joined = st.current_order(a, &session).await.unwrap().unwrap();
    assert_eq!(seen, joined);
    assert_eq!(seen.state.tickets.len(), 2);
    assert_eq!(seen.state.products.len(), 1);

    let mut renamed = catalog.clone();
    let event = renamed.events.iter_mut().find(|e| e.id == EVENT).unwrap();
    event.name.text = "Renamed show".into();
    let tickettype = event
        .tickettypes
        .iter_mut()
        .find(|t| t.prices.iter().any(|p| p.id == NORMAL))
        .unwrap();
    tickettype.name.text = "Renamed seat".into();
    let pricetype = tickettype
        .prices
        .iter()
        .find(|p| p.id == NORMAL)
        .unwrap()
        .pricetype;
    renamed
        .pricetypes
        .iter_mut()
        .find(|p| p.id == pricetype)
        .unwrap()
        .name
        .text = "Renamed price".into();
    // The product is off sale now; its line keeps its name.
    renamed.products.retain(|p| p.id != product);
    st.import_catalog(a, renamed).await.unwrap();

    let seen = order(st.visit(a, &session, Some(EVENT)).await.unwrap());
    let joined = st.current_order(a, &session).await.unwrap().unwrap();
    assert_eq!(seen, joined);
    for line in &seen.state.tickets {
        assert_eq!(line.eventname, "Renamed show");
        assert_eq!(line.tickettypename, "Renamed seat");
        assert_eq!(line.pricetypename, "Renamed price");
    }
    assert_eq!(
        seen.state.products[0].productname,
        catalog.products[0].name.text
    );
}

/// A change names and prices the lines of the order it records as the store does: from
/// the catalog cache when a visit has filled it with the catalog the change sees, and
/// not from a cached catalog that an import has replaced since.
pub(crate) async fn a_change_names_its_order_lines_as_the_catalog_does(h: &impl Harness) {
    let shop = shop(h).await;
    let (a, st) = (&shop.account, &shop.store);
    let session = shop.session(Some("user12345")).await;
    let catalog = parse_catalog(EXAMPLE).unwrap();
    let product = catalog.products[0].id;
    // Every recorded order is the order as the join reads it right after the change.
    let mut recorded = 0;
    let mut last_order = async |expect_event: &str| {
        let rows = shop.outbox().await;
        assert!(rows.len() > recorded, "the change recorded nothing");
        recorded = rows.len();
        let joined = st.current_order(a, &session).await.unwrap().unwrap().state;
        let (_, data) = rows.last().unwrap();
        assert_eq!(data["order"], serde_json::to_value(&joined).unwrap());
        for line in data["order"]["tickets"].as_array().unwrap() {
            assert_eq!(line["eventname"], expect_event);
        }
        data["order"].clone()
    };

    // The cache holds the catalog these changes see.
    st.visit(a, &session, Some(EVENT)).await.unwrap().unwrap();
    st.set_tickets(a, &session, EVENT, qty(&[(NORMAL, 2)]), ts(1))
        .await
        .unwrap();
    last_order("Dance performance 2").await;
    st.set_products(a, &session, product, 1, ts(2))
        .await
        .unwrap();
    let order = last_order("Dance performance 2").await;
    assert_eq!(order["products"].as_array().unwrap().len(), 1);

    // An import renames the lines' event, raises the Normal and Reduced prices and
    // takes the product off sale: the cached catalog is not the one the next change sees.
    let mut renamed = catalog.clone();
    let event = renamed.events.iter_mut().find(|e| e.id == EVENT).unwrap();
    event.name.text = "Renamed show".into();
    for price in event
        .tickettypes
        .iter_mut()
        .flat_map(|t| t.prices.iter_mut())
    {
        if price.id == NORMAL {
            price.price = "21".parse().unwrap();
        }
        if price.id == REDUCED {
            price.price = "13".parse().unwrap();
        }
    }
    renamed.products.retain(|p| p.id != product);
    st.import_catalog(a, renamed).await.unwrap();
    st.set_tickets(a, &session, EVENT, qty(&[(NORMAL, 3)]), ts(3))
        .await
        .unwrap();
    let order = last_order("Renamed show").await;
    assert_eq!(order["tickets"][2]["price"], "21");

    // A visit caches the new catalog; the next changes name and price their lines from it.
    st.visit(a, &session, Some(EVENT)).await.unwrap().unwrap();
    st.set_tickets(a, &session, EVENT, qty(&[(NORMAL, 1)]), ts(4))
        .await
        .unwrap();
    let order = last_order("Renamed show").await;
    assert_eq!(order["tickets"].as_array().unwrap().len(), 1);
    st.set_tickets(a, &session, EVENT, qty(&[(NORMAL, 1), (REDUCED, 1)]), ts(4))
        .await
        .unwrap();
    let order = last_order("Renamed show").await;
    assert_eq!(order["tickets"][1]["price"], "13");
    assert_eq!(
        order["products"][0]["productname"],
        catalog.products[0].name.text
    );
    st.start_checkout(a, &session, ts(5)).await.unwrap();
    last_order("Renamed show").await;
}

/// Event images go into the store with the catalog, per account; an import that names
/// an image nobody gave, or gives one that cannot be an image, changes nothing.
pub(crate) async fn event_images_are_stored_with_the_catalog(h: &impl Harness) {
    let store = h.open(ShopStore::DEFAULT_RESERVATION).await;
    let (club, other) = (name("club"), name("other"));
    store.create_account(&club).await.unwrap();
    store.create_account(&other).await.unwrap();
    let catalog = parse_catalog(EXAMPLE).unwrap();
    let image = catalog.events[0].image.clone().unwrap();
    assert_eq!(image, shop::DEMO_MEDIA[0].0);
    // Without the image it names, the first import is refused.
    assert!(matches!(
        store.import_catalog(&club, catalog.clone()).await,
        Err(Error::MissingImage { .. })
    ));
    assert!(store.events(&club).await.unwrap().is_empty());

    store
        .import_catalog_with_images(&club, catalog.clone(), shop::demo_images())
        .await
        .unwrap();
    let stored = store.image(&club, &image).await.unwrap().unwrap();
    assert_eq!(stored, shop::DEMO_MEDIA[0].1);
    assert_eq!(store.image(&other, &image).await.unwrap(), None);
    assert_eq!(store.image(&club, "missing.png").await.unwrap(), None);
    assert_eq!(store.image(&name("nobody"), &image).await.unwrap(), None);
    // Once stored, the image need not be given again; given again, it is replaced.
    store.import_catalog(&club, catalog.clone()).await.unwrap();
    let new = EventImage {
        name: image.clone(),
        bytes: b"<svg>new</svg>".to_vec(),
    };
    store
        .import_catalog_with_images(&club, catalog.clone(), vec![new.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.image(&club, &image).await.unwrap().unwrap(),
        new.bytes
    );

    // A new image named but not given: nothing of the import is kept.
    let mut changed = catalog.clone();
    changed.events[0].image = Some("poster.png".to_owned());
    changed.events[0].name = shop::Text::new("Renamed");
    let refused = store
        .import_catalog_with_images(&club, changed.clone(), vec![])
        .await;
    assert!(
        matches!(&refused, Err(Error::MissingImage { image, .. }) if image == "poster.png"),
        "{refused:?}"
    );
    assert_eq!(
        store.events(&club).await.unwrap()[0].name,
        catalog.events[0].name
    );
    // Images that cannot be: a path, an unknown type, too large. Refused before the store.
    for bad in [
        EventImage {
            name: "../shop.sqlite".to_owned(),
            bytes: vec![1],
        },
        EventImage {
            name: "poster.gif".to_owned(),
            bytes: vec![1],
        },
        EventImage {
            name: "poster.png".to_owned(),
            bytes: vec![0; shop::MAX_IMAGE_BYTES + 1],
        },
    ] {
        let refused = store
            .import_catalog_with_images(&club, changed.clone(), vec![bad.clone()])
            .await;
        assert!(
            matches!(&refused, Err(Error::BadImage { image, .. }) if *image == bad.name),
            "{bad:?}: {refused:?}"
        );
    }
    assert_eq!(store.image(&club, "poster.png").await.unwrap(), None);
    assert_eq!(
        store.events(&club).await.unwrap()[0].name,
        catalog.events[0].name
    );
}

pub(crate) async fn catalog_import_errors_change_nothing(h: &impl Harness) {
    let store = h.open(ShopStore::DEFAULT_RESERVATION).await;
    let club = name("club");
    let catalog = parse_catalog(EXAMPLE).unwrap();
    // No such account: refused, and nothing is created.
    assert!(matches!(
        store.import_catalog(&club, catalog.clone()).await,
        Err(Error::NoSuchAccount(_))
    ));
    assert!(store.account(&club).await.unwrap().is_none());
    assert!(store.events(&club).await.unwrap().is_empty());

    store.create_account(&club).await.unwrap();
    store
        .import_catalog_with_images(&club, catalog.clone(), shop::demo_images())
        .await
        .unwrap();
    // A broken file never reaches the store: the error names its line.
    let broken = EXAMPLE.replace("capacity = 200", "capacity = -1");
    let err = parse_catalog(&broken).unwrap_err();
    assert!(err.line > 1, "{err}");
    let too_large = EXAMPLE.replace("id = 10003", "id = 9223372036854775808");
    let err = parse_catalog(&too_large).unwrap_err();
    assert!(err.message.contains("too large"), "{err}");
    // The catalog that was imported is still the one offered.
    let events = store.events(&club).await.unwrap();
    assert_eq!(events.len(), catalog.events.len());
    assert_eq!(events[0].capacity, 200);
}

pub(crate) async fn sessions_without_an_order_are_forgotten_sooner(h: &impl Harness) {
    let shop = shop(h).await;
    let a = &shop.account;
    let browsing = shop.session(None).await;
    let buying = shop.session(None).await;
    shop.store
        .set_tickets(a, &buying, EVENT, qty(&[(NORMAL, 1)]), ts(0))
        .await
        .unwrap();
    let short = i64::try_from(ORDERLESS_SESSION_IDLE.as_millis()).unwrap();
    let long = i64::try_from(SESSION_IDLE.as_millis()).unwrap();
    assert_eq!(shop.store.purge_sessions(ts(short - 1)).await.unwrap(), 0);
    assert_eq!(shop.store.purge_sessions(ts(short + 1)).await.unwrap(), 1);
    assert!(shop.store.session(a, &browsing).await.unwrap().is_none());
    assert!(shop.store.session(a, &buying).await.unwrap().is_some());
    assert_eq!(shop.store.purge_sessions(ts(long + 1)).await.unwrap(), 1);
    assert!(shop.store.session(a, &buying).await.unwrap().is_none());
    assert!(ORDERLESS_SESSION_IDLE < Duration::from_secs(3600));
}

/// A shop change marks its session seen once the last mark is older than
/// `SEEN_RESOLUTION`, and not sooner: what a purge sees.
pub(crate) async fn a_change_marks_the_session_seen_at_most_once_a_resolution(h: &impl Harness) {
    let shop = shop(h).await;
    let a = &shop.account;
    let resolution = i64::try_from(SEEN_RESOLUTION.as_millis()).unwrap();
    let idle = i64::try_from(SESSION_IDLE.as_millis()).unwrap();
    let (marked, unmarked) = (shop.session(None).await, shop.session(None).await);
    for session in [&marked, &unmarked] {
        // A new order: seen now.
        shop.store
            .set_tickets(a, session, EVENT, qty(&[(NORMAL, 1)]), ts(0))
            .await
            .unwrap();
    }
    // The same order, within the resolution: not marked again.
    shop.store
        .set_tickets(a, &unmarked, EVENT, qty(&[(NORMAL, 2)]), ts(resolution - 1))
        .await
        .unwrap();
    // The same order, a resolution later: marked.
    shop.store
        .set_tickets(a, &marked, EVENT, qty(&[(NORMAL, 2)]), ts(resolution))
        .await
        .unwrap();
    assert_eq!(
        shop.store
            .purge_sessions(ts(idle + resolution - 1))
            .await
            .unwrap(),
        1
    );
    assert!(shop.store.session(a, &unmarked).await.unwrap().is_none());
    assert!(shop.store.session(a, &marked).await.unwrap().is_some());
}

pub(crate) async fn a_new_visit_lets_a_finished_order_go(h: &impl Harness) {
    let shop = shop(h).await;
    let a = &shop.account;
    let st = &shop.store;
    let s = shop.session(Some("r")).await;
    st.set_tickets(a, &s, EVENT, qty(&[(NORMAL, 1)]), ts(0))
        .await
        .unwrap();
    // Entering again keeps an open order.
    let again = st
        .enter_session(a, Some(s.clone()), entry(None), ts(1))
        .await
        .unwrap();
    assert!(again.order_id.is_some());
    shop.fill_in_checkout(&s, "C", "c@example.org", NumId(10000), 2)
        .await;
    let token = st.initiate_payment(a, &s, ts(5)).await.unwrap();
    let paid = st
        .finish_payment(a, &token, PaymentOutcome::Paid, ts(6))
        .await
        .unwrap();
    assert_eq!(
        st.session(a, &s).await.unwrap().unwrap().order_id,
        Some(paid.order_id)
    );
    // Entering after the purchase starts a new basket in the same session.
    let again = st
        .enter_session(a, Some(s.clone()), entry(None), ts(7))
        .await
        .unwrap();
    assert_eq!(again.id, s);
    assert_eq!(again.order_id, None);
    assert!(
        st.order_of_session(a, &s, paid.order_id)
            .await
            .unwrap()
            .is_some()
    );
    let _ = demo();
}
