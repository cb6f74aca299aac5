//! When an event takes place: real instants, and the time zone they are shown in.
//!
//! The catalog writes a start either as an RFC 3339 date-time with its offset
//! (`2026-12-12T20:00:00+01:00`) or as a local date-time with an IANA zone name
//! (`start = "2026-12-12T20:00"`, `timezone = "Europe/Brussels"`). Both become an instant
//! and a zone: the instant orders and compares, the zone tells the pages which wall-clock
//! time to print.

use std::fmt;

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, Zoned};

/// The time zone an event's times are shown in: an IANA zone, or a fixed offset when the
/// catalog gave only an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// `Europe/Brussels`, or `+01:00`: what the store keeps.
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// An IANA zone name or a `+HH:MM` / `-HH:MM` offset, as [`Zone::name`] writes it.
    pub fn parse(name: &str) -> Result<Zone, String> {
        if name.starts_with(['+', '-']) {
            return parse_offset(name)
                .map(Zone::fixed)
                .ok_or_else(|| format!("{name:?} is not an offset like \"+01:00\""));
        }
        TimeZone::get(name)
            .map(|tz| Zone {
                name: name.to_owned(),
                tz,
            })
            .map_err(|_| format!("{name:?} is not a time zone name like \"Europe/Brussels\""))
    }

    fn fixed(offset: Offset) -> Zone {
        let seconds = offset.seconds();
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.unsigned_abs() / 60;
        Zone {
            name: format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60),
            tz: TimeZone::fixed(offset),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instant as a wall-clock time in this zone.
    pub fn at(&self, instant: Timestamp) -> Zoned {
        instant.to_zoned(self.tz.clone())
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// `+HH:MM` or `-HH:MM`, at most 18 hours.
fn parse_offset(text: &str) -> Option<Offset> {
    let (sign, rest) = match text.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    if hours > 18 || minutes > 59 {
        return None;
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// When an event starts and (optionally) ends, and where on earth's clocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTime {
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub zone: Zone,
}

impl EventTime {
    /// The start as a wall-clock time in the event's zone.
    pub fn local_start(&self) -> Zoned {
        self.zone.at(self.start)
    }

    pub fn local_end(&self) -> Option<Zoned> {
        self.end.map(|end| self.zone.at(end))
    }
}

/// Reads a catalog's `start` (or `end`) with the event's optional `timezone`. Returns
/// the instant and the zone to show it in.
pub(crate) fn parse_instant(text: &str, zone: Option<&Zone>) -> Result<(Timestamp, Zone), String> {
    let text = text.trim();
    let with_offset = text.parse::<Timestamp>().ok();
    // A civil date-time ignores an offset, but refuses `Z` (which has no local time).
    let local = text.parse::<DateTime>().ok();
    let not_a_time = || {
        format!(
            "{text:?} is not a date-time: write it like \"2026-12-12T20:00:00+01:00\", \
             or \"2026-12-12T20:00\" with timezone = \"Europe/Brussels\""
        )
    };
    match (with_offset, zone) {
        (Some(instant), Some(zone)) => {
            if local.is_some_and(|local| zone.at(instant).datetime() != local) {
                return Err(format!(
                    "{text:?} has an offset that {zone} does not have on that date: \
                     leave the offset out, or correct it"
                ));
            }
            Ok((instant, zone.clone()))
        }
        (Some(instant), None) => {
            let utc = instant.to_zoned(TimeZone::UTC).datetime();
            let seconds = local.map_or(0, |local| local.duration_since(utc).as_secs());
            let offset = i32::try_from(seconds)
                .ok()
                .and_then(|s| Offset::from_seconds(s).ok())
                .ok_or_else(|| format!("{text:?} has an offset out of range"))?;
            Ok((instant, Zone::fixed(offset)))
        }
        (None, Some(zone)) => {
            let local = local.ok_or_else(not_a_time)?;
            let zoned = local
                .to_zoned(zone.tz.clone())
                .map_err(|e| format!("{text:?} does not exist in {zone}: {e}"))?;
            Ok((zoned.timestamp(), zone.clone()))
        }
        (None, None) if local.is_some() => Err(format!(
            "{text:?} has no offset: add one (\"+01:00\") or give the event a timezone"
        )),
        (None, None) => Err(not_a_time()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_or_a_zone_gives_the_same_instant() {
        let (a, fixed) = parse_instant("2026-12-12T20:00:00+01:00", None).unwrap();
        assert_eq!(fixed.name(), "+01:00");
        let brussels = Zone::parse("Europe/Brussels").unwrap();
        let (b, zone) = parse_instant("2026-12-12T20:00", Some(&brussels)).unwrap();
        assert_eq!(a, b);
        assert_eq!(zone.name(), "Europe/Brussels");
        assert_eq!(a.to_string(), "2026-12-12T19:00:00Z");
        // Summer time: the zone knows the offset changes.
        let (summer, _) = parse_instant("2026-07-01T20:00", Some(&brussels)).unwrap();
        assert_eq!(summer.to_string(), "2026-07-01T18:00:00Z");
        let (c, _) = parse_instant("2026-12-12T20:00:00+01:00", Some(&brussels)).unwrap();
        assert_eq!(a, c);
        let (z, utc) = parse_instant("2026-12-12T19:00:00Z", None).unwrap();
        assert_eq!((z, utc.name()), (a, "+00:00"));
        assert_eq!(
            Zone::parse("-03:30").unwrap().at(a).datetime().to_string(),
            "2026-12-12T15:30:00"
        );
    }

    #[test]
    fn wrong_times_and_zones_are_refused() {
        let brussels = Zone::parse("Europe/Brussels").unwrap();
        assert!(parse_instant("2026-12-12T20:00", None).is_err());
        assert!(parse_instant("2026-12-12T20:00:00+03:00", Some(&brussels)).is_err());
        assert!(parse_instant("Sat 12 Dec 2026, 20:00", None).is_err());
        assert!(parse_instant("2026-02-30T20:00", Some(&brussels)).is_err());
        for bad in ["Mars/Olympus", "+1", "+25:00", "", "+01:60"] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
    }
}
