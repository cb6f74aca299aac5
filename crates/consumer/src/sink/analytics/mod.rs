//! What the analytics sinks (GA4, Matomo) share: reading their `key=value` spec, order
//! lines grouped as analytics tools count them, and the page a page view names.

pub(in crate::sink) mod lines;
pub(in crate::sink) mod page;
pub(in crate::sink) mod spec;
