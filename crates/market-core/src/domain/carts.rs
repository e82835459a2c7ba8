//! Carts: what a shopper means to buy, kept on the server so it follows them. An
//! anonymous cart is found by its secret token; a customer has one cart, into which an
//! anonymous cart is merged when they sign in. A cart reserves no stock: its lines show
//! the current price, stock and sellability, and checking it out places the order through
//! `orders::place` (the same never-oversell path as `placeOrder`). Carts untouched for
//! [`TTL_DAYS`] expire.

use crate::domain::enums::Channel;
use crate::domain::orders::{self, Contact, DeliveryChoice, MAX_LINES, MAX_QUANTITY, OrderRequest};
use crate::domain::policy::SignedIn;
use crate::entities::{cart, cart_line, order, product};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use std::collections::BTreeMap;

/// Days after its last change when a cart expires.
pub const TTL_DAYS: i64 = 30;

fn expired_before() -> DateTime<Utc> {
    Utc::now() - Duration::days(TTL_DAYS)
}

fn new_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn not_found(field: &[&str]) -> AppError {
    AppError::user(
        UserErrorCode::NotFound,
        field,
        "No such cart (or it expired).",
    )
}

/// The customer's cart, if they have one that has not expired.
pub async fn of_user(db: &impl ConnectionTrait, user_id: i32) -> AppResult<Option<cart::Model>> {
    Ok(cart::Entity::find()
        .filter(cart::Column::UserId.eq(user_id))
        .filter(cart::Column::UpdatedAt.gte(expired_before()))
        .one(db)
        .await?)
}

/// The cart of token `token` if `viewer` may use it: an anonymous cart by anyone holding
/// its token, a customer's only by that customer. Errors name `field`.
pub async fn find(
    db: &impl ConnectionTrait,
    token: &str,
    viewer: Option<i32>,
    field: &[&str],
) -> AppResult<cart::Model> {
    let found = cart::Entity::find()
        .filter(cart::Column::Token.eq(token))
        .filter(cart::Column::UpdatedAt.gte(expired_before()))
        .one(db)
        .await?
        .filter(|c| c.user_id.is_none() || c.user_id == viewer);
    found.ok_or_else(|| not_found(field))
}

/// A new cart: anonymous, or (for a signed-in customer) their own cart, the one they
/// already have if any.
pub async fn create(txn: &impl ConnectionTrait, owner: Option<i32>) -> AppResult<cart::Model> {
    if let Some(user) = owner {
        if let Some(existing) = of_user(txn, user).await? {
            return Ok(existing);
        }
        // An expired cart of theirs makes way for the new one.
        cart::Entity::delete_many()
            .filter(cart::Column::UserId.eq(user))
            .exec(txn)
            .await?;
    }
    let now = Utc::now();
    Ok(cart::ActiveModel {
        token: Set(new_token()),
        user_id: Set(owner),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

/// The lines of a cart, oldest first, each with its product as it is now.
pub async fn lines(
    db: &impl ConnectionTrait,
    cart_id: i64,
) -> AppResult<Vec<(cart_line::Model, product::Model)>> {
    let rows = cart_line::Entity::find()
        .filter(cart_line::Column::CartId.eq(cart_id))
        .order_by_asc(cart_line::Column::AddedAt)
        .order_by_asc(cart_line::Column::ProductId)
        .all(db)
        .await?;
    let products = product::Entity::find()
        .filter(product::Column::Id.is_in(rows.iter().map(|l| l.product_id)))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|l| {
            let p = products.iter().find(|p| p.id == l.product_id)?.clone();
            Some((l, p))
        })
        .collect())
}

/// How a cart's lines change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    /// Add units to a product's line (created if missing).
    Add,
    /// Set a product's quantity (0 removes the line).
    Set,
}

fn line_error(index: usize, field: &str, code: UserErrorCode, message: String) -> UserError {
    UserError {
        field: vec![
            "input".into(),
            "lines".into(),
            index.to_string(),
            field.into(),
        ],
        message,
        code,
    }
}

