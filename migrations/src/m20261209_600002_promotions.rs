//! Seasonal promotions (issue #18): a percentage or fixed discount on a product (a gift
//! pack is one), a segment or a cooperative, between two instants, funded by the market,
//! the cooperative or both (`market_share_bp`). An order line snapshots the discount it got,
//! the promotion and the part the market funds, which its cooperative is paid as if sold.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Promotions {
    Table,
    Id,
    Name,
    DiscountKind,
    DiscountValue,
    Target,
    TargetId,
    StartsAt,
    EndsAt,
    MarketShareBp,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    PromotionId,
    DiscountCents,
    MarketDiscountCents,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Promotions::Table)
                .col(pk_auto(Promotions::Id))
                .col(string_len(Promotions::Name, 200))
                .col(string_len(Promotions::DiscountKind, 16))
                .col(big_integer(Promotions::DiscountValue))
                .col(string_len(Promotions::Target, 16))
                .col(integer(Promotions::TargetId))
                .col(timestamp_with_time_zone(Promotions::StartsAt))
                .col(timestamp_with_time_zone(Promotions::EndsAt))
                .col(integer(Promotions::MarketShareBp))
                .col(timestamp_with_time_zone(Promotions::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_promotions_ends_at")
                .table(Promotions::Table)
                .col(Promotions::EndsAt)
                .to_owned(),
        )
        .await?;
        for column in [
            integer_null(OrderLines::PromotionId),
            big_integer(OrderLines::DiscountCents).default(0).to_owned(),
            big_integer(OrderLines::MarketDiscountCents)
                .default(0)
                .to_owned(),
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
            OrderLines::PromotionId,
            OrderLines::DiscountCents,
            OrderLines::MarketDiscountCents,
        ] {
            m.alter_table(
                Table::alter()
                    .table(OrderLines::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(Promotions::Table).to_owned())
            .await
    }
}
