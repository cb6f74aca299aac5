//! Money and dates as each language writes them: `€ 1,234.50` and `€ 1.234,50`,
//! "Saturday 12 December 2026, 20:00" and "zaterdag 12 december 2026, 20:00". The
//! eventstream keeps its own decimal strings; this is only for people.

use jiff::Zoned;
use protocol::Money;
use shop::EventTime;

use super::Texts;

/// An amount in euros, with at least two decimals (more only when the amount has more),
/// digits grouped by three, and a no-break space after the sign.
pub(crate) fn money(amount: Money, t: &Texts) -> String {
    let plain = amount.to_string();
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(t.group_separator);
        }
        grouped.push(digit);
    }
    let fraction = format!("{fraction:0<2}");
    format!("€\u{a0}{sign}{grouped}{}{fraction}", t.decimal_separator)
}

/// `20:00`.
pub(crate) fn clock(at: &Zoned) -> String {
    format!("{:02}:{:02}", at.hour(), at.minute())
}

/// `Saturday 12 December 2026`.
pub(crate) fn day(at: &Zoned, t: &Texts) -> String {
    let weekday = usize::try_from(at.weekday().to_monday_zero_offset()).unwrap_or(0);
    let month = usize::try_from(at.month() - 1).unwrap_or(0);
    format!(
        "{} {} {} {}",
        t.weekdays[weekday % 7],
        at.day(),
        t.months[month % 12],
        at.year()
    )
}

/// When an event takes place, in words: its day and start time, and its end time (with
/// its day when that is another one).
#[derive(Debug, Clone)]
pub(crate) struct EventDate {
    pub(crate) day: String,
    pub(crate) time: String,
    /// The start as a machine-readable date-time, for `<time datetime>`.
    pub(crate) iso: String,
}

impl EventDate {
    pub(crate) fn new(time: &EventTime, t: &Texts) -> EventDate {
        let start = time.local_start();
        let mut clock_text = clock(&start);
        if let Some(end) = time.local_end() {
            clock_text.push_str(" – ");
            if end.date() != start.date() {
                clock_text.push_str(&day(&end, t));
                clock_text.push_str(", ");
            }
            clock_text.push_str(&clock(&end));
        }
        EventDate {
            day: day(&start, t),
            time: clock_text,
            iso: start.timestamp().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{en::EN, nl::NL};
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    #[test]
    fn money_in_both_languages() {
        assert_eq!(money(m("12.5"), &EN), "€\u{a0}12.50");
        assert_eq!(money(m("12.5"), &NL), "€\u{a0}12,50");
        assert_eq!(money(m("0"), &EN), "€\u{a0}0.00");
        assert_eq!(money(m("140"), &NL), "€\u{a0}140,00");
        assert_eq!(money(m("1234567.891"), &EN), "€\u{a0}1,234,567.891");
        assert_eq!(money(m("1234.5"), &NL), "€\u{a0}1.234,50");
        assert_eq!(money(m("100"), &EN), "€\u{a0}100.00");
        assert_eq!(money(m("-3"), &EN), "€\u{a0}-3.00");
    }

    #[test]
    fn event_dates_in_both_languages() {
        let text = "[[saleschannels]]\nid = 1\nname = \"W\"\n[[events]]\nid = 1\nname = \"x\"\n\
                    start = \"2026-12-12T20:00\"\nend = \"2026-12-13T01:30\"\n\
                    timezone = \"Europe/Brussels\"\nvenue = { name = \"v\", address = \"a\" }\n\
                    capacity = 1\n";
        let catalog = shop::parse_catalog(text).unwrap();
        let time = &catalog.events[0].time;
        let en = EventDate::new(time, &EN);
        assert_eq!(en.day, "Saturday 12 December 2026");
        assert_eq!(en.time, "20:00 – Sunday 13 December 2026, 01:30");
        assert_eq!(en.iso, "2026-12-12T19:00:00Z");
        let nl = EventDate::new(time, &NL);
        assert_eq!(nl.day, "zaterdag 12 december 2026");
    }
}
