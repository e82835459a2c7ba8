use sea_orm::entity::prelude::*;

/// One image file of the object store, by the SHA-256 of its bytes (the re-encoded
/// original): several records may use it. Its row is what uploads and deletions of the
/// same file serialize on.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stored_images")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub hash: String,
    /// `jpeg`, `png` or `webp`: the original's format, kept on re-encoding.
    pub format: String,
    pub width: i32,
    pub height: i32,
    pub byte_size: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
