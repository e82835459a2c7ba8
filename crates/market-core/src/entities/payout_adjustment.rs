use crate::domain::enums::PayoutAdjustmentKind;
use sea_orm::entity::prelude::*;

/// A correction carried into a cooperative's next statement: a refund of a line already
/// settled, or the negative balance of an earlier statement.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_adjustments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub cooperative_id: i32,
    /// The refunded line (refunds only).
    pub order_line_id: Option<i64>,
    /// Signed centimes; negative for refunds and carried balances.
    pub amount_cents: i64,
    pub reason: String,
    /// The statement that took it in; `None` while it waits for the next statement.
    pub payout_statement_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub kind: PayoutAdjustmentKind,
    /// The negative statement whose balance this carries (carried balances only).
    pub source_statement_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
