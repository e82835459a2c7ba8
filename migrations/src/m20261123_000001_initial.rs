//! The whole domain of DESIGN.md: catalog, compliance, stock ledger, accounts, orders and
//! payouts. Money is BIGINT centimes, enums are strings, rates are basis points.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Regions {
    Table,
    Code,
    Name,
    Position,
}

#[derive(DeriveIden)]
enum Provinces {
    Table,
    Id,
    RegionCode,
    Name,
}

#[derive(DeriveIden)]
enum Cooperatives {
    Table,
    Id,
    Slug,
    Name,
    SearchText,
    Description,
    Kind,
    RegionCode,
    ProvinceId,
    FoundedOn,
    MemberCount,
    WomenLed,
    YouthLed,
    ListedSince,
    Status,
    ContactEmail,
    ContactPhone,
    CommissionRateBp,
    PayoutAccount,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Segments {
    Table,
    Id,
    Slug,
    Name,
    Kind,
    Position,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Sku,
    Name,
    Description,
    SearchText,
    SegmentId,
    CooperativeId,
    Format,
    PriceCents,
    Active,
    Stock,
    LowStockThreshold,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Certifications {
    Table,
    Id,
    CooperativeId,
    Type,
    Number,
    Issuer,
    IssuedOn,
    ExpiresOn,
    CoversAllProducts,
    RevokedAt,
    RevokedReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CertificationProducts {
    Table,
    CertificationId,
    ProductId,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    PasswordHash,
    Role,
    CooperativeId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuthTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    Id,
    ThrottleKey,
    AttemptedAt,
}

#[derive(DeriveIden)]
enum StockMovements {
    Table,
    Id,
    ProductId,
    Kind,
    Delta,
    LevelAfter,
    Reason,
    Note,
    OrderId,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    Number,
    UserId,
    Channel,
    Status,
    TotalCents,
    ItemCount,
    ContactName,
    ContactEmail,
    ContactPhone,
    Note,
    IdempotencyKey,
    RequestHash,
    ExternalRef,
    PaymentMethod,
    PaymentReference,
    PlacedAt,
    PaidAt,
    FulfilledAt,
    CancelledAt,
    RefundedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
    OrderId,
    ProductId,
    Sku,
    ProductName,
    Quantity,
    UnitPriceCents,
    TotalCents,
    CooperativeId,
    SegmentId,
    RegionCode,
    Kind,
    CommissionRateBp,
    PayoutStatementId,
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    Id,
    OrderId,
    FromStatus,
    ToStatus,
    ActorId,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PayoutStatements {
    Table,
    Id,
    CooperativeId,
    PeriodStart,
    PeriodEnd,
    GrossCents,
    CommissionCents,
    RefundAdjustmentCents,
    CarriedInCents,
    NetCents,
    DueOn,
    Status,
    PaidOn,
    BankReference,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PayoutAdjustments {
    Table,
    Id,
    CooperativeId,
    OrderLineId,
    AmountCents,
    Reason,
    PayoutStatementId,
    CreatedAt,
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

fn index(table: impl IntoIden, name: &str, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(c);
    }
    idx.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Regions::Table)
                .col(string_len(Regions::Code, 16).primary_key())
                .col(string(Regions::Name))
                .col(integer(Regions::Position))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Provinces::Table)
                .col(pk_auto(Provinces::Id))
                .col(string_len(Provinces::RegionCode, 16))
                .col(string(Provinces::Name))
                .foreign_key(&mut fk(
                    Provinces::Table,
                    Provinces::RegionCode,
                    Regions::Table,
                    Regions::Code,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                Provinces::Table,
                "ux_provinces_region_name",
                vec![
                    Provinces::RegionCode.into_iden(),
                    Provinces::Name.into_iden(),
                ],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Cooperatives::Table)
                .col(pk_auto(Cooperatives::Id))
                .col(string_len_uniq(Cooperatives::Slug, 120))
                .col(string_len(Cooperatives::Name, 200))
                .col(string_len(Cooperatives::SearchText, 400))
                .col(text(Cooperatives::Description).default(""))
                .col(string_len(Cooperatives::Kind, 16))
                .col(string_len(Cooperatives::RegionCode, 16))
                .col(integer_null(Cooperatives::ProvinceId))
                .col(date_null(Cooperatives::FoundedOn))
                .col(
                    integer(Cooperatives::MemberCount)
                        .check(Expr::col(Cooperatives::MemberCount).gte(0)),
                )
                .col(boolean(Cooperatives::WomenLed))
                .col(boolean(Cooperatives::YouthLed))
                .col(date(Cooperatives::ListedSince))
                .col(string_len(Cooperatives::Status, 16))
                .col(string_len_null(Cooperatives::ContactEmail, 254))
                .col(string_len_null(Cooperatives::ContactPhone, 40))
                .col(
                    integer_null(Cooperatives::CommissionRateBp)
                        .check(Expr::col(Cooperatives::CommissionRateBp).between(0, 10_000)),
                )
                .col(string_len_null(Cooperatives::PayoutAccount, 64))
                .col(timestamp_with_time_zone(Cooperatives::CreatedAt))
                .col(timestamp_with_time_zone(Cooperatives::UpdatedAt))
                .foreign_key(&mut fk(
                    Cooperatives::Table,
                    Cooperatives::RegionCode,
                    Regions::Table,
                    Regions::Code,
                ))
                .foreign_key(&mut fk(
                    Cooperatives::Table,
                    Cooperatives::ProvinceId,
                    Provinces::Table,
                    Provinces::Id,
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_cooperatives_name",
                vec![Cooperatives::Name.into_iden(), Cooperatives::Id.into_iden()],
            ),
            (
                "ix_cooperatives_region",
                vec![Cooperatives::RegionCode.into_iden()],
            ),
            ("ix_cooperatives_kind", vec![Cooperatives::Kind.into_iden()]),
        ] {
            m.create_index(index(Cooperatives::Table, name, cols))
                .await?;
        }

        m.create_table(
            Table::create()
                .table(Segments::Table)
                .col(pk_auto(Segments::Id))
                .col(string_len_uniq(Segments::Slug, 80))
                .col(string_len(Segments::Name, 120))
                .col(string_len(Segments::Kind, 16))
                .col(integer(Segments::Position))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Products::Table)
                .col(pk_auto(Products::Id))
                .col(string_len_uniq(Products::Sku, 64))
                .col(string_len(Products::Name, 200))
                .col(text(Products::Description).default(""))
                .col(text(Products::SearchText))
                .col(integer(Products::SegmentId))
                .col(integer(Products::CooperativeId))
                .col(string_len(Products::Format, 80))
                .col(
                    big_integer(Products::PriceCents).check(Expr::col(Products::PriceCents).gte(0)),
                )
                .col(boolean(Products::Active))
                .col(integer(Products::Stock).check(Expr::col(Products::Stock).gte(0)))
                .col(integer(Products::LowStockThreshold).default(5))
                .col(timestamp_with_time_zone(Products::CreatedAt))
                .col(timestamp_with_time_zone(Products::UpdatedAt))
                .foreign_key(&mut fk(
                    Products::Table,
                    Products::SegmentId,
                    Segments::Table,
                    Segments::Id,
                ))
                .foreign_key(&mut fk(
                    Products::Table,
                    Products::CooperativeId,
                    Cooperatives::Table,
                    Cooperatives::Id,
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_products_cooperative",
                vec![
                    Products::CooperativeId.into_iden(),
                    Products::Id.into_iden(),
                ],
            ),
            ("ix_products_segment", vec![Products::SegmentId.into_iden()]),
            (
                "ix_products_name",
                vec![Products::Name.into_iden(), Products::Id.into_iden()],
            ),
            (
                "ix_products_price",
                vec![Products::PriceCents.into_iden(), Products::Id.into_iden()],
            ),
            (
                "ix_products_created",
                vec![Products::CreatedAt.into_iden(), Products::Id.into_iden()],
            ),
        ] {
            m.create_index(index(Products::Table, name, cols)).await?;
        }

        m.create_table(
            Table::create()
                .table(Certifications::Table)
                .col(pk_auto(Certifications::Id))
                .col(integer(Certifications::CooperativeId))
                .col(string_len(Certifications::Type, 32))
                .col(string_len(Certifications::Number, 80))
                .col(string_len(Certifications::Issuer, 200))
                .col(date(Certifications::IssuedOn))
                .col(date_null(Certifications::ExpiresOn))
                .col(boolean(Certifications::CoversAllProducts))
                .col(timestamp_with_time_zone_null(Certifications::RevokedAt))
                .col(text_null(Certifications::RevokedReason))
                .col(timestamp_with_time_zone(Certifications::CreatedAt))
                .col(timestamp_with_time_zone(Certifications::UpdatedAt))
                .foreign_key(&mut fk(
                    Certifications::Table,
                    Certifications::CooperativeId,
                    Cooperatives::Table,
                    Cooperatives::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            Certifications::Table,
            "ix_certifications_cooperative",
            vec![Certifications::CooperativeId.into_iden()],
        ))
        .await?;
        m.create_index(index(
            Certifications::Table,
            "ix_certifications_expires",
            vec![Certifications::ExpiresOn.into_iden()],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(CertificationProducts::Table)
                .col(integer(CertificationProducts::CertificationId))
                .col(integer(CertificationProducts::ProductId))
                .primary_key(
                    Index::create()
                        .col(CertificationProducts::CertificationId)
                        .col(CertificationProducts::ProductId),
                )
                .foreign_key(
                    &mut fk(
                        CertificationProducts::Table,
                        CertificationProducts::CertificationId,
                        Certifications::Table,
                        Certifications::Id,
                    )
                    .on_delete(ForeignKeyAction::Cascade)
                    .to_owned(),
                )
                .foreign_key(&mut fk(
                    CertificationProducts::Table,
                    CertificationProducts::ProductId,
                    Products::Table,
                    Products::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            CertificationProducts::Table,
            "ix_certification_products_product",
            vec![CertificationProducts::ProductId.into_iden()],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_auto(Users::Id))
                .col(string_len_uniq(Users::Email, 254))
                .col(string_len(Users::Name, 200))
                .col(string_len(Users::PasswordHash, 255))
                .col(string_len(Users::Role, 24))
                .col(integer_null(Users::CooperativeId))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .foreign_key(&mut fk(
                    Users::Table,
                    Users::CooperativeId,
                    Cooperatives::Table,
                    Cooperatives::Id,
                ))
                .check(Expr::cust(
                    "(role = 'COOPERATIVE_MEMBER') = (cooperative_id IS NOT NULL)",
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuthTokens::Table)
                .col(big_pk_auto(AuthTokens::Id))
                .col(integer(AuthTokens::UserId))
                .col(string_len_uniq(AuthTokens::TokenHash, 64))
                .col(timestamp_with_time_zone(AuthTokens::CreatedAt))
                .col(timestamp_with_time_zone(AuthTokens::ExpiresAt))
                .col(timestamp_with_time_zone_null(AuthTokens::RevokedAt))
                .foreign_key(
                    &mut fk(
                        AuthTokens::Table,
                        AuthTokens::UserId,
                        Users::Table,
                        Users::Id,
                    )
                    .on_delete(ForeignKeyAction::Cascade)
                    .to_owned(),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LoginAttempts::Table)
                .col(big_pk_auto(LoginAttempts::Id))
                .col(string_len(LoginAttempts::ThrottleKey, 300))
                .col(timestamp_with_time_zone(LoginAttempts::AttemptedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            LoginAttempts::Table,
            "ix_login_attempts_key_at",
            vec![
                LoginAttempts::ThrottleKey.into_iden(),
                LoginAttempts::AttemptedAt.into_iden(),
            ],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Orders::Table)
                .col(big_pk_auto(Orders::Id))
                .col(string_len_uniq(Orders::Number, 32))
                .col(integer_null(Orders::UserId))
                .col(string_len(Orders::Channel, 16))
                .col(string_len(Orders::Status, 16))
                .col(big_integer(Orders::TotalCents))
                .col(integer(Orders::ItemCount))
                .col(string_len_null(Orders::ContactName, 200))
                .col(string_len_null(Orders::ContactEmail, 254))
                .col(string_len_null(Orders::ContactPhone, 40))
                .col(text_null(Orders::Note))
                .col(string_len_null(Orders::IdempotencyKey, 128))
                .col(string_len_null(Orders::RequestHash, 64))
                .col(string_len_null(Orders::ExternalRef, 128).unique_key())
                .col(string_len_null(Orders::PaymentMethod, 24))
                .col(string_len_null(Orders::PaymentReference, 128))
                .col(timestamp_with_time_zone(Orders::PlacedAt))
                .col(timestamp_with_time_zone_null(Orders::PaidAt))
                .col(timestamp_with_time_zone_null(Orders::FulfilledAt))
                .col(timestamp_with_time_zone_null(Orders::CancelledAt))
                .col(timestamp_with_time_zone_null(Orders::RefundedAt))
                .col(timestamp_with_time_zone(Orders::UpdatedAt))
                .foreign_key(&mut fk(
                    Orders::Table,
                    Orders::UserId,
                    Users::Table,
                    Users::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                Orders::Table,
                "ux_orders_user_idempotency",
                vec![
                    Orders::UserId.into_iden(),
                    Orders::IdempotencyKey.into_iden(),
                ],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_orders_placed",
                vec![Orders::PlacedAt.into_iden(), Orders::Id.into_iden()],
            ),
            (
                "ix_orders_status_placed",
                vec![Orders::Status.into_iden(), Orders::PlacedAt.into_iden()],
            ),
            ("ix_orders_paid", vec![Orders::PaidAt.into_iden()]),
            (
                "ix_orders_user",
                vec![Orders::UserId.into_iden(), Orders::Id.into_iden()],
            ),
        ] {
            m.create_index(index(Orders::Table, name, cols)).await?;
        }

        m.create_table(
            Table::create()
                .table(PayoutStatements::Table)
                .col(pk_auto(PayoutStatements::Id))
                .col(integer(PayoutStatements::CooperativeId))
                .col(date(PayoutStatements::PeriodStart))
                .col(date(PayoutStatements::PeriodEnd))
                .col(big_integer(PayoutStatements::GrossCents))
                .col(big_integer(PayoutStatements::CommissionCents))
                .col(big_integer(PayoutStatements::RefundAdjustmentCents))
                .col(big_integer(PayoutStatements::CarriedInCents))
                .col(big_integer(PayoutStatements::NetCents))
                .col(date(PayoutStatements::DueOn))
                .col(string_len(PayoutStatements::Status, 16))
                .col(date_null(PayoutStatements::PaidOn))
                .col(string_len_null(PayoutStatements::BankReference, 128))
                .col(timestamp_with_time_zone(PayoutStatements::CreatedAt))
                .foreign_key(&mut fk(
                    PayoutStatements::Table,
                    PayoutStatements::CooperativeId,
                    Cooperatives::Table,
                    Cooperatives::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                PayoutStatements::Table,
                "ux_payout_statements_coop_period",
                vec![
                    PayoutStatements::CooperativeId.into_iden(),
                    PayoutStatements::PeriodStart.into_iden(),
                    PayoutStatements::PeriodEnd.into_iden(),
                ],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OrderLines::Table)
                .col(big_pk_auto(OrderLines::Id))
                .col(big_integer(OrderLines::OrderId))
                .col(integer(OrderLines::ProductId))
                .col(string_len(OrderLines::Sku, 64))
                .col(string_len(OrderLines::ProductName, 200))
                .col(integer(OrderLines::Quantity).check(Expr::col(OrderLines::Quantity).gt(0)))
                .col(big_integer(OrderLines::UnitPriceCents))
                .col(big_integer(OrderLines::TotalCents))
                .col(integer(OrderLines::CooperativeId))
                .col(integer(OrderLines::SegmentId))
                .col(string_len(OrderLines::RegionCode, 16))
                .col(string_len(OrderLines::Kind, 16))
                .col(integer(OrderLines::CommissionRateBp))
                .col(integer_null(OrderLines::PayoutStatementId))
                .foreign_key(
                    &mut fk(
                        OrderLines::Table,
                        OrderLines::OrderId,
                        Orders::Table,
                        Orders::Id,
                    )
                    .on_delete(ForeignKeyAction::Cascade)
                    .to_owned(),
                )
                .foreign_key(&mut fk(
                    OrderLines::Table,
                    OrderLines::ProductId,
                    Products::Table,
                    Products::Id,
                ))
                .foreign_key(&mut fk(
                    OrderLines::Table,
                    OrderLines::CooperativeId,
                    Cooperatives::Table,
                    Cooperatives::Id,
                ))
                .foreign_key(&mut fk(
                    OrderLines::Table,
                    OrderLines::PayoutStatementId,
                    PayoutStatements::Table,
                    PayoutStatements::Id,
                ))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_order_lines_order",
                vec![OrderLines::OrderId.into_iden()],
            ),
            (
                "ix_order_lines_product",
                vec![OrderLines::ProductId.into_iden()],
            ),
            (
                "ix_order_lines_cooperative",
                vec![
                    OrderLines::CooperativeId.into_iden(),
                    OrderLines::OrderId.into_iden(),
                ],
            ),
            (
                "ix_order_lines_statement",
                vec![OrderLines::PayoutStatementId.into_iden()],
            ),
        ] {
            m.create_index(index(OrderLines::Table, name, cols)).await?;
        }

        m.create_table(
            Table::create()
                .table(OrderEvents::Table)
                .col(big_pk_auto(OrderEvents::Id))
                .col(big_integer(OrderEvents::OrderId))
                .col(string_len_null(OrderEvents::FromStatus, 16))
                .col(string_len(OrderEvents::ToStatus, 16))
                .col(integer_null(OrderEvents::ActorId))
                .col(text_null(OrderEvents::Note))
                .col(timestamp_with_time_zone(OrderEvents::CreatedAt))
                .foreign_key(
                    &mut fk(
                        OrderEvents::Table,
                        OrderEvents::OrderId,
                        Orders::Table,
                        Orders::Id,
                    )
                    .on_delete(ForeignKeyAction::Cascade)
                    .to_owned(),
                )
                .foreign_key(&mut fk(
                    OrderEvents::Table,
                    OrderEvents::ActorId,
                    Users::Table,
                    Users::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            OrderEvents::Table,
            "ix_order_events_order",
            vec![
                OrderEvents::OrderId.into_iden(),
                OrderEvents::Id.into_iden(),
            ],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(StockMovements::Table)
                .col(big_pk_auto(StockMovements::Id))
                .col(integer(StockMovements::ProductId))
                .col(string_len(StockMovements::Kind, 16))
                .col(integer(StockMovements::Delta))
                .col(
                    integer(StockMovements::LevelAfter)
                        .check(Expr::col(StockMovements::LevelAfter).gte(0)),
                )
                .col(string_len_null(StockMovements::Reason, 32))
                .col(text_null(StockMovements::Note))
                .col(big_integer_null(StockMovements::OrderId))
                .col(integer_null(StockMovements::AuthorId))
                .col(timestamp_with_time_zone(StockMovements::CreatedAt))
                .foreign_key(&mut fk(
                    StockMovements::Table,
                    StockMovements::ProductId,
                    Products::Table,
                    Products::Id,
                ))
                .foreign_key(&mut fk(
                    StockMovements::Table,
                    StockMovements::OrderId,
                    Orders::Table,
                    Orders::Id,
                ))
                .foreign_key(&mut fk(
                    StockMovements::Table,
                    StockMovements::AuthorId,
                    Users::Table,
                    Users::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            StockMovements::Table,
            "ix_stock_movements_product",
            vec![
                StockMovements::ProductId.into_iden(),
                StockMovements::Id.into_iden(),
            ],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(PayoutAdjustments::Table)
                .col(big_pk_auto(PayoutAdjustments::Id))
                .col(integer(PayoutAdjustments::CooperativeId))
                .col(big_integer_null(PayoutAdjustments::OrderLineId))
                .col(big_integer(PayoutAdjustments::AmountCents))
                .col(text(PayoutAdjustments::Reason))
                .col(integer_null(PayoutAdjustments::PayoutStatementId))
                .col(timestamp_with_time_zone(PayoutAdjustments::CreatedAt))
                .foreign_key(&mut fk(
                    PayoutAdjustments::Table,
                    PayoutAdjustments::CooperativeId,
                    Cooperatives::Table,
                    Cooperatives::Id,
                ))
                .foreign_key(&mut fk(
                    PayoutAdjustments::Table,
                    PayoutAdjustments::OrderLineId,
                    OrderLines::Table,
                    OrderLines::Id,
                ))
                .foreign_key(&mut fk(
                    PayoutAdjustments::Table,
                    PayoutAdjustments::PayoutStatementId,
                    PayoutStatements::Table,
                    PayoutStatements::Id,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            PayoutAdjustments::Table,
            "ix_payout_adjustments_coop",
            vec![
                PayoutAdjustments::CooperativeId.into_iden(),
                PayoutAdjustments::PayoutStatementId.into_iden(),
            ],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            PayoutAdjustments::Table.into_iden(),
            StockMovements::Table.into_iden(),
            OrderEvents::Table.into_iden(),
            OrderLines::Table.into_iden(),
            PayoutStatements::Table.into_iden(),
            Orders::Table.into_iden(),
            LoginAttempts::Table.into_iden(),
            AuthTokens::Table.into_iden(),
            Users::Table.into_iden(),
            CertificationProducts::Table.into_iden(),
            Certifications::Table.into_iden(),
            Products::Table.into_iden(),
            Segments::Table.into_iden(),
            Cooperatives::Table.into_iden(),
            Provinces::Table.into_iden(),
            Regions::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
