use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "translations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `product`, `cooperative`, `segment`, `region` or `province`
    /// (`domain::i18n::SubjectKind`).
    pub subject_kind: String,
    /// The thing's id (a region's code).
    pub subject_key: String,
    /// A language tag of the configured languages (`fr`, `ar`, `zgh`).
    pub language: String,
    pub name: String,
    pub description: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
