//! The printable tickets of a paid order: one per seat, each with a code of its own and
//! that code as a QR code.
//!
//! A ticket's code is derived from the order's random public code and the ticket line,
//! so it needs no storage and cannot be guessed without the order's code (which only the
//! buyer's session sees).

use sha2::{Digest, Sha256};
use shop::{OrderStatus, OrderView};

use super::i18n::{Texts, money};
use super::views::{Catalog, PrintedTicket, QrCode};

/// The symbols of ticket codes: no look-alikes, as in order codes.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// `TKT-7KQM-4XD9-PAZE`: 60 bits of SHA-256 over the order code and the line id.
pub(crate) fn ticket_code(order_code: &str, line: protocol::NumId) -> String {
    let digest = Sha256::digest(format!("{order_code}:{line}").as_bytes());
    let mut bits = u64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]));
    let mut code = String::from("TKT");
    for i in 0..12 {
        if i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(
            ALPHABET[usize::try_from(bits & 31).unwrap_or(0)],
        ));
        bits >>= 5;
    }
    code
}

/// A ticket per ticket line of a paid order, in the order they were added.
pub(crate) fn printed_tickets(
    order: &OrderView,
    catalog: &Catalog,
    t: &Texts,
) -> Vec<PrintedTicket> {
    if order.status != OrderStatus::Confirmed {
        return Vec::new();
    }
    let count = order.state.tickets.len();
    order
        .state
        .tickets
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let code = ticket_code(&order.code, line.id);
            Some(PrintedTicket {
                number: i + 1,
                count,
                card: catalog.card(line.eventid, &line.eventname, t),
                label: catalog.ticket_label(line, t.lang),
                price: money(line.price + line.servicecharge, t),
                qr: QrCode::new(&code)?,
                code,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::NumId;

    #[test]
    fn ticket_codes_differ_per_line_and_order() {
        let a = ticket_code("K7QM4-XD9PA", NumId(1));
        assert_eq!(a.len(), 3 + 3 + 12);
        assert!(a.starts_with("TKT-"));
        assert_eq!(a, ticket_code("K7QM4-XD9PA", NumId(1)));
        assert_ne!(a, ticket_code("K7QM4-XD9PA", NumId(2)));
        assert_ne!(a, ticket_code("K7QM4-XD9PB", NumId(1)));
    }
}
