//! `webshop:pageview`: a widget or flow page was shown. Its `params` are the session's
//! raw widget parameters; `orderid` and `customerid` are those of the session's order
//! once they exist.

use protocol::{Action, PageView, Timestamp};

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
            let customer = match ctx.session.order_id {
                Some(order) => tx.order(order)?.and_then(|o| o.customer),
                None => None,
            };
            let orderid = ctx.session.order_id;
            let params = ctx.session.params.clone();
            ctx.tracker.record(tx, |reference| {
                Action::PageView(PageView {
                    page: page.to_owned(),
                    params,
                    orderid,
                    customerid: customer,
                    reference,
                })
            })
        })
        .await
    }
}
