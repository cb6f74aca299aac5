//! `GET /api/1/{account}/eventstream` (spec section 5): the query, parsed into typed
//! values with an error that names the parameter, and the page as clients read it.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Item, ItemId, Timestamp, TypeFilter};

/// The query parameters exactly as they arrived, before validation.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawQuery {
    pub id: Option<String>,
    pub ts: Option<String>,
    pub eventtypes: Option<String>,
    pub limit: Option<String>,
    pub wait: Option<String>,
}

/// Where a read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// No `id` and no `ts`: the oldest retained item.
    Oldest,
    /// `id`: this id, inclusive.
    Id(ItemId),
    /// `ts`: the first item whose id time is at or after this instant.
    Time(Timestamp),
}

/// A validated eventstream query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventstreamQuery {
    pub start: StartAt,
    /// `None`: every type.
    pub types: Option<TypeFilter>,
    pub limit: usize,
    pub wait: Duration,
}

/// A parameter that could not be used, named so the 400 answer can say which and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("parameter `id`: {0}")]
    Id(String),
    #[error("parameter `ts`: {0}")]
    Ts(String),
    #[error("parameters `id` and `ts` cannot be combined: pass one of them")]
    IdAndTs,
    #[error("parameter `limit`: must be a whole number from 1 to {max}", max = EventstreamQuery::MAX_LIMIT)]
    Limit,
    #[error("parameter `wait`: must be a whole number of seconds from 0 to {max}", max = EventstreamQuery::MAX_WAIT_SECS)]
    Wait,
    #[error("parameter `eventtypes`: {0}")]
    EventTypes(String),
}

impl EventstreamQuery {
    pub const DEFAULT_LIMIT: usize = 1000;
    pub const MAX_LIMIT: usize = 10_000;
    pub const MAX_WAIT_SECS: u64 = 60;

    pub fn parse(raw: &RawQuery) -> Result<Self, QueryError> {
        let start = match (&raw.id, &raw.ts) {
            (Some(_), Some(_)) => return Err(QueryError::IdAndTs),
            (Some(id), None) => StartAt::Id(
                id.parse()
                    .map_err(|e: crate::ParseItemIdError| QueryError::Id(e.to_string()))?,
            ),
            (None, Some(ts)) => {
                StartAt::Time(query_timestamp(ts).map_err(|e| QueryError::Ts(e.to_string()))?)
            }
            (None, None) => StartAt::Oldest,
        };
        let types = match raw.eventtypes.as_deref() {
            None => None,
            Some(list) => {
                TypeFilter::parse(list).map_err(|e| QueryError::EventTypes(e.to_string()))?
            }
        };
        let limit = match &raw.limit {
            None => Self::DEFAULT_LIMIT,
            Some(s) => {
                parse_bounded(s, 1, Self::MAX_LIMIT as u64).ok_or(QueryError::Limit)? as usize
            }
        };
        let wait = match &raw.wait {
            None => Duration::ZERO,
            Some(s) => Duration::from_secs(
                parse_bounded(s, 0, Self::MAX_WAIT_SECS).ok_or(QueryError::Wait)?,
            ),
        };
        Ok(EventstreamQuery {
            start,
            types,
            limit,
            wait,
        })
    }

    /// Whether an item of this type passes the `eventtypes` filter.
    pub fn wants(&self, kind: &str) -> bool {
        self.types.as_ref().is_none_or(|types| types.contains(kind))
    }
}

/// A `+` written unescaped in a query string arrives as a space (form encoding), so an
/// offset ` 0000` after the date and time is read as `+0000`. A space anywhere else is
/// still refused.
fn query_timestamp(ts: &str) -> Result<Timestamp, crate::ParseTimestampError> {
    match ts.get(19..) {
        Some(tail) if tail.contains(' ') => {
            format!("{}{}", &ts[..19], tail.replacen(' ', "+", 1)).parse()
        }
        _ => ts.parse(),
    }
}

