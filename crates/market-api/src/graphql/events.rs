//! Events (issue #19): the `events` subscription (over `graphql-transport-ws`, see
//! `http::ws`) and the webhooks managers register to receive them.

use crate::error::Result;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::payload::respond;
use crate::payload;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use market_core::domain::events::{self, Hub};
use market_core::domain::webhooks;
use std::sync::Arc;

/// What happened. On the wire (webhook bodies, `Event.name`) these read `order.placed`,
/// `stock.low`…
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "market_core::domain::events::EventKind")]
pub enum EventType {
    /// An order was placed (`order.placed`).
    OrderPlaced,
    /// An order was paid (`order.paid`).
    OrderPaid,
    /// An order was cancelled (`order.cancelled`).
    OrderCancelled,
    /// An order was refunded (`order.refunded`).
    OrderRefunded,
    /// An order has been left unpaid for 48 hours (`order.stale`, once per order).
    OrderStale,
    /// A product's stock fell to its low-stock threshold or below (`stock.low`).
    StockLow,
    /// A product's stock reached zero (`stock.out`).
    StockOut,
    /// A certification expires within 30 days, then within 7 (`certification.expiring`,
    /// once each).
    CertificationExpiring,
    /// A certification expired (`certification.expired`, once).
    CertificationExpired,
    /// A payout statement was issued (`payout.issued`).
    PayoutIssued,
    /// A payout statement was paid (`payout.paid`).
    PayoutPaid,
    /// A payout statement is still due after its due date (`payout.overdue`, once).
    PayoutOverdue,
}

/// Something that happened in the market, as subscriptions and webhooks deliver it.
pub struct Event(pub events::Event);

/// Something that happened in the market, as subscriptions and webhooks deliver it.
#[Object]
impl Event {
    /// The event's id: increasing in the order events are published. Pass the last one
    /// seen as `events(after:)` to receive what was missed. Webhooks send it as
    /// `Market-Event-Id`.
    async fn id(&self) -> ID {
        ID(self.0.seq.to_string())
    }

    /// What happened.
    #[graphql(name = "type")]
    async fn kind(&self) -> Option<EventType> {
        events::EventKind::parse(&self.0.kind).map(Into::into)
    }

    /// What happened, as webhooks name it (`order.placed`).
    async fn name(&self) -> &str {
        &self.0.kind
    }

    /// What it is about: an order number, a SKU, a certification's or a statement's
    /// database id.
    async fn subject(&self) -> &str {
        &self.0.subject
    }

    /// When the change it reports was made.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The event's data: `{number, status}` for orders, `{sku, stock, threshold}` for
    /// stock, `{certificationId, type, number, expiresOn, daysLeft}` for certifications,
    /// `{statementId, periodStart, periodEnd, netCents, dueOn, status, paidOn}` for
    /// payouts. Never a buyer's details.
    async fn data(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
}

/// Subscriptions.
#[derive(Default)]
pub struct SubscriptionRoot;

/// Subscriptions.
#[Subscription]
impl SubscriptionRoot {
    /// The market's events as they happen, over WebSocket (`/graphql/ws`, protocol
    /// `graphql-transport-ws`; the bearer token in the connection's init payload as
    /// `{"authorization": "Bearer …"}`). Scoped like the queries: managers hear every
    /// event, members those of their cooperative, customers those of their own orders;
    /// anonymous connections are refused (`UNAUTHENTICATED`). `types` keeps only these
    /// (all when omitted or empty); `after` replays the events published after that id
    /// first, so a client that reconnects misses nothing.
    async fn events(
        &self,
        ctx: &Context<'_>,
        types: Option<Vec<EventType>>,
        after: Option<ID>,
    ) -> Result<impl Stream<Item = async_graphql::Result<Event>> + use<>> {
        let scope = ctx.viewer().event_scope()?;
        let after = match after {
            Some(id) => Some(id.parse::<i64>().map_err(|_| {
                market_core::error::AppError::user(
                    market_core::error::UserErrorCode::Invalid,
                    &["after"],
                    "An event id is a number.",
                )
            })?),
            None => None,
        };
        let kinds = types
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect();
        let hub = ctx.data_unchecked::<Arc<Hub>>().clone();
        Ok(hub.stream(scope, kinds, after).map(|event| {
            event
                .map(Event)
                .map_err(|e| crate::error::graphql_error(&e))
        }))
    }
}

/// A partner URL that receives events (managers only).
pub struct Webhook(pub webhooks::Webhook);

/// A partner URL that receives events, signed (see README: webhooks).
#[Object]
impl Webhook {
    /// The webhook's global ID.
    async fn id(&self) -> ID {
        ids::encode(NodeType::Webhook, self.0.id)
    }

    /// Where events are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The events it receives.
    async fn events(&self) -> Vec<EventType> {
        self.0
            .events
            .iter()
            .filter_map(|n| events::EventKind::parse(n))
            .map(Into::into)
            .collect()
    }

