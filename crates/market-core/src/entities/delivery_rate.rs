use sea_orm::entity::prelude::*;

/// The fee and the estimated window of a delivery method in one zone.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_rates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub method_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub zone_id: i32,
    pub fee_cents: i64,
    pub min_days: i32,
    pub max_days: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