/// Adds to or sets the quantities of a cart's lines (in the caller's transaction): each
/// product must exist (it need not be sellable or in stock now — the line says so), 1 to
/// 1,000 units a line (0 allowed when setting: the line goes), at most 100 lines.
pub async fn change_lines(
    txn: &impl ConnectionTrait,
    cart: &cart::Model,
    change: LineChange,
    wanted: &[(i32, i32)],
) -> AppResult<()> {
    let current: BTreeMap<i32, i32> = cart_line::Entity::find()
        .filter(cart_line::Column::CartId.eq(cart.id))
        .all(txn)
        .await?
        .into_iter()
        .map(|l| (l.product_id, l.quantity))
        .collect();
    let known: Vec<i32> = product::Entity::find()
        .filter(product::Column::Id.is_in(wanted.iter().map(|(id, _)| *id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let mut errors = Vec::new();
    let mut next = current.clone();
    let least = if change == LineChange::Set { 0 } else { 1 };
    for (index, (product_id, quantity)) in wanted.iter().enumerate() {
        if !known.contains(product_id) {
            errors.push(line_error(
                index,
                "productId",
                UserErrorCode::NotFound,
                "No such product.".into(),
            ));
            continue;
        }
        if !(least..=MAX_QUANTITY).contains(quantity) {
            errors.push(line_error(
                index,
                "quantity",
                UserErrorCode::InvalidQuantity,
                format!("Give {least} to {MAX_QUANTITY} units."),
            ));
            continue;
        }
        let entry = next.entry(*product_id).or_insert(0);
        *entry = match change {
            LineChange::Add => *entry + quantity,
            LineChange::Set => *quantity,
        };
        if *entry > MAX_QUANTITY {
            errors.push(line_error(
                index,
                "quantity",
                UserErrorCode::InvalidQuantity,
                format!("A line holds at most {MAX_QUANTITY} units."),
            ));
        }
    }
    next.retain(|_, q| *q > 0);
    if next.len() > MAX_LINES {
        errors.push(UserError::new(
            UserErrorCode::InvalidQuantity,
            &["lines"],
            format!("A cart holds at most {MAX_LINES} lines."),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    write_lines(txn, cart.id, &current, &next).await
}

/// Removes products from a cart (those not in it are ignored).
pub async fn remove_lines(
    txn: &impl ConnectionTrait,
    cart: &cart::Model,
    product_ids: &[i32],
) -> AppResult<()> {
    cart_line::Entity::delete_many()
        .filter(cart_line::Column::CartId.eq(cart.id))
        .filter(cart_line::Column::ProductId.is_in(product_ids.iter().copied()))
        .exec(txn)
        .await?;
    touch(txn, cart.id).await
}

async fn touch(txn: &impl ConnectionTrait, cart_id: i64) -> AppResult<()> {
    cart::Entity::update_many()
        .col_expr(cart::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(cart::Column::Id.eq(cart_id))
        .exec(txn)
        .await?;
    Ok(())
}

async fn write_lines(
    txn: &impl ConnectionTrait,
    cart_id: i64,
    current: &BTreeMap<i32, i32>,
    next: &BTreeMap<i32, i32>,
) -> AppResult<()> {
    let gone: Vec<i32> = current
        .keys()
        .filter(|id| !next.contains_key(id))
        .copied()
        .collect();
    if !gone.is_empty() {
        cart_line::Entity::delete_many()
            .filter(cart_line::Column::CartId.eq(cart_id))
            .filter(cart_line::Column::ProductId.is_in(gone))
            .exec(txn)
            .await?;
    }
    let now = Utc::now();
    let changed: Vec<cart_line::ActiveModel> = next
        .iter()
        .filter(|(id, q)| current.get(id) != Some(q))
        .map(|(id, q)| cart_line::ActiveModel {
            cart_id: Set(cart_id),
            product_id: Set(*id),
            quantity: Set(*q),
            added_at: Set(now),
        })
        .collect();
    if !changed.is_empty() {
        cart_line::Entity::insert_many(changed)
            .on_conflict(
                OnConflict::columns([cart_line::Column::CartId, cart_line::Column::ProductId])
                    .update_column(cart_line::Column::Quantity)
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    touch(txn, cart_id).await
}

/// At sign-in: the anonymous cart of `token` becomes part of `user_id`'s cart — its lines
/// added to theirs (units summed, at most 1,000 a line), or the cart itself theirs when
/// they have none. An unknown, expired or someone else's token is ignored (the sign-in
/// does not fail for a stale cart). Returns the customer's cart, if any.
pub async fn merge_on_sign_in(
    txn: &impl ConnectionTrait,
    token: &str,
    user_id: i32,
) -> AppResult<Option<cart::Model>> {
    let anonymous = cart::Entity::find()
        .filter(cart::Column::Token.eq(token))
        .filter(cart::Column::UserId.is_null())
        .filter(cart::Column::UpdatedAt.gte(expired_before()))
        .one(txn)
        .await?;
    let Some(anonymous) = anonymous else {
        return of_user(txn, user_id).await;
    };
    let Some(own) = of_user(txn, user_id).await? else {
        cart::Entity::delete_many()
            .filter(cart::Column::UserId.eq(user_id))
            .exec(txn)
            .await?;
        let mut active: cart::ActiveModel = anonymous.into();
        active.user_id = Set(Some(user_id));
        active.updated_at = Set(Utc::now());
        return Ok(Some(active.update(txn).await?));
    };
    let read = |id: i64| async move {
        Ok::<_, AppError>(
            cart_line::Entity::find()
                .filter(cart_line::Column::CartId.eq(id))
                .all(txn)
                .await?
                .into_iter()
                .map(|l| (l.product_id, l.quantity))
                .collect::<BTreeMap<i32, i32>>(),
        )
    };
    let current = read(own.id).await?;
    let mut next = current.clone();
    for (product_id, quantity) in read(anonymous.id).await? {
        let entry = next.entry(product_id).or_insert(0);
        *entry = (*entry + quantity).min(MAX_QUANTITY);
    }
    cart::Entity::delete_by_id(anonymous.id).exec(txn).await?;
    write_lines(txn, own.id, &current, &next).await?;
    Ok(Some(own))
}

/// What a checkout adds to the cart's lines.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub idempotency_key: String,
    pub contact: Contact,
    pub note: Option<String>,
    pub delivery: Option<DeliveryChoice>,
}

/// Places the order of a cart for `buyer` through `orders::place` (the stock is taken
/// then, never before; a line short of stock refuses the order with `OUT_OF_STOCK`) and
/// removes the cart. Once the cart is gone, the same key answers with the order it placed.
pub async fn checkout(
    db: &DatabaseConnection,
    buyer: &SignedIn,
    token: &str,
    checkout: Checkout,
    today: chrono::NaiveDate,
) -> AppResult<order::Model> {
    let cart = match find(db, token, Some(buyer.user_id), &["cartId"]).await {
        Ok(cart) => cart,
        Err(e) => {
            let key = checkout.idempotency_key.trim();
            let earlier = order::Entity::find()
                .filter(order::Column::UserId.eq(buyer.user_id))
                .filter(order::Column::IdempotencyKey.eq(key))
                .one(db)
                .await?;
            return earlier.ok_or(e);
        }
    };
    let lines: Vec<(i32, i32)> = cart_line::Entity::find()
        .filter(cart_line::Column::CartId.eq(cart.id))
        .order_by_asc(cart_line::Column::AddedAt)
        .order_by_asc(cart_line::Column::ProductId)
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.product_id, l.quantity))
        .collect();
    if lines.is_empty() {
        return Err(AppError::user(
            UserErrorCode::InvalidQuantity,
            &["cartId"],
            "The cart is empty.",
        ));
    }
    let request = OrderRequest {
        channel: Channel::Online,
        lines,
        idempotency_key: checkout.idempotency_key,
        contact: checkout.contact,
        note: checkout.note,
        delivery: checkout.delivery,
    };
    let order = orders::place(db, buyer, request, today).await?;
    cart::Entity::delete_by_id(cart.id).exec(db).await?;
    Ok(order)
}

/// Deletes the carts untouched for longer than `older_than`; returns how many.
pub async fn expire(db: &impl ConnectionTrait, older_than: Duration) -> AppResult<u64> {
    Ok(cart::Entity::delete_many()
        .filter(cart::Column::UpdatedAt.lt(Utc::now() - older_than))
        .exec(db)
        .await?
        .rows_affected)
}
