use crate::domain::enums::CooperativeKind;
use sea_orm::entity::prelude::*;

/// One product of an order, with everything that matters snapshotted at order time.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub product_id: i32,
    pub sku: String,
    pub product_name: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub total_cents: i64,
    pub cooperative_id: i32,
    pub segment_id: i32,
    pub region_code: String,
    pub kind: CooperativeKind,
    pub commission_rate_bp: i32,
    pub payout_statement_id: Option<i32>,
    /// The gift pack this line is a component of (`None` for a product sold alone): the
    /// line holds the component's units and its share of the pack's revenue.
    pub pack_id: Option<i32>,
    pub pack_sku: Option<String>,
    pub pack_name: Option<String>,
    /// How many packs the order line was for.
    pub pack_quantity: Option<i32>,
    /// The pack's price at order time.
    pub pack_unit_price_cents: Option<i64>,
    /// The promotion that lowered the line's price, if any.
    pub promotion_id: Option<i32>,
    /// What the promotion took off the line (`total_cents` is after it; 0 without one).
    pub discount_cents: i64,
    /// The part of `discount_cents` the market funds: its cooperative is paid as if that
    /// part had been sold (`payouts::line_gross`).
    pub market_discount_cents: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
