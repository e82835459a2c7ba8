use sea_orm::entity::prelude::*;

/// One component of a gift pack: `quantity` units of product `component_id` in each
/// pack `pack_id`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pack_components")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pack_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub component_id: i32,
    pub quantity: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
