//! `--sink` specifications: `[NAME=]KIND:REST`, parsed into a typed configuration, and
//! the sink built from one.
//!
//! The name keys the sink's cursor and dead-letter files in the state directory. Without
//! `NAME=`, it is the kind plus a short hash of the whole specification, so the same
//! `--sink` finds its cursor again; give a name to keep the cursor when the specification
//! changes (a new secret, a renamed file).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::{
    Ga4Config, Ga4Sink, MatomoConfig, MatomoSink, NdjsonSink, Outcome, Sink, SinkError,
    WebhookConfig, WebhookSink,
};
use crate::ReceivedItem;

/// Where a sink sends items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkTarget {
    /// `ndjson:PATH`, or `ndjson:-` for stdout.
    Ndjson(Option<PathBuf>),
    /// `webhook:URL[,secret=S][,timeout=10s]`.
    Webhook(WebhookConfig),
    /// `ga4:measurement_id=G-...,api_secret=...[,...]`.
    Ga4(Ga4Config),
    /// `matomo:url=https://...,idsite=1[,...]`.
    Matomo(MatomoConfig),
}

/// A parsed `--sink`: its name and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkSpec {
    pub name: String,
    pub target: SinkTarget,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid sink {spec:?}: {reason}")]
pub struct InvalidSinkSpec {
    /// The specification with secrets removed.
    pub spec: String,
    pub reason: String,
}

impl SinkSpec {
    pub const MAX_NAME_LEN: usize = 64;

    fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= Self::MAX_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    }

    /// The kind, as written before the colon.
    pub fn kind(&self) -> &'static str {
        match self.target {
            SinkTarget::Ndjson(_) => "ndjson",
            SinkTarget::Webhook(_) => "webhook",
            SinkTarget::Ga4(_) => "ga4",
            SinkTarget::Matomo(_) => "matomo",
        }
    }

    /// Builds the sink. The NDJSON file is opened (and a torn last line cut) here. Sinks
    /// that keep state of their own (GA4 remembers the purchases it sent) keep it in
    /// `state_dir` unless their specification names another place.
    pub fn build(
        &self,
        http: reqwest::Client,
        state_dir: &Path,
    ) -> Result<AnySink, InvalidSinkSpec> {
        let inner = match &self.target {
            SinkTarget::Ndjson(None) => Inner::Ndjson(NdjsonSink::stdout(self.name.clone())),
            SinkTarget::Ndjson(Some(path)) => {
                Inner::Ndjson(NdjsonSink::open(self.name.clone(), path).map_err(|e| {
                    InvalidSinkSpec {
                        spec: self.to_string(),
                        reason: format!("cannot open {}: {e}", path.display()),
                    }
                })?)
            }
            SinkTarget::Webhook(config) => {
                Inner::Webhook(WebhookSink::new(self.name.clone(), config.clone(), http))
            }
            SinkTarget::Ga4(config) => {
                let config = match config.state_dir() {
                    Some(_) => config.clone(),
                    None => config.clone().with_state_dir(state_dir),
                };
                Inner::Ga4(Box::new(Ga4Sink::new(config, http)))
            }
            SinkTarget::Matomo(config) => {
                Inner::Matomo(Box::new(MatomoSink::new(config.clone(), http)))
            }
        };
        Ok(AnySink {
            name: self.name.clone(),
            inner,
        })
    }
}

