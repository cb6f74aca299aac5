//! The effective widget parameters of spec section 6: what the integrator passed, checked,
//! with the defaults filled in. They drive the pages and are `pageview.params`.

use protocol::NumId;
use shop::WidgetParams;

use super::error::PageError;
use super::query::QueryParams;

/// Parameters that are never part of `pageview.params`.
const EXCLUDED: [&str; 4] = ["accesskey", "signature", "l", "ordercode"];

/// Parameters with a default, and the values each may take (empty: any).
const DEFAULTS: [(&str, &str, &[&str]); 8] = [
    (
        "flow",
        "checkout",
        &["checkout", "basket", "basketwithcheckout", "return"],
    ),
    ("edit", "yes", &["yes", "no"]),
    ("reservemoretickets", "yes", &["yes", "no"]),
    ("panels", "customer,delivery,payment", &[]),
    ("oncompletion", "orderdetail", &["orderdetail", "return"]),
    ("withauthentication", "no", &["yes", "no"]),
    ("subscribe", "no", &["yes", "no"]),
    ("skinid", "", &[]),
];

/// Known parameters without a default: `null` when absent.
const OPTIONAL: [&str; 9] = [
    "event",
    "product",
    "returnurl",
    "requiredfields",
    "ticketinfo",
    "extraevents",
    "extraproducts",
    "promocode",
    "saleschannelid",
];

/// Reads the parameters. `flow_default` is the `flow` a sales flow implies;
/// `saleschannel` the account's default, filled in when none is given.
pub(crate) fn effective(
    query: &QueryParams,
    flow_default: &str,
    saleschannel: Option<NumId>,
) -> Result<WidgetParams, PageError> {
    let mut params = WidgetParams::new();
    for (name, value) in query.pairs() {
        if EXCLUDED.contains(&name.as_str()) {
            continue;
        }
        params.insert(name.clone(), Some(value.clone()));
    }
    for (name, default, allowed) in DEFAULTS {
        let default = if name == "flow" {
            flow_default
        } else {
            default
        };
        let value = params
            .entry(name.to_owned())
            .or_insert_with(|| (!default.is_empty()).then(|| default.to_owned()));
        if let Some(v) = value
            && !allowed.is_empty()
            && !allowed.contains(&v.as_str())
        {
            return Err(PageError::BadRequest(format!(
                "parameter {name} must be one of {}",
                allowed.join(", ")
            )));
        }
    }
    for name in OPTIONAL {
        params.entry(name.to_owned()).or_insert(None);
    }
    if params.get("saleschannelid") == Some(&None) {
        params.insert(
            "saleschannelid".to_owned(),
            saleschannel.map(|id| id.to_string()),
        );
    }
    for name in ["event", "product", "saleschannelid"] {
        if let Some(Some(v)) = params.get(name)
            && v.parse::<NumId>().is_err()
        {
            return Err(PageError::BadRequest(format!(
                "parameter {name} must be a numeric id"
            )));
        }
    }
    if let Some(Some(list)) = params.get("extraproducts")
        && list
            .split(',')
            .filter(|s| !s.is_empty())
            .any(|id| id.trim().parse::<NumId>().is_err())
    {
        return Err(PageError::BadRequest(
            "parameter extraproducts must be a comma-separated list of product ids".into(),
        ));
    }
    if let Some(Some(url)) = params.get("returnurl")
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(PageError::BadRequest(
            "parameter returnurl must be an http or https URL".into(),
        ));
    }
    if params.get("oncompletion") == Some(&Some("return".into()))
        && params.get("returnurl") == Some(&None)
    {
        return Err(PageError::BadRequest(
            "oncompletion=return needs a returnurl".into(),
        ));
    }
    Ok(params)
}

/// A parameter's value, when set.
pub(crate) fn get<'a>(params: &'a WidgetParams, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .and_then(|v| v.as_deref())
        .filter(|v| !v.is_empty())
}

pub(crate) fn is_yes(params: &WidgetParams, name: &str) -> bool {
    get(params, name) != Some("no")
}

/// The checkout panels to show, in the order customer, delivery, payment.
pub(crate) fn panel_shown(params: &WidgetParams, panel: &str) -> bool {
    get(params, "panels").is_some_and(|p| p.split(',').any(|x| x.trim() == panel))
}

/// The product ids `extraproducts` lists, or `None` for every product.
pub(crate) fn extra_products(params: &WidgetParams) -> Option<Vec<NumId>> {
    get(params, "extraproducts").map(|list| {
        list.split(',')
            .filter_map(|id| id.trim().parse().ok())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<WidgetParams, PageError> {
        effective(
            &QueryParams::parse(Some(q)).unwrap(),
            "checkout",
            Some(NumId(10000)),
        )
    }

    #[test]
    fn fills_defaults_and_drops_excluded_parameters() {
        let p =
            parse("event=10003&accesskey=x&signature=y&l=nl&ref=u&detail=ticketdetails").unwrap();
        assert_eq!(get(&p, "event"), Some("10003"));
        assert_eq!(get(&p, "flow"), Some("checkout"));
        assert_eq!(get(&p, "edit"), Some("yes"));
        assert_eq!(get(&p, "panels"), Some("customer,delivery,payment"));
        assert_eq!(get(&p, "saleschannelid"), Some("10000"));
        assert_eq!(get(&p, "detail"), Some("ticketdetails"));
        assert_eq!(p.get("promocode"), Some(&None));
        for gone in ["accesskey", "signature", "l", "ref"] {
            assert!(!p.contains_key(gone), "{gone}");
        }
    }

    #[test]
    fn refuses_values_that_cannot_work() {
        for bad in [
            "flow=sideways",
            "edit=maybe",
            "event=abc",
            "saleschannelid=1x",
            "returnurl=javascript:alert(1)",
            "oncompletion=return",
            "extraproducts=1,x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("oncompletion=return&returnurl=https://example.org/").is_ok());
    }
}
