//! The action types of spec section 3. Reading accepts types this version does not know,
//! because the contract says more may be added.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `type` of an eventstream item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionType {
    PageView,
    AddTickets,
    RemoveTickets,
    AddProducts,
    RemoveProducts,
    CheckoutStart,
    CheckoutAddCustomerInfo,
    CheckoutAddDeliveryInfo,
    CheckoutAddPaymentInfo,
    CheckoutInitiatePayment,
    CheckoutConfirm,
    /// A type this version does not know; kept verbatim so it can be forwarded or skipped.
    Other(String),
}

impl ActionType {
    /// The 11 types of the contract, in the order of spec section 3.
    pub const KNOWN: [ActionType; 11] = [
        ActionType::PageView,
        ActionType::AddTickets,
        ActionType::RemoveTickets,
        ActionType::AddProducts,
        ActionType::RemoveProducts,
        ActionType::CheckoutStart,
        ActionType::CheckoutAddCustomerInfo,
        ActionType::CheckoutAddDeliveryInfo,
        ActionType::CheckoutAddPaymentInfo,
        ActionType::CheckoutInitiatePayment,
        ActionType::CheckoutConfirm,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            ActionType::PageView => "webshop:pageview",
            ActionType::AddTickets => "webshop:add_tickets",
            ActionType::RemoveTickets => "webshop:remove_tickets",
            ActionType::AddProducts => "webshop:add_products",
            ActionType::RemoveProducts => "webshop:remove_products",
            ActionType::CheckoutStart => "webshop:checkout_start",
            ActionType::CheckoutAddCustomerInfo => "webshop:checkout_addcustomerinfo",
            ActionType::CheckoutAddDeliveryInfo => "webshop:checkout_adddeliveryinfo",
            ActionType::CheckoutAddPaymentInfo => "webshop:checkout_addpaymentinfo",
            ActionType::CheckoutInitiatePayment => "webshop:checkout_initiatepayment",
            ActionType::CheckoutConfirm => "webshop:checkout_confirm",
            ActionType::Other(other) => other,
        }
    }

    pub fn is_known(&self) -> bool {
        !matches!(self, ActionType::Other(_))
    }
}

impl From<&str> for ActionType {
    fn from(s: &str) -> Self {
        ActionType::KNOWN
            .iter()
            .find(|known| known.as_str() == s)
            .cloned()
            .unwrap_or_else(|| ActionType::Other(s.to_owned()))
    }
}

impl FromStr for ActionType {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ActionType::from(s))
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ActionType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ActionType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(ActionType::from(s.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_round_trip() {
        for t in ActionType::KNOWN {
            assert!(t.is_known());
            assert_eq!(ActionType::from(t.as_str()), t);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<ActionType>(&json).unwrap(), t);
        }
    }

    #[test]
    fn unknown_types_are_kept_verbatim() {
        let t: ActionType = serde_json::from_str(r#""webshop:wishlist_add""#).unwrap();
        assert_eq!(t, ActionType::Other("webshop:wishlist_add".into()));
        assert!(!t.is_known());
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""webshop:wishlist_add""#
        );
    }
}
