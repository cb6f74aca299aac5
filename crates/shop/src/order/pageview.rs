//! `webshop:pageview`: a widget or flow page was shown. Its `params` are the session's
//! raw widget parameters; `orderid` and `customerid` are those of the session's order
//! once they exist.

use protocol::{Action, PageView, Timestamp};

use crate::outbox::Tracker;
use crate::{Error, Session, ShopStore};

impl ShopStore {
    /// Records that `page` was shown to the session. An untracked session costs nothing
    /// here: no transaction, no write.
    ///
    /// A page view changes nothing in the shop, so its transaction holds only its outbox
    /// row: the session is the one this request loaded (its `ref`, parameters and order),
    /// not read again, and not written (a page view does not touch an untracked session
    /// either). Only the order's customer is read, when there is an order.
    pub async fn record_pageview(
        &self,
        session: &Session,
        page: &'static str,
        now: Timestamp,
    ) -> Result<(), Error> {
        if session.reference.is_none() {
            return Ok(());
        }
        let account = session.account.clone();
        let reference = session.reference.clone();
        let orderid = session.order_id;
        let params = session.params();
        let signal = self.outbox_signal();
        self.transact(move |tx| {
            let customer = match orderid {
                Some(order) => tx.order(order)?.and_then(|o| o.customer),
                None => None,
            };
            let mut tracker = Tracker::new(account.clone(), reference.clone(), now);
            tracker.record(tx, |reference| {
                Action::PageView(PageView {
                    page: page.to_owned(),
                    params: params.clone(),
                    orderid,
                    customerid: customer,
                    reference,
                })
            })
        })
        .await?;
        signal.notify_one();
        Ok(())
    }
}
