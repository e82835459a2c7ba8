use sea_orm::entity::prelude::*;

/// A seasonal promotion (`domain::promotions`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promotions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    /// `PERCENTAGE` (`discount_value` in basis points) or `FIXED_AMOUNT` (centimes off
    /// each unit).
    pub discount_kind: String,
    pub discount_value: i64,
    /// `PRODUCT` (a gift pack is a product), `SEGMENT` or `COOPERATIVE`.
    pub target: String,
    pub target_id: i32,
    pub starts_at: DateTimeUtc,
    /// Excluded: the promotion ends at this instant.
    pub ends_at: DateTimeUtc,
    /// The market's part of the funding, in basis points (10,000: the market funds it all;
    /// 0: the cooperative does).
    pub market_share_bp: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
