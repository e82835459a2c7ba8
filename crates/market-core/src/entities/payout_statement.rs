use crate::domain::enums::PayoutStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_statements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cooperative_id: i32,
    pub period_start: Date,
    pub period_end: Date,
    pub gross_cents: i64,
    pub commission_cents: i64,
    pub refund_adjustment_cents: i64,
    /// A negative balance carried in from the previous statement.
    pub carried_in_cents: i64,
    pub net_cents: i64,
    pub due_on: Date,
    pub status: PayoutStatus,
    pub paid_on: Option<Date>,
    pub bank_reference: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
