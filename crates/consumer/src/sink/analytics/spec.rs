//! The `key=value,key=value` text that follows `ga4:` or `matomo:` on the command line,
//! read into a map once so that each sink's config only asks for its keys. The Matomo sink
//! reads its spec with this too.

use std::collections::BTreeMap;

/// The pairs of one sink spec. Unknown, repeated and empty keys were refused when it was
/// read, so a typo never silently falls back to a default.
#[derive(Debug)]
pub(in crate::sink) struct Pairs<'a> {
    sink: &'static str,
    map: BTreeMap<&'a str, &'a str>,
}

impl<'a> Pairs<'a> {
    /// Reads `spec` for the sink `sink`, which knows the keys `known`.
    pub(in crate::sink) fn parse(
        sink: &'static str,
        spec: &'a str,
        known: &[&str],
    ) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for entry in spec.split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let Some((key, value)) = entry.split_once('=') else {
                return Err(format!(
                    "{sink}: `{entry}` is not key=value (expected e.g. `{sink}:{}=...`)",
                    known.first().copied().unwrap_or("key")
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            if !known.contains(&key) {
                return Err(format!(
                    "{sink}: unknown key `{key}` (known keys: {})",
                    known.join(", ")
                ));
            }
            if value.is_empty() {
                return Err(format!("{sink}: `{key}` has an empty value"));
            }
            if map.insert(key, value).is_some() {
                return Err(format!("{sink}: `{key}` is given twice"));
            }
        }
        Ok(Pairs { sink, map })
    }

    pub(in crate::sink) fn get(&self, key: &str) -> Option<&'a str> {
        self.map.get(key).copied()
    }

    pub(in crate::sink) fn require(&self, key: &str) -> Result<&'a str, String> {
        self.get(key)
            .ok_or_else(|| format!("{}: missing `{key}=...`", self.sink))
    }

    /// A yes/no key; absent is `false`.
    pub(in crate::sink) fn flag(&self, key: &str) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(false),
            Some("true" | "yes" | "1") => Ok(true),
            Some("false" | "no" | "0") => Ok(false),
            Some(other) => Err(format!(
                "{}: `{key}` must be true or false, not `{other}`",
                self.sink
            )),
        }
    }

    /// An absolute http(s) URL.
    pub(in crate::sink) fn url(&self, key: &str) -> Result<Option<reqwest::Url>, String> {
        let Some(text) = self.get(key) else {
            return Ok(None);
        };
        let url = reqwest::Url::parse(text)
            .map_err(|e| format!("{}: `{key}` is not a URL ({e})", self.sink))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{}: `{key}` must be an http or https URL",
                self.sink
            ));
        }
        Ok(Some(url))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const KNOWN: &[&str] = &["a", "b", "on"];

    #[test]
    fn reads_pairs_and_flags() {
        let p = Pairs::parse("x", " a=1 , b=two=2,on=true,", KNOWN).unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("two=2"));
        assert!(p.flag("on").unwrap());
        assert_eq!(p.require("c").unwrap_err(), "x: missing `c=...`");
    }

    #[test]
    fn refuses_unknown_repeated_empty_and_bare_keys() {
        let err = Pairs::parse("x", "a=1,zz=2", KNOWN).unwrap_err();
        assert!(
            err.contains("unknown key `zz`") && err.contains("a, b, on"),
            "{err}"
        );
        assert!(
            Pairs::parse("x", "a=1,a=2", KNOWN)
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            Pairs::parse("x", "a=", KNOWN)
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            Pairs::parse("x", "a", KNOWN)
                .unwrap_err()
                .contains("not key=value")
        );
        let p = Pairs::parse("x", "on=maybe", KNOWN).unwrap();
        assert!(p.flag("on").is_err());
    }

    #[test]
    fn urls_must_be_http() {
        let p = Pairs::parse("x", "a=ftp://h/,b=http://127.0.0.1:9/x", KNOWN).unwrap();
        assert!(p.url("a").is_err());
        assert_eq!(
            p.url("b").unwrap().unwrap().as_str(),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(p.url("on").unwrap(), None);
    }
}
