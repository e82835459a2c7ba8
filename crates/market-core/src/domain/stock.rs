//! The stock ledger. Every change of a product's level is one conditional `UPDATE` and one
//! appended movement, in the caller's transaction, so the level always equals the sum of
//! the ledger and never goes below zero: the `UPDATE … WHERE stock >= -delta` is
//! re-checked by PostgreSQL after a concurrent update (READ COMMITTED), SQLite runs one
//! writer at a time, and a `CHECK (stock >= 0)` is the last line of defence.

use crate::domain::enums::{AdjustmentReason, StockMovementKind};
use crate::domain::input;
use crate::entities::{product, stock_movement};
use crate::error::{AppError, AppResult, UserErrorCode};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

/// The largest number of units one movement may move.
pub const MAX_MOVEMENT: i32 = 1_000_000;
/// The highest stock level a product may reach: far above any shelf, far below the
/// 32-bit column's limit, so no sum of movements can overflow it.
pub const MAX_LEVEL: i32 = 1_000_000_000;

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

/// The input field that carries a movement's units: `quantity` for a delivery (and the
/// orders' lines), `delta` for an adjustment.
fn units_field(kind: StockMovementKind) -> &'static str {
    match kind {
        StockMovementKind::Adjustment => "delta",
        _ => "quantity",
    }
}

/// Applies `movement`: moves the level and appends the ledger line. Refuses with a user
/// error when the product does not exist, the level would go below zero or above
/// [`MAX_LEVEL`], or the note is too long.
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
#[tracing::instrument(skip_all, fields(product_id = movement.product_id, kind = %movement.kind, delta = movement.delta, order_id = movement.order_id))]
pub async fn apply_at(
    db: &impl ConnectionTrait,
    movement: Movement,
    shortage: Shortage,
    now: DateTime<Utc>,
) -> AppResult<stock_movement::Model> {
    let recorded = apply_untouched(db, movement, shortage, now).await?;
    // The level is public (`Product.stock`, `inStock`): a new catalog version.
    crate::domain::catalog_version::touch(db).await?;
    Ok(recorded)
}

/// [`apply_at`] without the new catalog version, for a transaction that moves several
/// products and records one version for all of them (`catalog_version::touch` once).
pub(crate) async fn apply_untouched(
    db: &impl ConnectionTrait,
    movement: Movement,
    shortage: Shortage,
    now: DateTime<Utc>,
) -> AppResult<stock_movement::Model> {
    let field = units_field(movement.kind);
    let mut errors = Vec::new();
    // `unsigned_abs`: `i32::MIN.abs()` does not exist.
    if movement.delta == 0 || movement.delta.unsigned_abs() > MAX_MOVEMENT.unsigned_abs() {
        errors.push(crate::error::UserError::new(
            UserErrorCode::InvalidQuantity,
            &[field],
            format!("A stock movement moves 1 to {MAX_MOVEMENT} units."),
        ));
    }
    let note = input::optional(
        &mut errors,
        "note",
        "a note",
        movement.note.as_deref(),
        input::MOVEMENT_NOTE,
        true,
    )
    .filter(|n| !n.is_empty());
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    let mut update = product::Entity::update_many()
        .col_expr(
            product::Column::Stock,
            Expr::col(product::Column::Stock).add(movement.delta),
        )
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .filter(product::Column::Id.eq(movement.product_id))
        // `stock >= -delta` rather than `stock + delta >= 0`: no sum to overflow.
        .filter(Expr::col(product::Column::Stock).gte(-movement.delta));
    if movement.delta > 0 {
        // Only a rise is bounded, so a level above the bound (set by other means) can
        // still come down.
        update = update.filter(Expr::col(product::Column::Stock).lte(MAX_LEVEL - movement.delta));
    }
    let updated = update.exec_with_returning(db).await?;
    let Some(row) = updated.into_iter().next() else {
        let current = product::Entity::find_by_id(movement.product_id)
            .one(db)
            .await?;
        return Err(match current {
            None => AppError::user(UserErrorCode::NotFound, &["productId"], "No such product."),
            Some(p) if movement.delta > 0 && p.stock.saturating_add(movement.delta) > MAX_LEVEL => {
                AppError::user(
                    UserErrorCode::InvalidQuantity,
                    &[field],
                    format!(
                        "{} has {} units in stock; a level above {MAX_LEVEL} units is refused.",
                        p.sku, p.stock
                    ),
                )
            }
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
    // A level that falls across the product's threshold, or to zero, is announced.
    if let Some(event) = crate::domain::events::stock_crossing(
        &row.sku,
        row.cooperative_id,
        row.stock - movement.delta,
        row.stock,
        row.low_stock_threshold,
    ) {
        crate::domain::events::emit(db, &[event], now).await?;
    }
    Ok(stock_movement::ActiveModel {
        product_id: Set(movement.product_id),
        kind: Set(movement.kind),
        delta: Set(movement.delta),
        level_after: Set(row.stock),
        reason: Set(movement.reason),
        note: Set(note),
        order_id: Set(movement.order_id),
        author_id: Set(movement.author_id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}
