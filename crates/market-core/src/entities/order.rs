use crate::domain::enums::{Channel, DeliveryStatus, OrderStatus, PaymentMethod};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub number: String,
    pub user_id: Option<i32>,
    pub channel: Channel,
    pub status: OrderStatus,
    pub total_cents: i64,
    pub item_count: i32,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the normalized request, to tell a replay from a conflicting reuse of a key.
    pub request_hash: Option<String>,
    /// The reference of an imported historical order.
    pub external_ref: Option<String>,
    pub payment_method: Option<PaymentMethod>,
    pub payment_reference: Option<String>,
    pub placed_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    pub fulfilled_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub refunded_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    /// When the order was loaded from the market's history (`import orders`, `seed
    /// --years`); such sales were paid before this system and never enter a payout.
    pub imported_at: Option<DateTimeUtc>,
    /// The import that wrote the order; readers see it only once that import is `DONE`
    /// (`domain::orders::visible`).
    pub import_batch_id: Option<i64>,
    /// How the order reaches its buyer; `None` for orders without a delivery choice (the
    /// till, and online orders placed without one).
    pub delivery_method_id: Option<i32>,
    /// The delivery fee, included in `total_cents`: the market's revenue, in no order line.
    pub delivery_fee_cents: i64,
    /// The address it ships to, as it was when the order was placed (JSON of
    /// `domain::addresses::AddressFields`).
    pub shipping_address: Option<String>,
    /// Where the parcel stands; `None` until it is shipped.
    pub delivery_status: Option<DeliveryStatus>,
    pub tracking_reference: Option<String>,
    pub shipped_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub returned_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
