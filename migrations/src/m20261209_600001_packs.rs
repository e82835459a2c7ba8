//! Gift packs (issue #18): a product made of other products (`products.is_pack`, its
//! components in `pack_components`), whose stock is computed from its components' and
//! never stored. An order line of a pack is recorded as one line per component, each
//! with its share of the pack's revenue, so payouts, rollups and analytics see through
//! packs; the pack those lines were sold as is snapshotted on them (`order_lines.pack_*`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    IsPack,
}

#[derive(DeriveIden)]
enum PackComponents {
    Table,
    PackId,
    ComponentId,
    Quantity,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    PackId,
    PackSku,
    PackName,
    PackQuantity,
    PackUnitPriceCents,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Products::Table)
                .add_column(boolean(Products::IsPack).default(false))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PackComponents::Table)
                .col(integer(PackComponents::PackId))
                .col(integer(PackComponents::ComponentId))
                .col(
                    integer(PackComponents::Quantity)
                        .check(Expr::col(PackComponents::Quantity).gt(0)),
                )
                .primary_key(
                    Index::create()
                        .col(PackComponents::PackId)
                        .col(PackComponents::ComponentId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PackComponents::Table, PackComponents::PackId)
                        .to(Products::Table, Products::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PackComponents::Table, PackComponents::ComponentId)
                        .to(Products::Table, Products::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_pack_components_component")
                .table(PackComponents::Table)
                .col(PackComponents::ComponentId)
                .to_owned(),
        )
        .await?;
        // One column per statement: SQLite adds one column at a time.
        for column in [
            integer_null(OrderLines::PackId),
            string_len_null(OrderLines::PackSku, 64),
            string_len_null(OrderLines::PackName, 200),
            integer_null(OrderLines::PackQuantity),
            big_integer_null(OrderLines::PackUnitPriceCents),
        ] {
            let mut column = column;
            m.alter_table(
                Table::alter()
                    .table(OrderLines::Table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            OrderLines::PackId,
            OrderLines::PackSku,
            OrderLines::PackName,
            OrderLines::PackQuantity,
            OrderLines::PackUnitPriceCents,
        ] {
            m.alter_table(
                Table::alter()
                    .table(OrderLines::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(PackComponents::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(Products::Table)
                .drop_column(Products::IsPack)
                .to_owned(),
        )
        .await
    }
}
