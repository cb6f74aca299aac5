//! Products in the basket (a gift voucher, say). They have no capacity.

use protocol::{AccountName, Action, NumId, OrderState, ProductsChanged, Timestamp};
use rusqlite::{OptionalExtension, Transaction, params};

use super::state::order_state;
use super::{Ctx, ensure_open_order, open_order, touch_order};
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
    tx: &Transaction<'_>,
    ctx: &mut Ctx,
    product: NumId,
    qty: u32,
) -> Result<OrderState, Error> {
    if qty > MAX_PRODUCTS {
        return Err(ShopRule::InvalidInput("at most 20 of one product per order").into());
    }
    let price: Option<String> = tx
        .query_row(
            "SELECT price FROM products WHERE account_id = ?1 AND id = ?2 AND active = 1",
            params![ctx.account_id, product.0 as i64],
            |row| row.get(0),
        )
        .optional()?;
    let price = price.ok_or(ShopRule::NotOnSale)?;
    let order = match open_order(tx, ctx)? {
        Some(order) => order,
        None if qty == 0 => return Err(ShopRule::EmptyBasket.into()),
        None => ensure_open_order(tx, ctx)?,
    };
    let before = order_state(tx, order)?;
    let have: Vec<_> = before
        .products
        .iter()
        .filter(|p| p.productid == product)
        .cloned()
        .collect();
    let qty = qty as usize;
    if qty < have.len() {
        let removed = have[qty..].to_vec();
        for line in &removed {
            tx.execute(
                "DELETE FROM order_products WHERE id = ?1",
                params![line.id.0 as i64],
            )?;
        }
        let order_after = order_state(tx, order)?;
        ctx.tracker.record(tx, |reference| {
            Action::RemoveProducts(ProductsChanged {
                products: removed,
                order: order_after,
                reference,
            })
        })?;
    } else if qty > have.len() {
        let mut first_new = None;
        for _ in have.len()..qty {
            tx.execute(
                "INSERT INTO order_products (order_id, product_id, price) VALUES (?1, ?2, ?3)",
                params![order, product.0 as i64, price],
            )?;
            first_new.get_or_insert(tx.last_insert_rowid());
        }
        let first_new = first_new.unwrap_or(i64::MAX);
        let order_after = order_state(tx, order)?;
        let added = order_after
            .products
            .iter()
            .filter(|p| p.id.0 as i64 >= first_new)
            .cloned()
            .collect();
        ctx.tracker.record(tx, |reference| {
            Action::AddProducts(ProductsChanged {
                products: added,
                order: order_after,
                reference,
            })
        })?;
    }
    touch_order(tx, ctx, order)?;
    order_state(tx, order)
}
