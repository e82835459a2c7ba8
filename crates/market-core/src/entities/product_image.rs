use sea_orm::entity::prelude::*;

/// A photo of a product, in the product's order (`position` from 0).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_images")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub product_id: i32,
    pub stored_image_id: i32,
    pub alt: String,
    pub position: i32,
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
