//! The ticketstream tracking contract (`spec/tracking.md`), as types.
//!
//! Everything that crosses a wire lives here: the action types and their payloads, item
//! ids and timestamps, the eventstream request and response, and the two signature
//! schemes. The server, the consumer and integrators all depend on this crate, so it does
//! no I/O and knows nothing about HTTP servers or databases.

mod action;
mod eventstream;
mod item;
mod item_id;
mod money;
mod names;
mod num_id;
mod payload;
mod signature;
mod timestamp;
mod type_filter;
mod widget_url;

pub use action::ActionType;
pub use eventstream::{EventstreamPage, EventstreamQuery, QueryError, RawQuery, StartAt};
pub use item::{Item, item_json};
pub use item_id::{ItemId, ParseItemIdError};
pub use money::Money;
pub use names::{AccountName, InvalidName, InvalidRef, Ref};
pub use num_id::NumId;
pub use payload::{
    Action, OrderAction, OrderState, PageView, ProductLine, ProductsChanged, TicketLine,
    TicketsChanged,
};
pub use signature::{
    HmacAuthorization, ParseAuthorizationError, WIDGET_UNSIGNED_PARAMS, constant_time_eq,
    tm_hmac_sign, widget_signature, widget_signature_valid,
};
pub use timestamp::{ParseTimestampError, Timestamp};
pub use type_filter::{TypeFilter, TypeFilterError};
pub use widget_url::{WIDGETS, widget_url};
