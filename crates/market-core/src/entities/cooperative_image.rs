use crate::domain::enums::CooperativeImageRole;
use sea_orm::entity::prelude::*;

/// A cooperative's logo or cover picture (one of each at most).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cooperative_images")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cooperative_id: i32,
    pub role: CooperativeImageRole,
    pub stored_image_id: i32,
    pub alt: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::stored_image::Entity",
        from = "Column::StoredImageId",
        to = "super::stored_image::Column::Id"
    )]
    StoredImage,
}

impl Related<super::stored_image::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StoredImage.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
