use crate::domain::enums::CertificationType;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub cooperative_id: i32,
    #[sea_orm(column_name = "type")]
    pub r#type: CertificationType,
    pub number: String,
    pub issuer: String,
    pub issued_on: Date,
    pub expires_on: Option<Date>,
    /// `true`: covers every product of the cooperative; `false`: those in `certification_products`.
    pub covers_all_products: bool,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
