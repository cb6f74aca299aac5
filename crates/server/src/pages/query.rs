//! Query strings of widget and flow URLs, decoded to exact bytes. A generic decoder would
//! replace invalid UTF-8 silently; the contract wants an invalid `ref` refused, not
//! altered, so each value is checked here.

use percent_encoding::percent_decode;
use protocol::{InvalidRef, Ref};

use super::error::PageError;

/// The decoded parameters, in the order given.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
    reference: Option<Ref>,
}

/// At most this many parameters, so a hostile URL cannot make a huge session or item.
pub(crate) const MAX_PARAMS: usize = 32;
/// At most this many bytes in one value (a `ref` has its own limit of 512).
pub(crate) const MAX_VALUE: usize = 1024;
/// At most this many bytes in all names and values together (without `ref`): what one
/// session keeps of its parameters.
pub(crate) const MAX_TOTAL: usize = 4096;

fn decode(raw: &str) -> Vec<u8> {
    let plus_as_space = raw.replace('+', " ");
    percent_decode(plus_as_space.as_bytes()).collect()
}

impl QueryParams {
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, PageError> {
        let mut out = QueryParams::default();
        let mut total = 0usize;
        let query = query.unwrap_or("");
        for piece in query.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
            let name = String::from_utf8(decode(raw_name))
                .map_err(|_| PageError::BadRequest("a parameter name is not valid UTF-8".into()))?;
            let value = decode(raw_value);
            if name == "ref" {
                if out.reference.is_some() {
                    return Err(PageError::BadRequest("ref is given twice".into()));
                }
                out.reference = match Ref::from_bytes(&value) {
                    Ok(r) => Some(r),
                    // An empty ref is no ref: nothing to link actions to.
                    Err(InvalidRef::Empty) => None,
                    Err(e) => return Err(PageError::BadRequest(e.to_string())),
                };
                continue;
            }
            if value.len() > MAX_VALUE {
                return Err(PageError::BadRequest(format!(
                    "parameter {name:?} is longer than {MAX_VALUE} bytes"
                )));
            }
            let value = String::from_utf8(value).map_err(|_| {
                PageError::BadRequest(format!("parameter {name:?} is not valid UTF-8"))
            })?;
            if out.pairs.iter().any(|(n, _)| *n == name) {
                return Err(PageError::BadRequest(format!(
                    "parameter {name:?} is given twice"
                )));
            }
            total += name.len() + value.len();
            out.pairs.push((name, value));
            if out.pairs.len() > MAX_PARAMS {
                return Err(PageError::BadRequest(format!(
                    "at most {MAX_PARAMS} parameters"
                )));
            }
            if total > MAX_TOTAL {
                return Err(PageError::BadRequest(format!(
                    "the parameters are longer than {MAX_TOTAL} bytes together"
                )));
            }
        }
        Ok(out)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter but `ref`, as (name, value).
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The `ref`, with the raw value as the signature may cover it.
    pub(crate) fn reference(&self) -> Option<&Ref> {
        self.reference.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exact_values_and_the_ref() {
        let q = QueryParams::parse(Some(
            "event=10003&returnurl=http%3A%2F%2Fx.org%2F%3Fa%3Db&ref=%3Cb%3E%22%26%F0%9F%98%80+x",
        ))
        .unwrap();
        assert_eq!(q.get("event"), Some("10003"));
        assert_eq!(q.get("returnurl"), Some("http://x.org/?a=b"));
        assert_eq!(q.reference().unwrap().as_str(), "<b>\"&😀 x");
        assert!(q.pairs().iter().all(|(n, _)| n != "ref"));
    }

    #[test]
    fn refuses_invalid_and_oversized_values() {
        assert!(QueryParams::parse(Some("ref=%FF")).is_err());
        let long = "a".repeat(513);
        assert!(QueryParams::parse(Some(&format!("ref={long}"))).is_err());
        assert!(QueryParams::parse(Some(&format!("ref={}", "a".repeat(512)))).is_ok());
        assert!(QueryParams::parse(Some("event=1&event=2")).is_err());
        assert!(QueryParams::parse(Some("ref=a&ref=b")).is_err());
        assert!(QueryParams::parse(Some("x=%FF")).is_err());
        let value = |n: usize| format!("v={}", "a".repeat(n));
        assert!(QueryParams::parse(Some(&value(MAX_VALUE))).is_ok());
        assert!(QueryParams::parse(Some(&value(MAX_VALUE + 1))).is_err());
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("p{i}=1"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert!(QueryParams::parse(Some(&many(MAX_PARAMS))).is_ok());
        assert!(QueryParams::parse(Some(&many(MAX_PARAMS + 1))).is_err());
        let long = |n: usize| {
            (0..n)
                .map(|i| format!("p{i}={}", "a".repeat(1000)))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert!(QueryParams::parse(Some(&long(4))).is_ok());
        assert!(
            QueryParams::parse(Some(&long(5))).is_err(),
            "over {MAX_TOTAL} in total"
        );
        assert!(
            QueryParams::parse(Some("ref="))
                .unwrap()
                .reference()
                .is_none()
        );
    }
}
