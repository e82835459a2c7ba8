//! Imports that do not stop the shop: `import orders` writes its orders in short
//! transactions, each chunk tagged with its batch (`orders.import_batch_id`), and readers
//! see the orders of a batch only once it is `DONE` — one short transaction switches the
//! whole import in, so it stays all-or-nothing while other writers go on between its
//! chunks (on SQLite, one writer at a time). A batch left `STAGING` by a crashed import
//! is deleted by the next one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportBatches {
    Table,
    Id,
    Kind,
    State,
    StartedAt,
    HeartbeatAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    ImportBatchId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ImportBatches::Table)
                .col(big_pk_auto(ImportBatches::Id))
                .col(string_len(ImportBatches::Kind, 16))
                .col(
                    string_len(ImportBatches::State, 16)
                        .check(Expr::col(ImportBatches::State).is_in(["STAGING", "DONE"])),
                )
                .col(timestamp_with_time_zone(ImportBatches::StartedAt))
                .col(timestamp_with_time_zone(ImportBatches::HeartbeatAt))
                .col(timestamp_with_time_zone_null(ImportBatches::FinishedAt))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(big_integer_null(Orders::ImportBatchId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_orders_import_batch")
                .table(Orders::Table)
                .col(Orders::ImportBatchId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_orders_import_batch")
                .table(Orders::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .drop_column(Orders::ImportBatchId)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(ImportBatches::Table).to_owned())
            .await
    }
}
