//! Signed widget URLs (spec section 6), as an integrator's server makes them.

use crate::signature::widget_signature;

/// The three signed widgets.
pub const WIDGETS: [&str; 3] = ["addtickets", "basket", "checkout"];

/// `{base}/widgets/{account}/{widget}?{params}&accesskey=AK&signature=SIG[&ref=R]`.
/// Values are URL-encoded; the signature covers the raw values, not `ref`, which can be
/// appended later by anyone without breaking it.
pub fn widget_url(
    base: &str,
    account: &str,
    widget: &str,
    params: &[(String, String)],
    accesskey: &str,
    secretkey: &str,
    reference: Option<&str>,
) -> String {
    let signature = widget_signature(
        account,
        accesskey,
        secretkey,
        params.iter().map(|(n, v)| (n.as_str(), v.as_str())),
    );
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    query.append_pair("accesskey", accesskey);
    query.append_pair("signature", &signature);
    if let Some(r) = reference {
        query.append_pair("ref", r);
    }
    format!(
        "{}/widgets/{account}/{widget}?{}",
        base.trim_end_matches('/'),
        query.finish()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_raw_values_and_leaves_ref_out() {
        let params = vec![
            ("event".to_owned(), "123".to_owned()),
            ("skinid".to_owned(), "25".to_owned()),
            (
                "returnurl".to_owned(),
                "http://www.ticketmatic.com".to_owned(),
            ),
            ("l".to_owned(), "fr".to_owned()),
        ];
        let url = widget_url(
            "https://shop.example/",
            "club",
            "addtickets",
            &params,
            "142dda885ec6024f934a40c1",
            "abd2e5893bd447dc7331af1db8df42fdc62fc5c8f9f04784",
            Some("user 1&2"),
        );
        assert_eq!(
            url,
            "https://shop.example/widgets/club/addtickets?event=123&skinid=25&returnurl=http%3A%2F%2Fwww.ticketmatic.com&l=fr&accesskey=142dda885ec6024f934a40c1&signature=ae727e02cea8c27322a24af487af950b4d8d26978e57151bfed7e356dd593c00&ref=user+1%262"
        );
    }
}
