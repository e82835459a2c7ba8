//! Imported history: `orders.imported_at` marks an order loaded from the market's past
//! sales (`import orders`, `seed --years`). Those sales were paid to the cooperatives
//! before this system kept their payouts, so payout generation leaves them out; they count
//! in the analytics like any other sale.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    ImportedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(timestamp_with_time_zone_null(Orders::ImportedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .drop_column(Orders::ImportedAt)
                .to_owned(),
        )
        .await
    }
}
