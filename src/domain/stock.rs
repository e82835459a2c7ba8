//! The stock ledger. Every change of a product's level is one conditional `UPDATE` and one
//! appended movement, in the caller's transaction, so the level always equals the sum of
//! the ledger and never goes below zero: the `UPDATE … WHERE stock + delta >= 0` is
//! re-checked by PostgreSQL after a concurrent update (READ COMMITTED), SQLite runs one
//! writer at a time, and a `CHECK (stock >= 0)` is the last line of defence.

use crate::domain::enums::{AdjustmentReason, StockMovementKind};
use crate::entities::{product, stock_movement};
use crate::error::{AppError, AppResult, UserErrorCode};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

/// The largest number of units one movement may move.
pub const MAX_MOVEMENT: i32 = 1_000_000;

/// One change to a product's stock.
#[derive(Debug, Clone)]
pub struct Movement {
    pub product_id: i32,
    pub kind: StockMovementKind,
    pub delta: i32,
    pub reason: Option<AdjustmentReason>,
    pub note: Option<String>,
    pub order_id: Option<i64>,
    pub author_id: Option<i32>,
}

/// What refusing a movement says when there is not enough stock.
pub enum Shortage {
    /// A manual adjustment that would go below zero (`INSUFFICIENT_STOCK`).
    Adjustment,
    /// An order line that cannot be filled (`OUT_OF_STOCK`), with the line's field path.
    OrderLine(Vec<String>),
}

/// Applies `movement`: moves the level and appends the ledger line. Refuses with a user
/// error when the product does not exist or the level would go below zero.
pub async fn apply(
    db: &impl ConnectionTrait,
    movement: Movement,
    shortage: Shortage,
) -> AppResult<stock_movement::Model> {
    apply_at(db, movement, shortage, Utc::now()).await
}

/// [`apply`] dated `now`, for replaying past movements (the demo's history). Movements of
/// a product must be applied in the order they happened: the level is checked against
/// the current one.
pub async fn apply_at(
    db: &impl ConnectionTrait,
    movement: Movement,
    shortage: Shortage,
    now: DateTime<Utc>,
) -> AppResult<stock_movement::Model> {
    if movement.delta == 0 || movement.delta.abs() > MAX_MOVEMENT {
        return Err(AppError::user(
            UserErrorCode::InvalidQuantity,
            &["quantity"],
            format!("A stock movement moves 1 to {MAX_MOVEMENT} units."),
        ));
    }
    let updated = product::Entity::update_many()
        .col_expr(
            product::Column::Stock,
            Expr::col(product::Column::Stock).add(movement.delta),
        )
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .filter(product::Column::Id.eq(movement.product_id))
        .filter(Expr::col(product::Column::Stock).add(movement.delta).gte(0))
        .exec_with_returning(db)
        .await?;
    let Some(row) = updated.into_iter().next() else {
        let current = product::Entity::find_by_id(movement.product_id)
            .one(db)
            .await?;
        return Err(match current {
            None => AppError::user(UserErrorCode::NotFound, &["productId"], "No such product."),
            Some(p) => match shortage {
                Shortage::Adjustment => AppError::user(
                    UserErrorCode::InsufficientStock,
                    &["delta"],
                    format!(
                        "Only {} units of {} are in stock; the change would take it below zero.",
                        p.stock, p.sku
                    ),
                ),
                Shortage::OrderLine(field) => AppError::User(vec![crate::error::UserError {
                    field,
                    message: format!("Only {} units of {} are available.", p.stock, p.sku),
                    code: UserErrorCode::OutOfStock,
                }]),
            },
        });
    };
    Ok(stock_movement::ActiveModel {
        product_id: Set(movement.product_id),
        kind: Set(movement.kind),
        delta: Set(movement.delta),
        level_after: Set(row.stock),
        reason: Set(movement.reason),
        note: Set(movement.note.filter(|n| !n.trim().is_empty())),
        order_id: Set(movement.order_id),
        author_id: Set(movement.author_id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}
