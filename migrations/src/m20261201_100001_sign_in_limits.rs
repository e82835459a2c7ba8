//! Sign-in limits that cannot be turned against the account's owner:
//! `account_throttles` holds, per e-mail, the earliest moment a sign-in from a place the
//! account has never signed in from may be tried again (the growing delay after repeated
//! failures), and `sign_in_sources` the places (client addresses) each account signed in
//! from, which that delay never applies to. Attempts themselves are counted in
//! `login_attempts`, before any password is checked.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccountThrottles {
    Table,
    Email,
    NextAttemptAt,
}

#[derive(DeriveIden)]
enum SignInSources {
    Table,
    Email,
    Source,
    LastSuccessAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AccountThrottles::Table)
                .col(string_len(AccountThrottles::Email, 254).primary_key())
                .col(timestamp_with_time_zone(AccountThrottles::NextAttemptAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SignInSources::Table)
                .col(string_len(SignInSources::Email, 254))
                .col(string_len(SignInSources::Source, 64))
                .col(timestamp_with_time_zone(SignInSources::LastSuccessAt))
                .primary_key(
                    Index::create()
                        .col(SignInSources::Email)
                        .col(SignInSources::Source),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SignInSources::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(AccountThrottles::Table).to_owned())
            .await
    }
}
