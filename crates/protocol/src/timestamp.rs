//! Timestamps: UTC, written `2022-09-13T11:46:25` (ISO 8601 without offset, spec section 4),
//! read in every form the original API and its clients use.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A moment in UTC with millisecond precision. It is written with whole seconds, as the
/// contract's `ts` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a timestamp: expected YYYY-MM-DDTHH:MM:SS, optionally with fractional seconds and an offset (Z, +0000 or +00:00)"
)]
pub struct ParseTimestampError;

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

impl Timestamp {
    pub fn from_unix_ms(unix_ms: i64) -> Self {
        Timestamp { unix_ms }
    }

    pub fn now() -> Self {
        Timestamp::from(Utc::now())
    }

    pub fn unix_ms(self) -> i64 {
        self.unix_ms
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.unix_ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(dt: DateTime<Utc>) -> Self {
        Timestamp {
            unix_ms: dt.timestamp_millis(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.to_datetime();
        // Every item is written with its `ts`: the fields one by one, without parsing
        // the format string each time. Years of other than four digits take the format
        // string's sign and width.
        if !(0..=9999).contains(&dt.year()) {
            return write!(f, "{}", dt.format(FORMAT));
        }
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The date-time part is fixed-width; what follows is optional fractional seconds
        // and an optional offset.
        if s.len() < 19 || !s.is_char_boundary(19) {
            return Err(ParseTimestampError);
        }
        let (base, mut rest) = s.split_at(19);
        let naive = match parse_plain(base) {
            Some(naive) => naive,
            None => {
                // Also accept the lowercase `t` some clients write.
                let base = base.replacen('t', "T", 1);
                NaiveDateTime::parse_from_str(&base, FORMAT).map_err(|_| ParseTimestampError)?
            }
        };
        let mut millis: i64 = 0;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return Err(ParseTimestampError);
            }
            let padded = format!("{:0<3}", &frac[..digits.min(3)]);
            millis = padded.parse().map_err(|_| ParseTimestampError)?;
            rest = &frac[digits..];
        }
        let offset_secs: i64 = match rest {
            "" | "Z" | "z" => 0,
            _ => parse_offset(rest)?,
        };
        let unix_ms = naive.and_utc().timestamp_millis() + millis - offset_secs * 1000;
        Ok(Timestamp { unix_ms })
    }
}

/// `YYYY-MM-DDTHH:MM:SS` with exactly these digits, the form every item's `ts` has, read
/// without the format machinery: a consumer reads one per item, and the format string
/// took 7 % of its time catching up a backlog. `None` for anything else (other widths,
/// a leap second), which the format string then decides on.
fn parse_plain(base: &str) -> Option<NaiveDateTime> {
    let b = base.as_bytes();
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if b.len() != 19
        || !matches!(b[10], b'T' | b't')
        || separators.iter().any(|&(at, sep)| b[at] != sep)
    {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, number(5, 7)?, number(8, 10)?)?;
    date.and_hms_opt(number(11, 13)?, number(14, 16)?, number(17, 19)?)
}

/// `+hhmm`, `+hh:mm` or `+hh`, and the same with `-`.
fn parse_offset(s: &str) -> Result<i64, ParseTimestampError> {
    let (sign, digits) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(ParseTimestampError),
    };
    let compact: String = match digits.len() {
        2 | 4 => digits.to_owned(),
        5 if digits.as_bytes()[2] == b':' => digits.replacen(':', "", 1),
        _ => return Err(ParseTimestampError),
    };
    if !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseTimestampError);
    }
    let hours: i64 = compact[..2].parse().map_err(|_| ParseTimestampError)?;
    let minutes: i64 = if compact.len() == 4 {
        compact[2..].parse().map_err(|_| ParseTimestampError)?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return Err(ParseTimestampError);
    }
    Ok(sign * (hours * 3600 + minutes * 60))
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE_MS: i64 = 1_664_182_800_000; // 2022-09-26T09:00:00Z

    #[test]
    fn accepts_every_documented_form() {
        for s in [
            "2022-09-26T09:00:00",
            "2022-09-26T09:00:00Z",
            "2022-09-26T09:00:00+0000",
            "2022-09-26T09:00:00+00:00",
            "2022-09-26T11:00:00+0200",
            "2022-09-26T07:00:00-02:00",
            "2022-09-26t09:00:00",
        ] {
            assert_eq!(s.parse::<Timestamp>().unwrap().unix_ms(), BASE_MS, "{s}");
        }
        assert_eq!(
            "2022-09-26T09:00:00.25Z"
                .parse::<Timestamp>()
                .unwrap()
                .unix_ms(),
            BASE_MS + 250
        );
        assert_eq!(
            "2022-09-26T09:00:00.123456+00:00"
                .parse::<Timestamp>()
                .unwrap()
                .unix_ms(),
            BASE_MS + 123
        );
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "2022-09-26",
            "2022-09-26 09:00:00",
            "2022-13-26T09:00:00",
            "2022-09-26T09:00:00+",
            "2022-09-26T09:00:00+000",
            "2022-09-26T09:00:00+2500",
            "2022-09-26T09:00:00.",
            "2022-09-26T09:00:00Zjunk",
            "2022-09-26T09:00:00é",
            "1664182800",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn the_plain_form_reads_as_the_format_string_does() {
        for s in [
            "2022-09-26T09:00:00",
            "2024-02-29T23:59:59",
            "1970-01-01T00:00:00",
            "0001-01-01t00:00:00",
            "9999-12-31T23:59:59",
        ] {
            let by_format =
                NaiveDateTime::parse_from_str(&s.replacen('t', "T", 1), FORMAT).unwrap();
            assert_eq!(parse_plain(s), Some(by_format), "{s}");
        }
        for other in [
            "2023-02-29T00:00:00",
            "2022-09-26T24:00:00",
            "2022-09-26T09:60:00",
            "2022-09-26T09:00:60",
            "2022-09-26T09:00:0x",
            "+2022-09-26T09:00:0",
            "2022-09-26X09:00:00",
        ] {
            assert_eq!(parse_plain(other), None, "{other}");
        }
        // A leap second is left to the format string.
        assert!("2016-12-31T23:59:60".parse::<Timestamp>().is_ok());
    }

    #[test]
    fn writes_as_the_format_string_does() {
        for ms in [
            i64::MIN,
            -62_167_219_200_001,
            -62_167_219_200_000,
            -1,
            0,
            951_782_400_000,
            BASE_MS + 999,
            253_402_300_799_999,
            253_402_300_800_000,
            i64::MAX,
        ] {
            let ts = Timestamp::from_unix_ms(ms);
            assert_eq!(
                ts.to_string(),
                ts.to_datetime().format(FORMAT).to_string(),
                "{ms}"
            );
        }
    }

    #[test]
    fn writes_whole_seconds_without_offset() {
        let ts = Timestamp::from_unix_ms(BASE_MS + 999);
        assert_eq!(ts.to_string(), "2022-09-26T09:00:00");
        assert_eq!(
            serde_json::to_string(&ts).unwrap(),
            r#""2022-09-26T09:00:00""#
        );
    }
}
