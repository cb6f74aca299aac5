//! What every page shows around its content: the organiser, the language switch and
//! where the shopper is in the purchase.

use crate::pages::i18n::Texts;

/// The steps of a purchase, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    Tickets,
    Basket,
    Details,
    Payment,
    Done,
}

const STEPS: [Step; 5] = [
    Step::Tickets,
    Step::Basket,
    Step::Details,
    Step::Payment,
    Step::Done,
];

impl Step {
    fn label(self, t: &Texts) -> &'static str {
        match self {
            Step::Tickets => t.step_tickets,
            Step::Basket => t.step_basket,
            Step::Details => t.step_details,
            Step::Payment => t.step_payment,
            Step::Done => t.step_done,
        }
    }
}

/// One step of the indicator: `done`, `current` or `todo` (a CSS class).
#[derive(Debug)]
pub(crate) struct StepView {
    pub(crate) label: &'static str,
    pub(crate) state: &'static str,
}

/// The language switch: a form back to the same page in the other language.
#[derive(Debug)]
pub(crate) struct Switch {
    pub(crate) base: String,
    pub(crate) csrf: String,
    /// The page to come back to (a path of this account's pages).
    pub(crate) back: String,
}

#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) t: &'static Texts,
    pub(crate) title: String,
    pub(crate) organiser: Option<String>,
    pub(crate) steps: Vec<StepView>,
    pub(crate) switch: Option<Switch>,
}

impl Frame {
    pub(crate) fn new(t: &'static Texts, title: impl Into<String>) -> Frame {
        Frame {
            t,
            title: title.into(),
            organiser: None,
            steps: Vec::new(),
            switch: None,
        }
    }

    /// Shows the step indicator at `current`.
    pub(crate) fn at(mut self, current: Step) -> Frame {
        self.steps = STEPS
            .iter()
            .map(|&step| StepView {
                label: step.label(self.t),
                state: match step.cmp(&current) {
                    std::cmp::Ordering::Less => "done",
                    std::cmp::Ordering::Equal => "current",
                    std::cmp::Ordering::Greater => "todo",
                },
            })
            .collect();
        self
    }

    pub(crate) fn organiser(mut self, name: Option<String>) -> Frame {
        self.organiser = name;
        self
    }

    pub(crate) fn switch(mut self, switch: Switch) -> Frame {
        self.switch = Some(switch);
        self
    }
}
