//! The widget parameters of spec section 6: what the integrator passed, checked, with the
//! defaults filled in. They are parsed here, once, into the typed [`WidgetSettings`] the
//! pages and the shop rules use; the raw map is kept only as `pageview.params`.

use protocol::NumId;
use shop::{Flow, OnCompletion, Panels, ReturnUrl, WidgetParams, WidgetSettings};

use super::error::PageError;
use super::query::QueryParams;

/// Parameters that are never part of `pageview.params` (spec section 3); `ref` never
/// reaches the parameters at all. Everything else the integrator passed is kept.
const EXCLUDED: [&str; 3] = ["accesskey", "signature", "l"];

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

/// The parameters of an entry: the raw map for `pageview.params` and the settings. The
/// return URL is not yet followable; the entry decides that.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub(crate) params: WidgetParams,
    pub(crate) settings: WidgetSettings,
}

/// Reads the parameters. `flow_default` is the `flow` a sales flow implies;
/// `saleschannel` the account's default, filled in when none is given.
pub(crate) fn parse(
    query: &QueryParams,
    flow_default: &str,
    saleschannel: Option<NumId>,
) -> Result<Parsed, PageError> {
    let params = effective(query, flow_default, saleschannel)?;
    let settings = typed(&params)?;
    Ok(Parsed { params, settings })
}

fn effective(
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
    Ok(params)
}

/// A parameter's value, when set and not empty.
fn value<'a>(params: &'a WidgetParams, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .and_then(|v| v.as_deref())
        .filter(|v| !v.is_empty())
}

fn id(params: &WidgetParams, name: &str) -> Result<Option<NumId>, PageError> {
    value(params, name)
        .map(|v| {
            v.parse::<NumId>().map_err(|_| {
                PageError::BadRequest(format!("parameter {name} must be a numeric id"))
            })
        })
        .transpose()
}

fn typed(params: &WidgetParams) -> Result<WidgetSettings, PageError> {
    let flow = match value(params, "flow") {
        Some("basket") => Flow::Basket,
        Some("basketwithcheckout") => Flow::BasketWithCheckout,
        Some("return") => Flow::Return,
        _ => Flow::Checkout,
    };
    let panels = value(params, "panels").unwrap_or("");
    let shown = |panel: &str| panels.split(',').any(|p| p.trim() == panel);
    let on_completion = match value(params, "oncompletion") {
        Some("return") => OnCompletion::Return,
        _ => OnCompletion::OrderDetail,
    };
    let return_url = value(params, "returnurl")
        .map(|url| {
            return_host(url).map(|_| ReturnUrl {
                url: url.to_owned(),
                followable: false,
            })
        })
        .transpose()?;
    if on_completion == OnCompletion::Return && return_url.is_none() {
        return Err(PageError::BadRequest(
            "oncompletion=return needs a returnurl".into(),
        ));
    }
    let extra_products = value(params, "extraproducts")
        .map(|list| {
            list.split(',')
                .filter(|s| !s.is_empty())
                .map(|id| id.trim().parse::<NumId>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    PageError::BadRequest(
                        "parameter extraproducts must be a comma-separated list of product ids"
                            .into(),
                    )
                })
        })
        .transpose()?;
    id(params, "product")?;
    Ok(WidgetSettings {
        flow,
        edit: value(params, "edit") != Some("no"),
        reserve_more: value(params, "reservemoretickets") != Some("no"),
        panels: Panels {
            customer: shown("customer"),
            delivery: shown("delivery"),
            payment: shown("payment"),
        },
        on_completion,
        return_url,
        saleschannel: id(params, "saleschannelid")?,
        extra_products,
        event: id(params, "event")?,
    })
}

/// The host (with its port, when the URL names one) of an http or https URL, lowercase.
pub(crate) fn return_host(url: &str) -> Result<String, PageError> {
    let bad = || PageError::BadRequest("parameter returnurl must be an http or https URL".into());
    let parsed = url::Url::parse(url).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad());
    }
    let host = parsed.host_str().ok_or_else(bad)?.to_ascii_lowercase();
    Ok(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_q(q: &str) -> Result<Parsed, PageError> {
        parse(
            &QueryParams::parse(Some(q)).unwrap(),
            "checkout",
            Some(NumId(10000)),
        )
    }

    #[test]
    fn fills_defaults_and_drops_excluded_parameters() {
        let p = parse_q(
            "event=10003&accesskey=x&signature=y&l=nl&ref=u&detail=ticketdetails&ordercode=A1",
        )
        .unwrap();
        let raw = &p.params;
        assert_eq!(value(raw, "event"), Some("10003"));
        assert_eq!(value(raw, "flow"), Some("checkout"));
        assert_eq!(value(raw, "edit"), Some("yes"));
        assert_eq!(value(raw, "panels"), Some("customer,delivery,payment"));
        assert_eq!(value(raw, "saleschannelid"), Some("10000"));
        assert_eq!(value(raw, "detail"), Some("ticketdetails"));
        assert_eq!(value(raw, "ordercode"), Some("A1"));
        assert_eq!(raw.get("promocode"), Some(&None));
        for gone in ["accesskey", "signature", "l", "ref"] {
            assert!(!raw.contains_key(gone), "{gone}");
        }
        let s = &p.settings;
        assert_eq!(s.event, Some(NumId(10003)));
        assert_eq!(s.flow, Flow::Checkout);
        assert!(s.edit && s.reserve_more);
        assert_eq!(s.panels, Panels::default());
        assert_eq!(s.saleschannel, Some(NumId(10000)));
        assert_eq!(s.return_url, None);
    }

    #[test]
    fn reads_every_setting() {
        let p = parse_q(
            "flow=basket&edit=no&reservemoretickets=no&panels=payment&oncompletion=return\
             &returnurl=https%3A%2F%2FShop.Example%3A8443%2Fdone&extraproducts=1,2&saleschannelid=7",
        )
        .unwrap()
        .settings;
        assert_eq!(p.flow, Flow::Basket);
        assert!(!p.edit && !p.reserve_more);
        assert_eq!(
            p.panels,
            Panels {
                customer: false,
                delivery: false,
                payment: true
            }
        );
        assert_eq!(p.on_completion, OnCompletion::Return);
        assert_eq!(
            p.return_url.as_ref().unwrap().url,
            "https://Shop.Example:8443/done"
        );
        assert_eq!(
            p.return_url(),
            None,
            "not followable until the entry says so"
        );
        assert_eq!(p.extra_products, Some(vec![NumId(1), NumId(2)]));
        assert_eq!(p.saleschannel, Some(NumId(7)));
        assert_eq!(
            return_host("https://Shop.Example:8443/done").unwrap(),
            "shop.example:8443"
        );
        assert_eq!(
            return_host("https://shop.example@evil.example/").unwrap(),
            "evil.example"
        );
    }

    #[test]
    fn refuses_values_that_cannot_work() {
        for bad in [
            "flow=sideways",
            "edit=maybe",
            "event=abc",
            "saleschannelid=1x",
            "returnurl=javascript:alert(1)",
            "returnurl=https:%2F%2F",
            "oncompletion=return",
            "extraproducts=1,x",
        ] {
            assert!(parse_q(bad).is_err(), "{bad}");
        }
        assert!(parse_q("oncompletion=return&returnurl=https://example.org/").is_ok());
    }
}