    /// Whether events are sent to it. A manager may disable it; so do too many failed
    /// deliveries in a row.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Why it was disabled.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// Failed attempts in a row (reset by a success).
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }

    /// The last four characters of its secret (the secret itself is never shown).
    async fn secret_hint(&self) -> &str {
        &self.0.secret_hint
    }

    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Its newest deliveries, newest first (at most 100).
    async fn recent_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
    ) -> Result<Vec<WebhookDelivery>> {
        ctx.viewer().require_manager("read webhook deliveries")?;
        let limit = first.clamp(0, 100) as u64;
        Ok(webhooks::deliveries(ctx.db(), self.0.id, limit)
            .await?
            .into_iter()
            .map(WebhookDelivery)
            .collect())
    }
}

/// How a delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookDeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// Answered with a 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
    /// Not sent: the webhook was disabled.
    Skipped,
}

/// One event sent (or to be sent) to a webhook: its log line.
pub struct WebhookDelivery(pub webhooks::Delivery);

/// One event sent (or to be sent) to a webhook: its log line.
#[Object]
impl WebhookDelivery {
    /// The event's id (`Market-Event-Id`, the same on every attempt).
    async fn event_id(&self) -> ID {
        ID(self.0.event_seq.to_string())
    }

    /// The event's name (`order.placed`).
    async fn event_name(&self) -> &str {
        &self.0.event_kind
    }

    /// How it stands.
    async fn status(&self) -> WebhookDeliveryStatus {
        match self.0.status.as_str() {
            "DELIVERED" => WebhookDeliveryStatus::Delivered,
            "FAILED" => WebhookDeliveryStatus::Failed,
            "SKIPPED" => WebhookDeliveryStatus::Skipped,
            _ => WebhookDeliveryStatus::Pending,
        }
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// The HTTP status of the last answer, if there was one.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }

    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When the next attempt is due (while pending).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == "PENDING").then_some(self.0.next_attempt_at)
    }

    /// When it was delivered.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }

    /// When the event was queued for this webhook.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Webhook queries (managers only).
#[derive(Default)]
pub struct WebhooksQuery;

/// Webhook queries (managers only).
#[Object]
impl WebhooksQuery {
    /// Every webhook, oldest first.
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        ctx.viewer().require_manager("list webhooks")?;
        crate::graphql::cacheability::mark_uncacheable(ctx);
        Ok(webhooks::list(ctx.db())
            .await?
            .into_iter()
            .map(Webhook)
            .collect())
    }
}

/// A webhook to register.
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// Where to POST the events (`http` or `https`).
    pub url: String,
    /// The events it receives (at least one).
    pub events: Vec<EventType>,
    /// The secret deliveries are signed with (16 to 256 characters); keep it: it is
    /// never shown again.
    pub secret: String,
}

/// A webhook to disable.
#[derive(InputObject)]
pub struct DisableWebhookInput {
    /// The webhook.
    pub id: ID,
}

/// A webhook's new secret.
#[derive(InputObject)]
pub struct RotateWebhookSecretInput {
    /// The webhook.
    pub id: ID,
    /// The new secret (16 to 256 characters); the next attempts are signed with it.
    pub secret: String,
}

payload!(
    /// The result of a webhook mutation.
    WebhookPayload {
        /// The webhook as saved.
        webhook: Webhook
    }
);

/// Webhook mutations (managers only).
#[derive(Default)]
pub struct WebhooksMutation;

/// Webhook mutations (managers only).
#[Object]
impl WebhooksMutation {
    /// Registers a webhook: the events published from now on are POSTed to it, signed.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> Result<WebhookPayload> {
        let manager = ctx.viewer().require_manager("register webhooks")?;
        let kinds: Vec<events::EventKind> = input.events.into_iter().map(Into::into).collect();
        let result =
            webhooks::create(ctx.db(), manager.user_id, &input.url, &kinds, &input.secret).await;
        respond(result, |w| WebhookPayload::ok(Webhook(w)))
    }

    /// Disables a webhook: nothing more is sent to it.
    async fn disable_webhook(
        &self,
        ctx: &Context<'_>,
        input: DisableWebhookInput,
    ) -> Result<WebhookPayload> {
        ctx.viewer().require_manager("disable webhooks")?;
        let result = match ids::decode::<i32>(&input.id, NodeType::Webhook) {
            Ok(id) => webhooks::disable(ctx.db(), id).await,
            Err(e) => Err(e),
        };
        respond(result, |w| WebhookPayload::ok(Webhook(w)))
    }

    /// Replaces a webhook's secret.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: RotateWebhookSecretInput,
    ) -> Result<WebhookPayload> {
        ctx.viewer().require_manager("rotate webhook secrets")?;
        let result = match ids::decode::<i32>(&input.id, NodeType::Webhook) {
            Ok(id) => webhooks::rotate_secret(ctx.db(), id, &input.secret).await,
            Err(e) => Err(e),
        };
        respond(result, |w| WebhookPayload::ok(Webhook(w)))
    }
}