fn parse_bounded(s: &str, min: u64, max: u64) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: u64 = s.parse().ok()?;
    (min..=max).contains(&v).then_some(v)
}

/// A page of the eventstream as a client reads it. It accepts what the original API sends
/// (`results: null`, no `oldestid`, no `gap`) as well as what ours sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventstreamPage {
    #[serde(deserialize_with = "null_as_empty")]
    pub results: Vec<Item>,
    pub nextid: ItemId,
    pub moreresults: bool,
    #[serde(default)]
    pub oldestid: Option<ItemId>,
    #[serde(default)]
    pub gap: bool,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Item>, D::Error> {
    Ok(Option::<Vec<Item>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawQuery {
        let mut q = RawQuery::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "id" => q.id = v,
                "ts" => q.ts = v,
                "eventtypes" => q.eventtypes = v,
                "limit" => q.limit = v,
                "wait" => q.wait = v,
                _ => unreachable!(),
            }
        }
        q
    }

    #[test]
    fn defaults() {
        let q = EventstreamQuery::parse(&RawQuery::default()).unwrap();
        assert_eq!(q.start, StartAt::Oldest);
        assert_eq!(q.types, None);
        assert_eq!(q.limit, 1000);
        assert_eq!(q.wait, Duration::ZERO);
        assert!(q.wants("anything"));
    }

    #[test]
    fn parses_every_parameter() {
        let q = EventstreamQuery::parse(&raw(&[
            ("id", "5-2"),
            ("eventtypes", "webshop:pageview, webshop:nope"),
            ("limit", "10000"),
            ("wait", "60"),
        ]))
        .unwrap();
        assert_eq!(q.start, StartAt::Id(ItemId::new(5, 2)));
        assert!(q.wants("webshop:pageview"));
        assert!(q.wants("webshop:nope"));
        assert!(!q.wants("webshop:add_tickets"));
        assert_eq!(q.limit, 10000);
        assert_eq!(q.wait, Duration::from_secs(60));
        for ts in [
            "2022-09-26T09:00:00+0000",
            "2022-09-26T09:00:00 0000",
            "2022-09-26T11:00:00 02:00",
            "2022-09-26T09:00:00.5 0000",
        ] {
            let q = EventstreamQuery::parse(&raw(&[("ts", ts)])).unwrap();
            let ms = if ts.contains(".5") { 500 } else { 0 };
            assert_eq!(
                q.start,
                StartAt::Time(Timestamp::from_unix_ms(1_664_182_800_000 + ms)),
                "{ts}"
            );
        }
    }

    #[test]
    fn rejects_bad_parameters_naming_them() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("id", "x")], "`id`"),
            (&[("ts", "yesterday")], "`ts`"),
            (&[("ts", "2022-09-26 09:00:00")], "`ts`"),
            (&[("ts", "2022-09-26T09:00:00  0000")], "`ts`"),
            (&[("ts", "2022-09-26T09:00:00 -0000")], "`ts`"),
            (
                &[("id", "1"), ("ts", "2022-09-26T09:00:00")],
                "`id` and `ts`",
            ),
            (&[("limit", "0")], "`limit`"),
            (&[("limit", "10001")], "`limit`"),
            (&[("limit", "-1")], "`limit`"),
            (&[("limit", "1.5")], "`limit`"),
            (&[("wait", "61")], "`wait`"),
            (&[("wait", "abc")], "`wait`"),
            (&[("eventtypes", "a,,b")], "`eventtypes`"),
            (&[("eventtypes", &["a"; 65].join(","))], "at most 64"),
        ];
        for (pairs, needle) in cases {
            let err = EventstreamQuery::parse(&raw(pairs))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn reads_pages_of_the_original_api() {
        let page: EventstreamPage = serde_json::from_str(
            r#"{"results":null,"nextid":"1661358385340-1","moreresults":false}"#,
        )
        .unwrap();
        assert!(page.results.is_empty());
        assert_eq!(page.nextid, ItemId::new(1661358385340, 1));
        assert_eq!(page.oldestid, None);
        assert!(!page.gap);
    }
}
