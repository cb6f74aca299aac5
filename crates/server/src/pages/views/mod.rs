//! The pages' templates and the display rows they show. Templates are compiled and
//! HTML-escape every value; these types hold only what a page prints, already in the
//! page's language (money and dates formatted, catalog names translated).

mod frame;
mod lines;
mod pages;
mod qr;

pub(crate) use frame::{Frame, Step, Switch};
pub(crate) use lines::{BasketTotals, Catalog, EventCard, Hero, Summary, TicketGroup, TicketRow};
pub(crate) use pages::{
    BasketPage, CheckoutPage, Choice, ErrorPage, FieldMessage, HomePage, InBasket, OrderPage,
    PrintedTicket, ProductRow, PspPage, ReturnPage, TicketsPage,
};
pub(crate) use qr::QrCode;
