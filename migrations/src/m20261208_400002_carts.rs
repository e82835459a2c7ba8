//! Carts (issue #17): what a shopper means to buy, kept on the server — anonymous ones
//! found by their token, a customer's own merged into at sign-in. A cart reserves no
//! stock; checking it out places an order like `placeOrder`. Abandoned carts expire.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Carts {
    Table,
    Id,
    Token,
    UserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CartLines {
    Table,
    CartId,
    ProductId,
    Quantity,
    AddedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Carts::Table)
                .col(big_pk_auto(Carts::Id))
                .col(string_len_uniq(Carts::Token, 64))
                // A customer has at most one cart (NULLs, anonymous carts, are distinct).
                .col(integer_null(Carts::UserId).unique_key())
                .col(timestamp_with_time_zone(Carts::CreatedAt))
                .col(timestamp_with_time_zone(Carts::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Carts::Table, Carts::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_carts_updated_at")
                .table(Carts::Table)
                .col(Carts::UpdatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CartLines::Table)
                .col(big_integer(CartLines::CartId))
                .col(integer(CartLines::ProductId))
                .col(integer(CartLines::Quantity).check(Expr::col(CartLines::Quantity).gt(0)))
                .col(timestamp_with_time_zone(CartLines::AddedAt))
                .primary_key(
                    Index::create()
                        .col(CartLines::CartId)
                        .col(CartLines::ProductId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CartLines::Table, CartLines::CartId)
                        .to(Carts::Table, Carts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CartLines::Table, CartLines::ProductId)
                        .to(Products::Table, Products::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CartLines::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Carts::Table).to_owned())
            .await
    }
}
