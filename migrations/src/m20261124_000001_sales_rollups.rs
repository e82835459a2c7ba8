//! Sales rollups for the analytics: exact sums of the sales lines (lines of `PAID` and
//! `FULFILLED` orders) by market-local period, kept in the same transaction as every
//! order status change and rebuilt by imports. See `src/domain/rollups.rs` for how each
//! column is maintained and why the order counts stay exact.
//!
//! No foreign keys: these are derived data, deleted and rebuilt in bulk.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SalesCells {
    Table,
    Grain,
    PeriodStart,
    CooperativeId,
    SegmentId,
    Channel,
    Kind,
    RegionCode,
    RevenueCents,
    Items,
    OrdersTotal,
    OrdersKind,
    OrdersRegion,
    OrdersSegment,
    OrdersCooperative,
    OrdersCell,
}

#[derive(DeriveIden)]
enum SalesProducts {
    Table,
    Grain,
    PeriodStart,
    ProductId,
    CooperativeId,
    SegmentId,
    Kind,
    RegionCode,
    RevenueCents,
    Items,
}

#[derive(DeriveIden)]
enum SalesRollupState {
    Table,
    Id,
    Timezone,
    RebuiltAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(SalesCells::Table)
                .col(string_len(SalesCells::Grain, 1))
                .col(date(SalesCells::PeriodStart))
                .col(integer(SalesCells::CooperativeId))
                .col(integer(SalesCells::SegmentId))
                .col(string_len(SalesCells::Channel, 16))
                .col(string_len(SalesCells::Kind, 16))
                .col(string_len(SalesCells::RegionCode, 16))
                .col(big_integer(SalesCells::RevenueCents))
                .col(big_integer(SalesCells::Items))
                .col(big_integer(SalesCells::OrdersTotal))
                .col(big_integer(SalesCells::OrdersKind))
                .col(big_integer(SalesCells::OrdersRegion))
                .col(big_integer(SalesCells::OrdersSegment))
                .col(big_integer(SalesCells::OrdersCooperative))
                .col(big_integer(SalesCells::OrdersCell))
                .primary_key(
                    Index::create()
                        .col(SalesCells::Grain)
                        .col(SalesCells::PeriodStart)
                        .col(SalesCells::CooperativeId)
                        .col(SalesCells::SegmentId)
                        .col(SalesCells::Channel)
                        .col(SalesCells::Kind)
                        .col(SalesCells::RegionCode),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sales_cells_cooperative")
                .table(SalesCells::Table)
                .col(SalesCells::CooperativeId)
                .col(SalesCells::Grain)
                .col(SalesCells::PeriodStart)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SalesProducts::Table)
                .col(string_len(SalesProducts::Grain, 1))
                .col(date(SalesProducts::PeriodStart))
                .col(integer(SalesProducts::ProductId))
                .col(integer(SalesProducts::CooperativeId))
                .col(integer(SalesProducts::SegmentId))
                .col(string_len(SalesProducts::Kind, 16))
                .col(string_len(SalesProducts::RegionCode, 16))
                .col(big_integer(SalesProducts::RevenueCents))
                .col(big_integer(SalesProducts::Items))
                .primary_key(
                    Index::create()
                        .col(SalesProducts::Grain)
                        .col(SalesProducts::PeriodStart)
                        .col(SalesProducts::ProductId)
                        .col(SalesProducts::CooperativeId)
                        .col(SalesProducts::SegmentId)
                        .col(SalesProducts::Kind)
                        .col(SalesProducts::RegionCode),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sales_products_cooperative")
                .table(SalesProducts::Table)
                .col(SalesProducts::CooperativeId)
                .col(SalesProducts::Grain)
                .col(SalesProducts::PeriodStart)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SalesRollupState::Table)
                .col(integer(SalesRollupState::Id).primary_key())
                .col(string_len(SalesRollupState::Timezone, 64))
                .col(timestamp_with_time_zone_null(SalesRollupState::RebuiltAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            SalesRollupState::Table.into_iden(),
            SalesProducts::Table.into_iden(),
            SalesCells::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
