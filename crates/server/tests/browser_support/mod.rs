//! Support for the browser test: the shop started in-process ([`shop`]) and a headless
//! Chromium driven over WebDriver ([`chrome`]).

pub(crate) mod cdp;
pub(crate) mod chrome;
pub(crate) mod shop;
