//! Amounts of money: decimal, never floating point, written as the contract wants them
//! (`"20"`, `"12.5"`, `"0"`: a string without trailing zeros).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Mul};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn new(amount: Decimal) -> Self {
        Money(amount)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    /// Whole cents, for stores that keep integers.
    pub fn from_cents(cents: i64) -> Self {
        Money(Decimal::new(cents, 2))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // normalize() drops trailing zeros and turns -0 into 0.
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

impl FromStr for Money {
    type Err = rust_decimal::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::from_str_exact(s).map(Money)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl Mul<u32> for Money {
    type Output = Money;
    fn mul(self, rhs: u32) -> Money {
        Money(self.0 * Decimal::from(rhs))
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_without_trailing_zeros() {
        assert_eq!(Money::from_cents(2000).to_string(), "20");
        assert_eq!(Money::from_cents(1250).to_string(), "12.5");
        assert_eq!(Money::from_cents(0).to_string(), "0");
        assert_eq!(Money::from_cents(-0).to_string(), "0");
        assert_eq!(Money::from_cents(5).to_string(), "0.05");
        assert_eq!("100.00".parse::<Money>().unwrap().to_string(), "100");
    }

    #[test]
    fn serializes_as_string_and_adds_exactly() {
        let total: Money = ["0.1", "0.2", "19.7"]
            .iter()
            .map(|s| s.parse::<Money>().unwrap())
            .sum();
        assert_eq!(serde_json::to_string(&total).unwrap(), r#""20""#);
        assert_eq!(
            serde_json::from_str::<Money>(r#""12.50""#).unwrap(),
            Money::from_cents(1250)
        );
        assert_eq!(Money::from_cents(250) * 3, Money::from_cents(750));
    }
}
