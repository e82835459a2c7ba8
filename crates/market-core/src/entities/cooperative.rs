use crate::domain::enums::{CooperativeKind, CooperativeStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cooperatives")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub slug: String,
    pub name: String,
    /// Lower-cased, accent-free name for search.
    pub search_text: String,
    pub description: String,
    pub kind: CooperativeKind,
    pub region_code: String,
    pub province_id: Option<i32>,
    pub founded_on: Option<Date>,
    pub member_count: i32,
    pub women_led: bool,
    pub youth_led: bool,
    pub listed_since: Date,
    pub status: CooperativeStatus,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    /// Commission in basis points; `None` means the default of its kind.
    pub commission_rate_bp: Option<i32>,
    pub payout_account: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::product::Entity")]
    Product,
    #[sea_orm(
        belongs_to = "super::region::Entity",
        from = "Column::RegionCode",
        to = "super::region::Column::Code"
    )]
    Region,
}

impl Related<super::product::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Product.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
