use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub sku: String,
    pub name: String,
    pub description: String,
    /// Lower-cased, accent-free name and description for search.
    pub search_text: String,
    pub segment_id: i32,
    pub cooperative_id: i32,
    pub format: String,
    pub price_cents: i64,
    pub active: bool,
    /// Current level; always the sum of the product's stock movements.
    pub stock: i32,
    pub low_stock_threshold: i32,
    /// A gift pack: its components are in `pack_components` and its stock (`stock` stays
    /// 0) is computed from theirs (`domain::packs`).
    pub is_pack: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::cooperative::Entity",
        from = "Column::CooperativeId",
        to = "super::cooperative::Column::Id"
    )]
    Cooperative,
    #[sea_orm(
        belongs_to = "super::segment::Entity",
        from = "Column::SegmentId",
        to = "super::segment::Column::Id"
    )]
    Segment,
}

impl Related<super::cooperative::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cooperative.def()
    }
}

impl Related<super::segment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Segment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
