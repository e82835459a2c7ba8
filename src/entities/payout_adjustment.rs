use sea_orm::entity::prelude::*;

/// A correction carried into a cooperative's next statement (a refund after payout).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_adjustments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub cooperative_id: i32,
    pub order_line_id: Option<i64>,
    pub amount_cents: i64,
    pub reason: String,
    pub payout_statement_id: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
