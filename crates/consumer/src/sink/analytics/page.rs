//! The page a `webshop:pageview` names, as a title and a URL that analytics tools can
//! report on. Shared by the GA4 and Matomo sinks.
//!
//! The URL is built, not copied: the item has only the page name and the widget
//! parameters. Only parameters that say what was shown (`event`, `product`, `flow`,
//! `saleschannelid`) go into it; the others are defaults or free text (`returnurl`,
//! `promocode`) that could carry an integrator's own identifiers.

use std::collections::BTreeMap;

/// At most this many characters: GA4's limit for any parameter value.
pub(in crate::sink) const MAX_LOCATION_CHARS: usize = 100;

/// The parameters that make it into the URL, in this order.
const LOCATION_PARAMS: [&str; 4] = ["event", "product", "flow", "saleschannelid"];

/// `addtickets` becomes `Add tickets`; a page this version does not know keeps its name.
pub(in crate::sink) fn page_title(page: &str) -> String {
    match page {
        "addtickets" => "Add tickets".to_owned(),
        "summary" => "Summary".to_owned(),
        "checkout" => "Checkout".to_owned(),
        "orderdetail" => "Order detail".to_owned(),
        "basket" => "Basket".to_owned(),
        other => other.to_owned(),
    }
}

/// `<base>/<page>?event=..&product=..`, at most [`MAX_LOCATION_CHARS`] characters:
/// parameters that would not fit are left out. `base` is checked to be short enough
/// when the sink is configured.
pub(in crate::sink) fn page_location(
    base: &reqwest::Url,
    page: &str,
    params: &BTreeMap<String, Option<String>>,
) -> String {
    let mut location = base.as_str().trim_end_matches('/').to_owned();
    location.push('/');
    location.extend(form_urlencoded::byte_serialize(page.as_bytes()));
    let mut separator = '?';
    for name in LOCATION_PARAMS {
        let Some(Some(value)) = params.get(name) else {
            continue;
        };
        let pair: String = form_urlencoded::Serializer::new(String::new())
            .append_pair(name, value)
            .finish();
        if location.len() + 1 + pair.len() <= MAX_LOCATION_CHARS {
            location.push(separator);
            location.push_str(&pair);
            separator = '&';
        }
    }
    location
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn params(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn location_keeps_what_was_shown_and_drops_free_text() {
        let base = reqwest::Url::parse("https://shop.example/widgets/demo/").unwrap();
        let p = params(&[
            ("event", Some("10003")),
            ("flow", Some("checkout")),
            ("product", None),
            ("returnurl", Some("https://integrator.example/?user=alice")),
            ("promocode", Some("SPRING")),
            ("edit", Some("yes")),
        ]);
        assert_eq!(
            page_location(&base, "addtickets", &p),
            "https://shop.example/widgets/demo/addtickets?event=10003&flow=checkout"
        );
        assert_eq!(page_title("addtickets"), "Add tickets");
        assert_eq!(page_title("newpage"), "newpage");
    }

    #[test]
    fn location_never_exceeds_the_limit() {
        let base = reqwest::Url::parse("https://webshop.invalid").unwrap();
        let long = "9".repeat(80);
        let p = params(&[("event", Some(&long)), ("flow", Some("checkout"))]);
        let location = page_location(&base, "summary", &p);
        assert!(location.len() <= MAX_LOCATION_CHARS, "{location}");
        assert_eq!(location, "https://webshop.invalid/summary?flow=checkout");
    }
}
