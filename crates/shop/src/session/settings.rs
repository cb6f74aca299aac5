//! The widget settings of a session: the integrator's parameters, parsed once at the
//! entry into typed values and stored with the session. The pages and the rules read
//! these; the raw parameters are kept only as `pageview.params`.

use std::collections::BTreeMap;

use protocol::NumId;
use serde::{Deserialize, Serialize};

/// Effective widget parameters, as `pageview.params` carries them.
pub type WidgetParams = BTreeMap<String, Option<String>>;

/// Where the shopper goes after choosing tickets (`flow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flow {
    /// Straight to checkout.
    #[default]
    Checkout,
    /// To the basket.
    Basket,
    /// To the basket, which offers checkout.
    BasketWithCheckout,
    /// Back to the integrator's site (when a return URL may be followed).
    Return,
}

/// What follows a paid order (`oncompletion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnCompletion {
    #[default]
    OrderDetail,
    Return,
}

/// The checkout panels shown (`panels`); a hidden panel is filled with the first option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Panels {
    pub customer: bool,
    pub delivery: bool,
    pub payment: bool,
}

impl Default for Panels {
    fn default() -> Self {
        Panels {
            customer: true,
            delivery: true,
            payment: true,
        }
    }
}

/// The integrator's `returnurl`, and whether the shop may send shoppers there: only when
/// it came in a signed widget URL or its host is on the account's list of return hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnUrl {
    pub url: String,
    pub followable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WidgetSettings {
    pub flow: Flow,
    /// The basket may change ticket quantities (`edit`).
    pub edit: bool,
    /// More tickets may be added to an event that already has some (`reservemoretickets`).
    pub reserve_more: bool,
    pub panels: Panels,
    pub on_completion: OnCompletion,
    pub return_url: Option<ReturnUrl>,
    /// The sales channel orders are made in; the account's default when absent.
    pub saleschannel: Option<NumId>,
    /// The products the basket offers; every product when absent.
    pub extra_products: Option<Vec<NumId>>,
    /// The event the entry leads to.
    pub event: Option<NumId>,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            flow: Flow::default(),
            edit: true,
            reserve_more: true,
            panels: Panels::default(),
            on_completion: OnCompletion::default(),
            return_url: None,
            saleschannel: None,
            extra_products: None,
            event: None,
        }
    }
}

impl WidgetSettings {
    /// The return URL, only when the shop may follow it.
    pub fn return_url(&self) -> Option<&str> {
        self.return_url
            .as_ref()
            .filter(|r| r.followable)
            .map(|r| r.url.as_str())
    }

    /// Whether the basket offers product `id`.
    pub fn offers_product(&self, id: NumId) -> bool {
        self.extra_products
            .as_ref()
            .is_none_or(|ids| ids.contains(&id))
    }
}
