use crate::domain::enums::{AdjustmentReason, StockMovementKind};
use sea_orm::entity::prelude::*;

/// One line of a product's append-only stock ledger.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub product_id: i32,
    pub kind: StockMovementKind,
    pub delta: i32,
    pub level_after: i32,
    pub reason: Option<AdjustmentReason>,
    pub note: Option<String>,
    pub order_id: Option<i64>,
    pub author_id: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
