//! Checkout for delivery (issue #17): customers' address books; delivery zones, methods and
//! their fees by zone (data, kept by managers); and what an order records of its delivery —
//! the method, the fee (the market's revenue, never a cooperative's), the address it ships
//! to (a snapshot) and where the parcel stands (`SHIPPED`, `DELIVERED`, `RETURNED`), each
//! step also written to the order's history.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Addresses {
    Table,
    Id,
    UserId,
    Recipient,
    Phone,
    Street,
    City,
    Province,
    RegionCode,
    PostalCode,
    IsDefault,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeliveryZones {
    Table,
    Id,
    Code,
    Name,
    RegionCode,
    City,
}

#[derive(DeriveIden)]
enum DeliveryMethods {
    Table,
    Id,
    Code,
    Name,
    Kind,
    Active,
    FreeAboveCents,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeliveryRates {
    Table,
    MethodId,
    ZoneId,
    FeeCents,
    MinDays,
    MaxDays,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    DeliveryMethodId,
    DeliveryFeeCents,
    ShippingAddress,
    DeliveryStatus,
    TrackingReference,
    ShippedAt,
    DeliveredAt,
    ReturnedAt,
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    DeliveryStatus,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Regions {
    Table,
    Code,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Addresses::Table)
                .col(pk_auto(Addresses::Id))
                .col(integer(Addresses::UserId))
                .col(string_len(Addresses::Recipient, 200))
                .col(string_len(Addresses::Phone, 32))
                .col(string_len(Addresses::Street, 300))
                .col(string_len(Addresses::City, 100))
                .col(string_len(Addresses::Province, 100))
                .col(string_len(Addresses::RegionCode, 16))
                .col(string_len_null(Addresses::PostalCode, 5))
                .col(boolean(Addresses::IsDefault).default(false))
                .col(timestamp_with_time_zone(Addresses::CreatedAt))
                .col(timestamp_with_time_zone(Addresses::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Addresses::Table, Addresses::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Addresses::Table, Addresses::RegionCode)
                        .to(Regions::Table, Regions::Code),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_addresses_user")
                .table(Addresses::Table)
                .col(Addresses::UserId)
                .col(Addresses::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DeliveryZones::Table)
                .col(pk_auto(DeliveryZones::Id))
                .col(string_len_uniq(DeliveryZones::Code, 64))
                .col(string_len(DeliveryZones::Name, 200))
                .col(string_len_null(DeliveryZones::RegionCode, 16))
                .col(string_len_null(DeliveryZones::City, 100))
                .foreign_key(
                    ForeignKey::create()
                        .from(DeliveryZones::Table, DeliveryZones::RegionCode)
                        .to(Regions::Table, Regions::Code),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DeliveryMethods::Table)
                .col(pk_auto(DeliveryMethods::Id))
                .col(string_len_uniq(DeliveryMethods::Code, 64))
                .col(string_len(DeliveryMethods::Name, 200))
                .col(
                    string_len(DeliveryMethods::Kind, 16)
                        .check(Expr::col(DeliveryMethods::Kind).is_in(["PICKUP", "HOME_DELIVERY"])),
                )
                .col(boolean(DeliveryMethods::Active).default(true))
                .col(
                    big_integer_null(DeliveryMethods::FreeAboveCents)
                        .check(Expr::col(DeliveryMethods::FreeAboveCents).gte(0)),
                )
                .col(timestamp_with_time_zone(DeliveryMethods::CreatedAt))
                .col(timestamp_with_time_zone(DeliveryMethods::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(DeliveryRates::Table)
                .col(integer(DeliveryRates::MethodId))
                .col(integer(DeliveryRates::ZoneId))
                .col(
                    big_integer(DeliveryRates::FeeCents)
                        .check(Expr::col(DeliveryRates::FeeCents).gte(0)),
                )
                .col(
                    integer(DeliveryRates::MinDays).check(Expr::col(DeliveryRates::MinDays).gte(0)),
                )
                .col(integer(DeliveryRates::MaxDays))
                .primary_key(
                    Index::create()
                        .col(DeliveryRates::MethodId)
                        .col(DeliveryRates::ZoneId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(DeliveryRates::Table, DeliveryRates::MethodId)
                        .to(DeliveryMethods::Table, DeliveryMethods::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(DeliveryRates::Table, DeliveryRates::ZoneId)
                        .to(DeliveryZones::Table, DeliveryZones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .check(Expr::col(DeliveryRates::MaxDays).gte(Expr::col(DeliveryRates::MinDays)))
                .to_owned(),
        )
        .await?;

        // SQLite alters one column per statement.
        let columns = [
            integer_null(Orders::DeliveryMethodId),
            big_integer(Orders::DeliveryFeeCents).default(0).to_owned(),
            text_null(Orders::ShippingAddress),
            string_len_null(Orders::DeliveryStatus, 16),
            string_len_null(Orders::TrackingReference, 128),
            timestamp_with_time_zone_null(Orders::ShippedAt),
            timestamp_with_time_zone_null(Orders::DeliveredAt),
            timestamp_with_time_zone_null(Orders::ReturnedAt),
        ];
        for mut column in columns {
            m.alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(OrderEvents::Table)
                .add_column(string_len_null(OrderEvents::DeliveryStatus, 16))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OrderEvents::Table)
                .drop_column(OrderEvents::DeliveryStatus)
                .to_owned(),
        )
        .await?;
        for column in [
            Orders::ReturnedAt,
            Orders::DeliveredAt,
            Orders::ShippedAt,
            Orders::TrackingReference,
            Orders::DeliveryStatus,
            Orders::ShippingAddress,
            Orders::DeliveryFeeCents,
            Orders::DeliveryMethodId,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        for table in [
            DeliveryRates::Table.into_iden(),
            DeliveryMethods::Table.into_iden(),
            DeliveryZones::Table.into_iden(),
            Addresses::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
