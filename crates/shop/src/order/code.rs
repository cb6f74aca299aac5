//! Public order codes. Shoppers see these instead of the order's id: ids count up, so
//! showing them would tell anyone how many orders a shop takes. A code is ten symbols
//! of an alphabet without look-alikes (no 0/O, 1/I/L), in two groups: `K7QM4-XD9PA`,
//! about 49 random bits.

use rand::Rng;

use crate::Error;
use crate::storage::{AccountId, Tx};

const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

fn random_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut code = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
    }
    code
}

/// A code no other order of the account has. The store's unique index is the last word;
/// this makes a clash (one in a quadrillion per pair) never reach it in practice.
pub(crate) fn new_code(tx: &mut dyn Tx, account: AccountId) -> Result<String, Error> {
    for _ in 0..8 {
        let code = random_code();
        if tx.order_by_code(account, &code)?.is_none() {
            return Ok(code);
        }
    }
    Err(Error::Store("no free order code after 8 tries".into()))
}

/// Whether `text` can be an order code (of this scheme, or given to an older order by
/// the store's migration): short, uppercase letters, digits and `-`. Anything else is
/// not looked up.
pub fn plausible_code(text: &str) -> bool {
    (1..=32).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_random_and_readable() {
        let codes: HashSet<String> = (0..1000).map(|_| random_code()).collect();
        assert_eq!(codes.len(), 1000);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            assert!(plausible_code(code));
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
        }
        assert!(!plausible_code("abc"));
        assert!(!plausible_code("../x"));
        assert!(!plausible_code(""));
    }
}
