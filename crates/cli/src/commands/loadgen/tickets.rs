//! Filling in a tickets form (`q_<tickettypepriceid>` quantities) and knowing in advance
//! what the shop will record if it accepts: fewer than before for any price records one
//! `remove_tickets`, more for any price one `add_tickets`, unchanged records nothing.

use protocol::ActionType;
use rand::Rng;
use rand::rngs::StdRng;

use super::html::Form;

/// A submission of a tickets form.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) removes: bool,
    pub(crate) adds: bool,
}

impl Change {
    /// The actions the shop records when it accepts this change, in its order.
    pub(crate) fn actions(&self) -> Vec<ActionType> {
        let mut out = Vec::new();
        if self.removes {
            out.push(ActionType::RemoveTickets);
        }
        if self.adds {
            out.push(ActionType::AddTickets);
        }
        out
    }
}

/// The form's prices with the quantities the page shows.
fn quantities(form: &Form) -> Vec<(String, u32)> {
    form.inputs
        .iter()
        .filter(|i| i.name.starts_with("q_"))
        .map(|i| (i.name.clone(), i.value.trim().parse().unwrap_or(0)))
        .collect()
}

fn change(form: &Form, before: &[(String, u32)], after: &[(String, u32)]) -> Change {
    let fields = form
        .fields()
        .into_iter()
        .map(
            |(name, value)| match after.iter().find(|(n, _)| *n == name) {
                Some((_, qty)) => (name, qty.to_string()),
                None => (name, value),
            },
        )
        .collect();
    let pairs = || before.iter().zip(after);
    Change {
        fields,
        removes: pairs().any(|((_, old), (_, new))| new < old),
        adds: pairs().any(|((_, old), (_, new))| new > old),
    }
}

/// Adds `n` tickets, mostly of one favourite price. `None` when the form has no prices.
pub(crate) fn add(form: &Form, n: u32, rng: &mut StdRng) -> Option<Change> {
    let before = quantities(form);
    if before.is_empty() {
        return None;
    }
    let mut after = before.clone();
    let favourite = rng.gen_range(0..after.len());
    for _ in 0..n {
        let i = if rng.gen_bool(0.75) {
            favourite
        } else {
            rng.gen_range(0..after.len())
        };
        after[i].1 += 1;
    }
    Some(change(form, &before, &after))
}

/// One ticket more, one fewer, or one moved to another price (a removal and an addition
/// in one request). Never empties the form's event. `None` when nothing fits.
pub(crate) fn edit(form: &Form, rng: &mut StdRng) -> Option<Change> {
    let before = quantities(form);
    let total: u32 = before.iter().map(|(_, q)| q).sum();
    if before.is_empty() {
        return None;
    }
    let mut after = before.clone();
    let held: Vec<usize> = (0..after.len()).filter(|&i| after[i].1 > 0).collect();
    match rng.gen_range(0..3) {
        0 if total > 1 => {
            let i = held[rng.gen_range(0..held.len())];
            after[i].1 -= 1;
        }
        1 if !held.is_empty() && after.len() > 1 => {
            let from = held[rng.gen_range(0..held.len())];
            let to = (from + rng.gen_range(1..after.len())) % after.len();
            after[from].1 -= 1;
            after[to].1 += 1;
        }
        _ => {
            let i = rng.gen_range(0..after.len());
            after[i].1 += 1;
        }
    }
    Some(change(form, &before, &after))
}

/// Every quantity to 0.
pub(crate) fn clear(form: &Form) -> Change {
    let before = quantities(form);
    let after: Vec<_> = before.iter().map(|(n, _)| (n.clone(), 0)).collect();
    change(form, &before, &after)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rand::SeedableRng;

    use super::*;
    use crate::commands::loadgen::html::Page;

    fn form(q580: u32, q581: u32) -> Form {
        let html = format!(
            r#"<form id="f" action="/x"><input type="hidden" name="csrf" value="c">
<input type="hidden" name="event" value="10003">
<input type="number" name="q_580" value="{q580}"><input type="number" name="q_581" value="{q581}"></form>"#
        );
        Page::parse(html).form_by_id("f").unwrap().clone()
    }

    fn qty(change: &Change, name: &str) -> u32 {
        change
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .parse()
            .unwrap()
    }

    #[test]
    fn changes_predict_the_recorded_actions() {
        let mut rng = StdRng::seed_from_u64(1);
        let added = add(&form(0, 0), 3, &mut rng).unwrap();
        assert_eq!(qty(&added, "q_580") + qty(&added, "q_581"), 3);
        assert_eq!(added.actions(), [ActionType::AddTickets]);
        assert_eq!(added.fields[0], ("csrf".to_owned(), "c".to_owned()));

        let cleared = clear(&form(2, 1));
        assert_eq!(cleared.actions(), [ActionType::RemoveTickets]);

        for seed in 0..50 {
            let mut rng = StdRng::seed_from_u64(seed);
            let edited = edit(&form(2, 0), &mut rng).unwrap();
            let (a, b) = (qty(&edited, "q_580"), qty(&edited, "q_581"));
            assert!(a + b > 0);
            assert_eq!(edited.removes, a < 2);
            assert_eq!(edited.adds, a > 2 || b > 0);
            assert!(!edited.actions().is_empty());
        }
    }
}
