//! Products in the basket (a gift voucher, say). They have no capacity.

use protocol::{AccountName, Action, NumId, OrderState, ProductLine, ProductsChanged, Timestamp};

use super::payment::cancel_pending;
use super::{Ctx, ensure_open_order, open_order, touch_order};
use crate::storage::Tx;
use crate::{Error, ShopRule, ShopStore};

/// At most this many of one product in one order.
pub const MAX_PRODUCTS: u32 = 20;

impl ShopStore {
    /// Sets how many of `product` the session's order holds; the difference is recorded as
    /// `add_products` or `remove_products`.
    pub async fn set_products(
        &self,
        account: &AccountName,
        session_id: &str,
        product: NumId,
        qty: u32,
        now: Timestamp,
    ) -> Result<OrderState, Error> {
        self.in_session(account, session_id, now, move |tx, ctx| {
            set_products(tx, ctx, product, qty)
        })
        .await
    }
}

fn set_products(
    tx: &mut dyn Tx,
    ctx: &mut Ctx,
    product: NumId,
    qty: u32,
) -> Result<OrderState, Error> {
    // The product's count after this change is exactly `qty`.
    if qty > MAX_PRODUCTS {
        return Err(ShopRule::TooManyOfOneProduct { max: MAX_PRODUCTS }.into());
    }
    let offered = tx
        .products(ctx.account)?
        .into_iter()
        .find(|p| p.id == product)
        .ok_or(ShopRule::NotOnSale)?;
    let mut order = match open_order(tx, ctx)? {
        Some(order) => order,
        None if qty == 0 => return Err(ShopRule::EmptyBasket.into()),
        None => ensure_open_order(tx, ctx)?,
    };
    let have: Vec<ProductLine> = tx
        .product_lines(ctx.account, order.id)?
        .into_iter()
        .filter(|p| p.productid == product)
        .collect();
    let keep = usize::try_from(qty).unwrap_or(usize::MAX);
    let changed = keep != have.len();
    // The order's state after the change made here (the reservation's restart below
    // changes no field of it).
    let mut after = None;
    if keep < have.len() {
        let removed = have[keep..].to_vec();
        let ids: Vec<NumId> = removed.iter().map(|p| p.id).collect();
        let deleted = tx.delete_product_lines(order.id, &ids)?;
        if deleted != u64::try_from(ids.len()).unwrap_or(u64::MAX) {
            return Err(Error::Store(format!(
                "order {} lost product lines while locked",
                order.id
            )));
        }
        let order_after = ctx.order_state(tx, &order)?;
        ctx.tracker.record(tx, |reference| {
            Action::RemoveProducts(ProductsChanged {
                products: removed,
                order: order_after.clone(),
                reference,
            })
        })?;
        after = Some(order_after);
    } else if keep > have.len() {
        let adding = qty - u32::try_from(have.len()).unwrap_or(u32::MAX);
        let new_ids = tx.insert_product_lines(order.id, product, offered.price, adding)?;
        let order_after = ctx.order_state(tx, &order)?;
        let added = order_after
            .products
            .iter()
            .filter(|p| new_ids.contains(&p.id))
            .cloned()
            .collect();
        ctx.tracker.record(tx, |reference| {
            Action::AddProducts(ProductsChanged {
                products: added,
                order: order_after.clone(),
                reference,
            })
        })?;
        after = Some(order_after);
    }
    if changed {
        cancel_pending(tx, order.id)?;
    }
    touch_order(tx, ctx, &mut order)?;
    match after {
        Some(state) => Ok(state),
        None => ctx.order_state(tx, &order),
    }
}
