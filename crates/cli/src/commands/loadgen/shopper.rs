//! One simulated shopper: a browser of its own (cookie jar, no automatic redirects) and
//! the bookkeeping of what each of its requests recorded.
//!
//! Redirects are followed by hand, because an action counts only when the response to
//! its own request arrived: a client that followed the `303` itself would hide whether
//! the POST or the page after it failed.

use std::error::Error as _;
use std::time::Duration;

use protocol::{ActionType, Ref};
use rand::rngs::StdRng;
use reqwest::header::LOCATION;
use reqwest::{Client, RequestBuilder, StatusCode, Url, redirect};

use super::html::{Form, Page};
use super::tally::ShopperTally;

/// Why a journey ended before the order page.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The shopper walked away, as planned.
    Abandoned,
    /// Every event the shopper tried was sold out.
    SoldOut,
    /// A request failed; the error is already counted.
    Failed(String),
}

/// The answer to a GET.
#[derive(Debug)]
pub(crate) enum Loaded {
    Page(Page),
    Redirect(Url),
}

/// The answer to a form that may be sent back: a redirect, or the same page again with
/// what was wrong marked (`422`; nothing was recorded).
#[derive(Debug)]
pub(crate) enum Submitted {
    Redirect(Sent),
    Invalid(Page),
}

/// The answer to a form: where the shop sent the shopper, and whether a shop rule refused
/// the change (then nothing was recorded).
#[derive(Debug)]
pub(crate) struct Sent {
    pub(crate) location: Url,
    pub(crate) refused: bool,
}

#[derive(Debug)]
pub(crate) struct Shopper {
    pub(crate) number: u64,
    client: Client,
    /// `{url}/widgets/{account}/`
    base: Url,
    pub(crate) reference: Option<Ref>,
    pub(crate) rng: StdRng,
    pub(crate) tally: ShopperTally,
}

/// Long enough for a busy server, short enough that a hung one does not stall the run.
const TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl Shopper {
    pub(crate) fn new(
        number: u64,
        base: Url,
        reference: Option<Ref>,
        rng: StdRng,
    ) -> Result<Shopper, reqwest::Error> {
        // Each shopper has a client of its own (its own cookie jar). The load generator
        // speaks plain HTTP only, so it does not load the system's root certificates,
        // which every client build would otherwise read and parse again, taking CPU
        // from the server it measures.
        let client = Client::builder()
            .tls_built_in_root_certs(false)
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("ticketstream-loadgen/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Shopper {
            number,
            client,
            base,
            reference,
            rng,
            tally: ShopperTally::default(),
        })
    }

    /// A URL of the account's pages, relative to `/widgets/{account}/`.
    pub(crate) fn url(&mut self, relative: &str) -> Result<Url, Stop> {
        self.base
            .join(relative)
            .map_err(|e| self.fail(&[], format!("bad page address {relative:?}: {e}")))
    }

    /// Counts an error; the actions the failed request may have recorded become
    /// uncertain. Returns the `Stop` that ends the journey.
    pub(crate) fn fail(&mut self, possible: &[ActionType], what: String) -> Stop {
        self.tally.errors += 1;
        self.tally.uncertain(possible);
        Stop::Failed(what)
    }

    /// GETs a page. `pageview`: a `200` answer means the page recorded a pageview.
    pub(crate) async fn get(&mut self, url: Url, pageview: bool) -> Result<Loaded, Stop> {
        let possible: &[ActionType] = if pageview {
            &[ActionType::PageView]
        } else {
            &[]
        };
        let what = format!("GET {}", url.path());
        let request = self.client.get(url);
        let response = self.send(request, &what, possible).await?;
        match response.status() {
            StatusCode::OK => {
                if pageview {
                    self.tally.acknowledge(ActionType::PageView);
                }
                let body = response
                    .text()
                    .await
                    .map_err(|e| self.fail(&[], format!("{what}: {}", describe(e))))?;
                Ok(Loaded::Page(Page::parse(body)))
            }
            StatusCode::SEE_OTHER => Ok(Loaded::Redirect(self.location(&response, &what, &[])?)),
            status => Err(self.fail(possible, unexpected(&what, status))),
        }
    }

    /// GETs a page that must be shown (and so records a pageview).
    pub(crate) async fn page(&mut self, url: Url) -> Result<Page, Stop> {
        let path = url.path().to_owned();
        match self.get(url, true).await? {
            Loaded::Page(page) => Ok(page),
            Loaded::Redirect(to) => Err(self.fail(
                &[],
                format!("GET {path}: redirected to {} instead of a page", to.path()),
            )),
        }
    }

    /// Submits `fields` to `form`'s action. `possible`: the actions the change may record;
    /// the caller acknowledges those the answer confirms.
    pub(crate) async fn submit(
        &mut self,
        form: &Form,
        fields: &[(String, String)],
        possible: &[ActionType],
    ) -> Result<Sent, Stop> {
        match self.submit_form(form, fields, possible).await? {
            Submitted::Redirect(sent) => Ok(sent),
            Submitted::Invalid(_) => Err(self.fail(
                possible,
                format!("POST {}: the form came back as invalid", form.action),
            )),
        }
    }

    /// Submits a form the shop may send back with its errors marked (the checkout form).
    pub(crate) async fn submit_form(
        &mut self,
        form: &Form,
        fields: &[(String, String)],
        possible: &[ActionType],
    ) -> Result<Submitted, Stop> {
        let url = self.url(&form.action)?;
        let what = format!("POST {}", url.path());
        let request = self.client.post(url).form(fields);
        let response = self.send(request, &what, possible).await?;
        match response.status() {
            StatusCode::SEE_OTHER => {
                let location = self.location(&response, &what, possible)?;
                let refused = location.query_pairs().any(|(name, _)| name == "msg");
                // A cancelled payment comes back with a message too, but it was no change.
                if refused && !possible.is_empty() {
                    self.tally.refused += 1;
                }
                Ok(Submitted::Redirect(Sent { location, refused }))
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                self.tally.refused += 1;
                let body = response
                    .text()
                    .await
                    .map_err(|e| self.fail(&[], format!("{what}: {}", describe(e))))?;
                Ok(Submitted::Invalid(Page::parse(body)))
            }
            status => Err(self.fail(possible, unexpected(&what, status))),
        }
    }

    async fn send(
        &mut self,
        request: RequestBuilder,
        what: &str,
        possible: &[ActionType],
    ) -> Result<reqwest::Response, Stop> {
        request
            .send()
            .await
            .map_err(|e| self.fail(possible, format!("{what}: {}", describe(e))))
    }

    fn location(
        &mut self,
        response: &reqwest::Response,
        what: &str,
        possible: &[ActionType],
    ) -> Result<Url, Stop> {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| response.url().join(v));
        match location {
            Some(Ok(url)) => Ok(url),
            _ => Err(self.fail(
                possible,
                format!("{what}: a redirect without a valid Location"),
            )),
        }
    }
}

/// The error and its causes on one line, without the URL (it may hold a ref).
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The error for an answer a shopper did not expect.
fn unexpected(what: &str, status: StatusCode) -> String {
    if status == StatusCode::TOO_MANY_REQUESTS {
        format!(
            "{what}: 429, the server limits requests per client address; \
             serve with a higher --page-rate for load tests"
        )
    } else {
        format!("{what}: unexpected status {status}")
    }
}
