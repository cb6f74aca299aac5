//! Who is tracked, and under which `ref`. Every tracked shopper gets its own ref, so the
//! eventstream can be checked per shopper. Some refs look hostile on purpose (markup,
//! quotes, URL syntax, emoji, the full 512 bytes): the contract says a ref is any UTF-8 up
//! to 512 bytes, kept byte for byte, so a load run also proves that.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use protocol::{InvalidRef, Ref};

/// Whether shopper `n` comes with a ref. Spreads the tracked share evenly over the run
/// (exactly `ceil(n * ratio)` of the first `n` shoppers), so even short runs hold both
/// kinds and shopper 0 is tracked whenever the ratio is above zero.
pub(crate) fn is_tracked(n: u64, ratio: f64) -> bool {
    let before = (n as f64 * ratio).ceil();
    let after = ((n + 1) as f64 * ratio).ceil();
    after > before
}

/// The ref of shopper `n` of the run with this seed: unique within the run, starting with
/// `lg-<seed>-<n>` so runs with different seeds never share one.
pub(crate) fn for_shopper(seed: u64, n: u64) -> Result<Ref, InvalidRef> {
    let plain = format!("lg-{seed}-{n}");
    let text = match n % 8 {
        2 => format!("{plain} <script>alert(\"x\")</script> & more"),
        4 => format!("{plain} \u{1F39F}\u{FE0F} caf\u{E9} \u{2713}"),
        5 => format!("{plain}?a=1&b=2+3%20#frag"),
        6 => full_length(&plain),
        7 => format!("{plain} 'single' \"double\" \\back\\slash "),
        _ => plain,
    };
    Ref::parse(&text)
}

/// A ref of exactly `Ref::MAX_BYTES` bytes, multi-byte characters included.
fn full_length(prefix: &str) -> String {
    let mut s = format!("{prefix}:");
    while s.len() + '\u{FC}'.len_utf8() <= Ref::MAX_BYTES {
        s.push('\u{FC}');
    }
    while s.len() < Ref::MAX_BYTES {
        s.push('x');
    }
    s
}

/// The ref as a query value: every byte that is not a letter or digit percent-encoded,
/// so `+`, `&`, `#` and spaces arrive as themselves.
pub(crate) fn query_value(reference: &Ref) -> String {
    utf8_percent_encode(reference.as_str(), NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;

    use super::*;

    #[test]
    fn refs_are_valid_unique_and_some_are_hostile() {
        let refs: Vec<Ref> = (0..100).map(|n| for_shopper(7, n).unwrap()).collect();
        let unique: HashSet<&str> = refs.iter().map(Ref::as_str).collect();
        assert_eq!(unique.len(), refs.len());
        assert!(refs.iter().all(|r| r.as_str().len() <= Ref::MAX_BYTES));
        assert!(refs.iter().any(|r| r.as_str().len() == Ref::MAX_BYTES));
        assert!(refs.iter().any(|r| r.as_str().contains('<')));
        assert!(refs.iter().any(|r| !r.as_str().is_ascii()));
        let q = query_value(&refs[5]);
        assert!(
            q.chars().all(|c| c.is_ascii_alphanumeric() || c == '%'),
            "{q}"
        );
    }

    #[test]
    fn the_tracked_share_is_spread_evenly() {
        let tracked = |ratio| (0..40).filter(|&n| is_tracked(n, ratio)).count();
        assert_eq!(tracked(0.8), 32);
        assert_eq!(tracked(0.0), 0);
        assert_eq!(tracked(1.0), 40);
        assert_eq!(tracked(0.5), 20);
        assert!(is_tracked(0, 0.01));
    }
}
