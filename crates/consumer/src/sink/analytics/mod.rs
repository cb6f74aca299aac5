//! What the analytics sinks (GA4, Matomo) share: reading their `key=value` spec, order
//! lines grouped as analytics tools count them, the page a page view names, and how an
//! HTTP answer becomes a sink result.

pub(in crate::sink) mod http;
pub(in crate::sink) mod lines;
pub(in crate::sink) mod page;
pub(in crate::sink) mod spec;
