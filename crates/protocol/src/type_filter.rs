//! The `eventtypes` filter of an eventstream request: a bounded set of type names, so a
//! request costs one hash lookup per item scanned however many names it lists.

use std::collections::HashSet;

use crate::ActionType;

/// The types a reader asked for. Unknown names are kept: they simply match nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeFilter {
    names: HashSet<String>,
}

/// Why an `eventtypes` list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeFilterError {
    #[error("empty type name in the comma-separated list")]
    EmptyName,
    #[error("at most {max} type names, got {got}", max = TypeFilter::MAX_NAMES)]
    TooMany { got: usize },
}

impl TypeFilter {
    /// More names than the contract has types, with room for types added later; a longer
    /// list is a mistake or an attempt to make every scan expensive.
    pub const MAX_NAMES: usize = 64;

    /// Parses the comma-separated list of `eventtypes` (spaces around names ignored).
    /// `None` for an absent or blank list: every type.
    pub fn parse(list: &str) -> Result<Option<TypeFilter>, TypeFilterError> {
        let list = list.trim();
        if list.is_empty() {
            return Ok(None);
        }
        let names: Vec<&str> = list.split(',').map(str::trim).collect();
        if names.len() > Self::MAX_NAMES {
            return Err(TypeFilterError::TooMany { got: names.len() });
        }
        if names.iter().any(|n| n.is_empty()) {
            return Err(TypeFilterError::EmptyName);
        }
        Ok(Some(TypeFilter {
            names: names.into_iter().map(str::to_owned).collect(),
        }))
    }

    /// Whether an item of this type passes.
    pub fn contains(&self, kind: &str) -> bool {
        self.names.contains(kind)
    }
}

impl FromIterator<ActionType> for TypeFilter {
    fn from_iter<I: IntoIterator<Item = ActionType>>(iter: I) -> Self {
        TypeFilter {
            names: iter.into_iter().map(|t| t.as_str().to_owned()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_matches_names_exactly() {
        assert_eq!(TypeFilter::parse("").unwrap(), None);
        assert_eq!(TypeFilter::parse("  ").unwrap(), None);
        let filter = TypeFilter::parse("webshop:pageview, webshop:nope")
            .unwrap()
            .unwrap();
        assert!(filter.contains("webshop:pageview"));
        assert!(filter.contains("webshop:nope"));
        assert!(!filter.contains("webshop:add_tickets"));
        assert!(!filter.contains("webshop:pageview "));
        assert_eq!(TypeFilter::parse("a,,b"), Err(TypeFilterError::EmptyName));
    }

    #[test]
    fn takes_at_most_64_names() {
        let names = |n: usize| {
            (0..n)
                .map(|i| format!("t{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let filter = TypeFilter::parse(&names(64)).unwrap().unwrap();
        assert!(filter.contains("t0") && filter.contains("t63"));
        assert_eq!(
            TypeFilter::parse(&names(65)),
            Err(TypeFilterError::TooMany { got: 65 })
        );
    }

    #[test]
    fn collects_action_types() {
        let filter: TypeFilter = [ActionType::PageView, ActionType::Other("x:y".into())]
            .into_iter()
            .collect();
        assert!(filter.contains("webshop:pageview") && filter.contains("x:y"));
        assert!(!filter.contains("webshop:add_tickets"));
    }
}
