//! The accounting that makes a load run checkable: which actions the server confirmed it
//! recorded, per ref and type.
//!
//! An action counts as acknowledged only when the response to its own request arrived
//! and says the change was made. When a request failed on the way (no response, or an
//! unexpected one) nobody knows whether the server recorded it: such actions are counted
//! as uncertain instead, so a checker can allow exactly that many extra items and no more.

use std::collections::BTreeMap;

use protocol::{ActionType, Ref};

/// Counts per action type.
pub(crate) type Counts = BTreeMap<ActionType, u64>;

/// What one shopper did.
#[derive(Debug, Default)]
pub(crate) struct ShopperTally {
    pub(crate) acknowledged: Counts,
    pub(crate) uncertain: Counts,
    pub(crate) errors: u64,
    /// Changes a shop rule refused (sold out, invalid input): nothing was recorded.
    pub(crate) refused: u64,
    pub(crate) orders_confirmed: u64,
}

impl ShopperTally {
    pub(crate) fn acknowledge(&mut self, action: ActionType) {
        *self.acknowledged.entry(action).or_default() += 1;
    }

    pub(crate) fn uncertain(&mut self, actions: &[ActionType]) {
        for action in actions {
            *self.uncertain.entry(action.clone()).or_default() += 1;
        }
    }

    pub(crate) fn actions(&self) -> u64 {
        self.acknowledged.values().sum()
    }
}

/// How a shopper's journey ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Bought,
    Abandoned,
    SoldOut,
    Failed,
}

/// The whole run, merged from every shopper.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    pub(crate) shoppers: u64,
    pub(crate) tracked_shoppers: u64,
    /// Every tracked shopper's ref, also those whose journey recorded nothing.
    pub(crate) acknowledged: BTreeMap<String, Counts>,
    /// Only refs with at least one uncertain action.
    pub(crate) uncertain: BTreeMap<String, Counts>,
    pub(crate) untracked_actions: u64,
    pub(crate) errors: u64,
    pub(crate) refused: u64,
    pub(crate) abandoned: u64,
    /// Shoppers who found every event they tried sold out.
    pub(crate) sold_out: u64,
    pub(crate) orders_confirmed: u64,
}

impl Totals {
    pub(crate) fn add(&mut self, reference: Option<&Ref>, tally: ShopperTally, ending: Ending) {
        self.shoppers += 1;
        self.errors += tally.errors;
        self.refused += tally.refused;
        self.orders_confirmed += tally.orders_confirmed;
        match ending {
            Ending::Abandoned => self.abandoned += 1,
            Ending::SoldOut => self.sold_out += 1,
            Ending::Bought | Ending::Failed => {}
        }
        match reference {
            Some(reference) => {
                self.tracked_shoppers += 1;
                let key = reference.as_str().to_owned();
                merge(
                    self.acknowledged.entry(key.clone()).or_default(),
                    tally.acknowledged,
                );
                if !tally.uncertain.is_empty() {
                    merge(self.uncertain.entry(key).or_default(), tally.uncertain);
                }
            }
            None => self.untracked_actions += tally.acknowledged.values().sum::<u64>(),
        }
    }

    pub(crate) fn merge(&mut self, other: Totals) {
        self.shoppers += other.shoppers;
        self.tracked_shoppers += other.tracked_shoppers;
        self.untracked_actions += other.untracked_actions;
        self.errors += other.errors;
        self.refused += other.refused;
        self.abandoned += other.abandoned;
        self.sold_out += other.sold_out;
        self.orders_confirmed += other.orders_confirmed;
        for (key, counts) in other.acknowledged {
            merge(self.acknowledged.entry(key).or_default(), counts);
        }
        for (key, counts) in other.uncertain {
            merge(self.uncertain.entry(key).or_default(), counts);
        }
    }

    /// Acknowledged actions of tracked shoppers, per type.
    pub(crate) fn by_type(&self) -> Counts {
        let mut out = Counts::new();
        for counts in self.acknowledged.values() {
            merge(&mut out, counts.clone());
        }
        out
    }

    pub(crate) fn tracked_actions(&self) -> u64 {
        self.acknowledged.values().flat_map(|c| c.values()).sum()
    }
}

fn merge(into: &mut Counts, from: Counts) {
    for (action, n) in from {
        *into.entry(action).or_default() += n;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn untracked_shoppers_leave_only_a_count() {
        let mut totals = Totals::default();
        let mut tally = ShopperTally::default();
        tally.acknowledge(ActionType::PageView);
        tally.acknowledge(ActionType::AddTickets);
        totals.add(None, tally, Ending::Abandoned);

        let mut tally = ShopperTally::default();
        tally.acknowledge(ActionType::PageView);
        tally.uncertain(&[ActionType::CheckoutStart]);
        tally.errors += 1;
        let r = Ref::parse("a").unwrap();
        totals.add(Some(&r), tally, Ending::Failed);

        assert_eq!(totals.untracked_actions, 2);
        assert_eq!(totals.acknowledged.len(), 1);
        assert_eq!(totals.acknowledged["a"][&ActionType::PageView], 1);
        assert_eq!(totals.uncertain["a"][&ActionType::CheckoutStart], 1);
        assert_eq!((totals.shoppers, totals.tracked_shoppers), (2, 1));
        assert_eq!((totals.errors, totals.abandoned), (1, 1));
    }
}