/// Removes `secret=...` and similar values from a specification, for messages.
fn redact(spec: &str) -> String {
    spec.split(',')
        .map(|part| match part.split_once('=') {
            Some((key, _)) if key.contains("secret") || key.contains("token") => {
                format!("{key}=<redacted>")
            }
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for SinkSpec {
    /// `NAME=KIND:destination`, without secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            SinkTarget::Ndjson(None) => write!(f, "{}=ndjson:-", self.name),
            SinkTarget::Ndjson(Some(path)) => write!(f, "{}=ndjson:{}", self.name, path.display()),
            SinkTarget::Webhook(c) => write!(f, "{}=webhook:{}", self.name, c.url),
            SinkTarget::Ga4(c) => write!(
                f,
                "{}=ga4:measurement_id={}{}",
                self.name,
                c.measurement_id(),
                if c.debug() { ",debug=true" } else { "" }
            ),
            SinkTarget::Matomo(c) => write!(
                f,
                "{}=matomo:url={},idsite={}",
                self.name,
                c.endpoint(),
                c.idsite()
            ),
        }
    }
}

impl FromStr for SinkSpec {
    type Err = InvalidSinkSpec;

    fn from_str(spec: &str) -> Result<SinkSpec, InvalidSinkSpec> {
        let invalid = |reason: String| InvalidSinkSpec {
            spec: redact(spec),
            reason,
        };
        let (name, body) = match (spec.find('='), spec.find(':')) {
            (Some(eq), Some(colon)) if eq < colon => (Some(&spec[..eq]), &spec[eq + 1..]),
            _ => (None, spec),
        };
        let (kind, rest) = body.split_once(':').ok_or_else(|| {
            invalid("expected KIND:..., e.g. ndjson:items.ndjson or webhook:http://...".into())
        })?;
        let target = match kind {
            "ndjson" => match rest {
                "" => return Err(invalid("ndjson: needs a path, or - for stdout".into())),
                "-" => SinkTarget::Ndjson(None),
                path => SinkTarget::Ndjson(Some(PathBuf::from(path))),
            },
            "webhook" => SinkTarget::Webhook(WebhookConfig::parse(rest).map_err(invalid)?),
            "ga4" => SinkTarget::Ga4(Ga4Config::parse(rest).map_err(invalid)?),
            "matomo" => SinkTarget::Matomo(MatomoConfig::parse(rest).map_err(invalid)?),
            other => {
                return Err(invalid(format!(
                    "unknown sink kind {other:?}: use ndjson, webhook, ga4 or matomo"
                )));
            }
        };
        let name = match name {
            Some(name) if Self::valid_name(name) => name.to_owned(),
            Some(name) => {
                return Err(invalid(format!(
                    "invalid sink name {name:?}: use 1 to {} lowercase letters, digits, '-' or '_'",
                    Self::MAX_NAME_LEN
                )));
            }
            None => {
                let hash = Sha256::digest(body.as_bytes());
                format!("{kind}-{}", hex::encode(&hash[..4]))
            }
        };
        Ok(SinkSpec { name, target })
    }
}

/// Any of the sinks that ship with the consumer, chosen by a [`SinkSpec`].
#[derive(Debug)]
pub struct AnySink {
    name: String,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Ndjson(NdjsonSink),
    Webhook(WebhookSink),
    Ga4(Box<Ga4Sink>),
    Matomo(Box<MatomoSink>),
}

impl Sink for AnySink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: &[ReceivedItem]) -> Result<Outcome, SinkError> {
        match &mut self.inner {
            Inner::Ndjson(sink) => sink.send(batch).await,
            Inner::Webhook(sink) => sink.send(batch).await,
            Inner::Ga4(sink) => sink.send(batch).await,
            Inner::Matomo(sink) => sink.send(batch).await,
        }
    }

    async fn health_check(&mut self) -> Result<(), SinkError> {
        match &mut self.inner {
            Inner::Ndjson(sink) => sink.health_check().await,
            Inner::Webhook(sink) => sink.health_check().await,
            Inner::Ga4(sink) => sink.health_check().await,
            Inner::Matomo(sink) => sink.health_check().await,
        }
    }

    fn preferred_batch_size(&self) -> Option<usize> {
        match &self.inner {
            Inner::Ndjson(sink) => sink.preferred_batch_size(),
            Inner::Webhook(sink) => sink.preferred_batch_size(),
            Inner::Ga4(sink) => sink.preferred_batch_size(),
            Inner::Matomo(sink) => sink.preferred_batch_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parses_kinds_and_names() {
        let s: SinkSpec = "ndjson:-".parse().unwrap();
        assert_eq!(s.target, SinkTarget::Ndjson(None));
        assert!(s.name.starts_with("ndjson-") && s.name.len() == "ndjson-".len() + 8);
        // The default name is stable: the same spec finds the same cursor.
        assert_eq!(s.name, "ndjson:-".parse::<SinkSpec>().unwrap().name);

        let f: SinkSpec = "main=ndjson:/tmp/a=b.ndjson".parse().unwrap();
        assert_eq!(f.name, "main");
        assert_eq!(
            f.target,
            SinkTarget::Ndjson(Some(PathBuf::from("/tmp/a=b.ndjson")))
        );
        let g: SinkSpec = "ndjson:/tmp/a=b.ndjson".parse().unwrap();
        assert!(g.name.starts_with("ndjson-"));

        let w: SinkSpec = "hook=webhook:http://127.0.0.1:9/x?a=b,secret=s"
            .parse()
            .unwrap();
        assert_eq!(w.name, "hook");
        assert_eq!(w.kind(), "webhook");
        assert_eq!(w.to_string(), "hook=webhook:http://127.0.0.1:9/x?a=b");

        let g: SinkSpec = "ga4:measurement_id=G-ABC123,api_secret=sekrit"
            .parse()
            .unwrap();
        assert_eq!(g.kind(), "ga4");
        assert!(g.name.starts_with("ga4-"));
        assert!(!g.to_string().contains("sekrit"));
        let m: SinkSpec = "stats=matomo:url=https://matomo.example,idsite=3,token_auth=tok"
            .parse()
            .unwrap();
        assert_eq!((m.name.as_str(), m.kind()), ("stats", "matomo"));
        assert!(!m.to_string().contains("tok"), "{m}");
    }

    #[tokio::test]
    async fn builds_every_kind_under_the_spec_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.ndjson");
        for spec in [
            format!("a=ndjson:{}", file.display()),
            "b=ndjson:-".to_owned(),
            "c=webhook:http://127.0.0.1:9/hook,secret=s".to_owned(),
            "d=ga4:measurement_id=G-TEST1,api_secret=s,debug=true".to_owned(),
            "e=matomo:url=http://127.0.0.1:9,idsite=1".to_owned(),
        ] {
            let parsed: SinkSpec = spec.parse().unwrap();
            let sink = parsed.build(reqwest::Client::new(), dir.path()).unwrap();
            assert_eq!(sink.name(), parsed.name, "{spec}");
        }
        assert!(file.exists(), "the NDJSON file is opened when built");
    }

    #[test]
    fn rejects_bad_specs_without_echoing_secrets() {
        for bad in [
            "ga4:measurement_id=G-1",
            "matomo:idsite=1",
            "ndjson",
            "ndjson:",
            "kafka:x",
            "Bad Name=ndjson:x",
            "webhook:nope",
        ] {
            assert!(bad.parse::<SinkSpec>().is_err(), "{bad}");
        }
        for secret in [
            "webhook:ftp://h,secret=hunter2",
            "ga4:measurement_id=G-1 x,api_secret=hunter2",
        ] {
            let e = secret.parse::<SinkSpec>().unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }
}
