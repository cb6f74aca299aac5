//! `matomo:url=https://matomo.example,idsite=1[,token_auth=...][,page_base=URL]`, read
//! into typed settings.

use std::fmt;

use reqwest::Url;

use crate::sink::analytics::spec::Pairs;

const KEYS: &[&str] = &["url", "idsite", "token_auth", "page_base"];
/// As for GA4: a host that cannot exist, unless the integrator names the real one.
const DEFAULT_PAGE_BASE: &str = "https://webshop.invalid";
const MAX_PAGE_BASE_CHARS: usize = 60;

/// The settings of a Matomo sink. The token is never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct MatomoConfig {
    /// The tracking endpoint: `<url>/matomo.php`, or `url` itself if it names a `.php`.
    pub(super) endpoint: Url,
    pub(super) idsite: u32,
    pub(super) token_auth: Option<String>,
    pub(super) page_base: Url,
}

impl MatomoConfig {
    /// Reads the text after `matomo:`.
    pub fn parse(spec: &str) -> Result<MatomoConfig, String> {
        let pairs = Pairs::parse("matomo", spec, KEYS)?;
        pairs.require("url")?;
        let url = pairs
            .url("url")?
            .ok_or_else(|| "matomo: missing `url=...`".to_owned())?;
        let endpoint = if url.path().ends_with(".php") {
            url
        } else {
            let joined = format!("{}/matomo.php", url.as_str().trim_end_matches('/'));
            Url::parse(&joined).map_err(|e| format!("matomo: `url`: {e}"))?
        };
        let idsite_text = pairs.require("idsite")?;
        let idsite = match idsite_text.parse::<u32>() {
            Ok(id) if id > 0 => id,
            _ => {
                return Err(format!(
                    "matomo: idsite `{idsite_text}` is not a site id (a positive number)"
                ));
            }
        };
        let token_auth = pairs.get("token_auth");
        if let Some(token) = token_auth
            && !token.chars().all(|c| c.is_ascii_graphic())
        {
            return Err("matomo: token_auth has characters a token cannot have".to_owned());
        }
        let page_base = match pairs.url("page_base")? {
            Some(url) => url,
            None => Url::parse(DEFAULT_PAGE_BASE).map_err(|e| format!("matomo: page_base: {e}"))?,
        };
        if page_base.as_str().chars().count() > MAX_PAGE_BASE_CHARS {
            return Err(format!(
                "matomo: page_base is longer than {MAX_PAGE_BASE_CHARS} characters"
            ));
        }
        Ok(MatomoConfig {
            endpoint,
            idsite,
            token_auth: token_auth.map(str::to_owned),
            page_base,
        })
    }

    pub fn idsite(&self) -> u32 {
        self.idsite
    }

    /// The tracking endpoint requests are posted to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }
}

impl fmt::Debug for MatomoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatomoConfig")
            .field("endpoint", &self.endpoint.as_str())
            .field("idsite", &self.idsite)
            .field(
                "token_auth",
                &self.token_auth.as_ref().map(|_| "<redacted>"),
            )
            .field("page_base", &self.page_base.as_str())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn endpoint_and_defaults() {
        let c = MatomoConfig::parse("url=https://stats.example/,idsite=3").unwrap();
        assert_eq!(c.endpoint().as_str(), "https://stats.example/matomo.php");
        assert_eq!(c.idsite(), 3);
        assert_eq!(c.token_auth, None);
        let c = MatomoConfig::parse("url=http://127.0.0.1:9/m/piwik.php,idsite=1,token_auth=abc")
            .unwrap();
        assert_eq!(c.endpoint().as_str(), "http://127.0.0.1:9/m/piwik.php");
        assert!(!format!("{c:?}").contains("abc"));
    }

    #[test]
    fn clear_errors() {
        for (spec, needle) in [
            ("idsite=1", "missing `url=...`"),
            ("url=https://m.example", "missing `idsite=...`"),
            ("url=https://m.example,idsite=0", "positive number"),
            ("url=https://m.example,idsite=x", "positive number"),
            (
                "url=https://m.example,idsite=1,site=2",
                "unknown key `site`",
            ),
            ("url=m.example,idsite=1", "not a URL"),
        ] {
            let err = MatomoConfig::parse(spec).unwrap_err();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }
}
