use sea_orm::entity::prelude::*;

/// The growing delay of an account's sign-ins from unknown places (see
/// `domain::signin_limits`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_throttles")]
pub struct Model {
    /// Normalized e-mail (whether or not an account has it: the same for both).
    #[sea_orm(primary_key, auto_increment = false)]
    pub email: String,
    /// The earliest moment the next attempt from an unknown place is verified.
    pub next_attempt_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
