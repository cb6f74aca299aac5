//! `webshop:pageview`: a widget or flow page was shown. Its `params` are the session's
//! effective widget parameters; `orderid` and `customerid` are those of the session's
//! order once they exist.

use protocol::{Action, PageView, Timestamp};
use rusqlite::{OptionalExtension, params};

use super::num;
use crate::{Error, Session, ShopStore};

impl ShopStore {
    /// Records that `page` was shown to the session. An untracked session costs nothing
    /// here: no transaction, no write.
    pub async fn record_pageview(
        &self,
        session: &Session,
        page: &'static str,
        now: Timestamp,
    ) -> Result<(), Error> {
        if session.reference.is_none() {
            return Ok(());
        }
        self.in_session(&session.account, &session.id, now, move |tx, ctx| {
            let customer: Option<i64> = match ctx.order_id {
                Some(order) => tx
                    .query_row(
                        "SELECT customer_id FROM orders WHERE id = ?1",
                        params![order],
                        |row| row.get(0),
                    )
                    .optional()?
                    .flatten(),
                None => None,
            };
            let orderid = ctx.order_id.map(num);
            let params = ctx.params.clone();
            ctx.tracker.record(tx, |reference| {
                Action::PageView(PageView {
                    page: page.to_owned(),
                    params,
                    orderid,
                    customerid: customer.map(num),
                    reference,
                })
            })
        })
        .await
    }
}
