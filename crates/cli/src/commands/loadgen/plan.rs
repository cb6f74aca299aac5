//! What a shopper means to do, drawn from the run's seed before the journey starts: which
//! event, how many tickets, which detours (changing quantities, products, another event, a
//! mistyped e-mail address), where to give up, and how the payments go.
//!
//! Most shoppers buy. Every tenth takes the long way and tries everything, so any run
//! with a handful of tracked shoppers exercises every action type.

use rand::Rng;
use rand::rngs::StdRng;

/// Where a shopper may walk away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// On the add-tickets page, before adding anything.
    Tickets,
    /// In the basket, with tickets reserved (sometimes emptying it first).
    Basket,
    /// On the checkout page, before filling anything in.
    Checkout,
    /// On the checkout page, with the form filled in but not sent.
    Details,
    /// On the payment provider's page, without answering it.
    Provider,
}

const STAGES: [Stage; 5] = [
    Stage::Tickets,
    Stage::Basket,
    Stage::Checkout,
    Stage::Details,
    Stage::Provider,
];

/// How many tickets a shopper wants: mostly two.
const TICKETS: [u32; 7] = [1, 1, 2, 2, 2, 3, 4];

/// An answer of the test payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Paid,
    Cancelled,
    Failed,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Paid => "paid",
            Outcome::Cancelled => "cancelled",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) event: u64,
    pub(crate) tickets: u32,
    /// Tickets of a second event, added from the basket.
    pub(crate) more: Option<(u64, u32)>,
    /// Change a ticket quantity in the basket (up, down, or to another price).
    pub(crate) change_tickets: bool,
    /// How many of a product to add (0: none).
    pub(crate) products: u32,
    /// Take the products out again.
    pub(crate) remove_products: bool,
    /// Submit an invalid e-mail address first (a refused change).
    pub(crate) bad_email: bool,
    pub(crate) abandon: Option<Stage>,
    /// When abandoning in the basket: set every quantity to 0 first.
    pub(crate) empty_basket: bool,
    /// The provider's answers, in order; a journey that runs out of them without `Paid`
    /// walks away.
    pub(crate) payments: Vec<Outcome>,
}

impl Plan {
    pub(crate) fn draw(n: u64, events: &[u64], rng: &mut StdRng) -> Plan {
        if n.is_multiple_of(10) {
            return Plan::thorough(events);
        }
        let pick = |rng: &mut StdRng| events[rng.gen_range(0..events.len())];
        let event = pick(rng);
        let tickets = TICKETS[rng.gen_range(0..TICKETS.len())];
        let more = (events.len() > 1 && rng.gen_bool(0.15)).then(|| {
            let other = events
                .iter()
                .copied()
                .find(|&e| e != event)
                .unwrap_or(event);
            (other, rng.gen_range(1..=2))
        });
        let products = if rng.gen_bool(0.35) {
            rng.gen_range(1..=2)
        } else {
            0
        };
        let abandon = rng
            .gen_bool(0.25)
            .then(|| STAGES[rng.gen_range(0..STAGES.len())]);
        let payments = match rng.gen_range(0..100) {
            0..80 => vec![Outcome::Paid],
            80..88 => vec![Outcome::Cancelled, Outcome::Paid],
            88..94 => vec![Outcome::Failed, Outcome::Paid],
            94..97 => vec![Outcome::Cancelled],
            _ => vec![Outcome::Failed],
        };
        Plan {
            event,
            tickets,
            more,
            change_tickets: rng.gen_bool(0.25),
            products,
            remove_products: products > 0 && rng.gen_bool(0.4),
            bad_email: rng.gen_bool(0.1),
            abandon,
            empty_basket: rng.gen_bool(0.5),
            payments,
        }
    }

    /// Every detour at once, on the first (by default the largest) event.
    fn thorough(events: &[u64]) -> Plan {
        let event = events.first().copied().unwrap_or_default();
        Plan {
            event,
            tickets: 2,
            more: events.get(1).map(|&other| (other, 1)),
            change_tickets: true,
            products: 2,
            remove_products: true,
            bad_email: true,
            abandon: None,
            empty_basket: false,
            payments: vec![Outcome::Cancelled, Outcome::Failed, Outcome::Paid],
        }
    }

    pub(crate) fn abandons_at(&self, stage: Stage) -> bool {
        self.abandon == Some(stage)
    }
}
