//! Events (issue #19): the transactional outbox, webhooks and their delivery log.
//!
//! - `events`: one row per event, written in the transaction of the change it reports.
//!   `seq` is the published, monotonic id clients see: on SQLite it is taken in the
//!   writing transaction (one writer at a time, so in commit order); on PostgreSQL ids are
//!   drawn before commit, so `seq` is given after commit by one sequencer at a time
//!   (`domain::events::publish`), and a reader that saw `seq` n never later finds a
//!   smaller one. `occurrence` makes a time-based event unique (exactly once).
//! - `webhooks`, `webhook_deliveries` (one row per webhook and event: the idempotency
//!   id, the retry schedule and the log) and `event_cursors` (how far the fan-out of events
//!   to webhooks has gone).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Seq,
    Kind,
    Subject,
    UserId,
    Cooperatives,
    Payload,
    Occurrence,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    Url,
    Events,
    Secret,
    Enabled,
    ConsecutiveFailures,
    DisabledReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    EventSeq,
    Status,
    Attempts,
    NextAttemptAt,
    LastStatusCode,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum EventCursors {
    Table,
    Name,
    Position,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Events::Table)
                .col(big_pk_auto(Events::Id))
                .col(big_integer_null(Events::Seq).unique_key())
                .col(string(Events::Kind))
                .col(string(Events::Subject))
                .col(integer_null(Events::UserId))
                .col(string(Events::Cooperatives).default("[]"))
                .col(text(Events::Payload))
                .col(string_null(Events::Occurrence).unique_key())
                .col(timestamp_with_time_zone(Events::CreatedAt))
                .to_owned(),
        )
        .await?;
        // The sequencer's work list (PostgreSQL): the events not published yet.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_events_unpublished ON events (id) WHERE seq IS NULL",
            )
            .await?;
        if m.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("CREATE SEQUENCE events_seq")
                .await?;
        }

        m.create_table(
            Table::create()
                .table(Webhooks::Table)
                .col(pk_auto(Webhooks::Id))
                .col(string(Webhooks::Url))
                .col(string(Webhooks::Events))
                .col(string(Webhooks::Secret))
                .col(boolean(Webhooks::Enabled).default(true))
                .col(integer(Webhooks::ConsecutiveFailures).default(0))
                .col(string_null(Webhooks::DisabledReason))
                .col(integer_null(Webhooks::CreatedBy))
                .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                .col(timestamp_with_time_zone(Webhooks::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(big_pk_auto(WebhookDeliveries::Id))
                .col(integer(WebhookDeliveries::WebhookId))
                .col(big_integer(WebhookDeliveries::EventSeq))
                .col(string(WebhookDeliveries::Status))
                .col(integer(WebhookDeliveries::Attempts).default(0))
                .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                .col(integer_null(WebhookDeliveries::LastStatusCode))
                .col(string_null(WebhookDeliveries::LastError))
                .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                .col(timestamp_with_time_zone_null(
                    WebhookDeliveries::DeliveredAt,
                ))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                        .to(Webhooks::Table, Webhooks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_webhook_deliveries_event")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::WebhookId)
                .col(WebhookDeliveries::EventSeq)
                .unique()
                .to_owned(),
        )
        .await?;
        // The deliveries due: the dispatcher's work list.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) \
                 WHERE status = 'PENDING'",
            )
            .await?;

        m.create_table(
            Table::create()
                .table(EventCursors::Table)
                .col(string(EventCursors::Name).primary_key())
                .col(big_integer(EventCursors::Position).default(0))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared("INSERT INTO event_cursors (name, position) VALUES ('webhooks', 0)")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_deliveries", "webhooks", "event_cursors", "events"] {
            m.get_connection()
                .execute_unprepared(&format!("DROP TABLE IF EXISTS {table}"))
                .await?;
        }
        if m.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP SEQUENCE IF EXISTS events_seq")
                .await?;
        }
        Ok(())
    }
}
