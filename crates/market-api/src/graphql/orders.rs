//! Orders: storefront checkout, in-store sales, the order life cycle, and reading orders
//! (each viewer sees only what concerns them).

use crate::error::Result;
use crate::error::{AppError, AppResult, UserErrorCode};
use crate::graphql::accounts::User;
use crate::graphql::addresses::{AddressInput, PostalAddress};
use crate::graphql::context::{ContextExt, load_or_default, load_required};
use crate::graphql::cooperative::Cooperative;
use crate::graphql::delivery::{DeliveryMethod, DeliveryStatus, chosen_address};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::{
    CooperativeKey, DeliveryMethodKey, EventsOfOrder, LinesOfOrder, LoadError, ProductKey, UserKey,
};
use crate::graphql::money::Money;
use crate::graphql::pagination::{Cursor, PageArgs, listing_connection};
use crate::graphql::payload::respond;
use crate::graphql::product::Product;
use crate::graphql::scalars::Date;
use crate::payload;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use market_core::db;
use market_core::domain::addresses::AddressFields;
use market_core::domain::enums as d;
use market_core::domain::lists;
use market_core::domain::market_time;
use market_core::domain::orders::{
    self, Contact, DeliveryChoice, OrderFilter, OrderKey, OrderRequest, Transition,
};
use market_core::domain::policy::Actor;
use market_core::domain::policy::Viewer;
use market_core::models::{order, order_event, order_line};

/// Where an order was placed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::Channel")]
pub enum Channel {
    /// On the e-commerce storefront, by a signed-in customer.
    Online,
    /// At the till of the shop, recorded by a manager.
    Store,
}

/// The life cycle of an order.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::OrderStatus")]
pub enum OrderStatus {
    /// Placed; its stock is taken. Awaiting payment.
    Placed,
    /// Paid.
    Paid,
    /// Handed over or shipped.
    Fulfilled,
    /// Cancelled before fulfilment; its stock was returned.
    Cancelled,
    /// Refunded after payment; its stock was returned if it was restocked.
    Refunded,
}

/// How an order was paid.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::PaymentMethod")]
pub enum PaymentMethod {
    /// Cash at the till.
    Cash,
    /// Bank card.
    Card,
    /// Bank transfer.
    Transfer,
    /// Cash collected on delivery.
    CashOnDelivery,
}

/// An order of the storefront or the shop.
pub struct Order {
    model: order::Model,
    /// For a cooperative member: only their cooperative's lines are shown and totalled.
    only_cooperative: Option<i32>,
}

impl Order {
    pub fn for_viewer(model: order::Model, viewer: &Viewer) -> Self {
        Self {
            model,
            only_cooperative: viewer.order_lines_of_cooperative(),
        }
    }

    async fn visible_lines(&self, ctx: &Context<'_>) -> AppResult<Vec<order_line::Model>> {
        let lines = ctx
            .loaders()
            .load_one(LinesOfOrder(self.model.id))
            .await?
            .unwrap_or_default();
        Ok(lines
            .into_iter()
            .filter(|l| self.only_cooperative.is_none_or(|c| l.cooperative_id == c))
            .collect())
    }
}

/// An order of the storefront or the shop.
#[Object(cache_control(private))]
impl Order {
    /// Global ID of the order.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Order, self.model.id)
    }
    /// Human-readable order number, e.g. "SM-7KQ2M9XW3A".
    async fn number(&self) -> &str {
        &self.model.number
    }
    /// Where it was placed.
    async fn channel(&self) -> Channel {
        self.model.channel.into()
    }
    /// Where it stands.
    async fn status(&self) -> OrderStatus {
        self.model.status.into()
    }
    /// What the buyer pays: the lines and the delivery fee. For a cooperative member, the
    /// total of its own lines only (the fee is the market's, never a cooperative's).
    async fn total(&self, ctx: &Context<'_>) -> Result<Money> {
        if self.only_cooperative.is_none() {
            return Ok(Money::mad(self.model.total_cents));
        }
        Ok(Money::mad(
            self.visible_lines(ctx)
                .await?
                .iter()
                .map(|l| l.total_cents)
                .sum(),
        ))
    }
    /// The lines shown, without the delivery fee.
    async fn subtotal(&self, ctx: &Context<'_>) -> Result<Money> {
        if self.only_cooperative.is_none() {
            return Ok(Money::mad(
                self.model.total_cents - self.model.delivery_fee_cents,
            ));
        }
        self.total(ctx).await
    }
    /// The delivery fee, included in `total`: the market's revenue, in no line, payout or
    /// sales analytic. `null` for a cooperative member.
    async fn delivery_fee(&self) -> Option<Money> {
        self.only_cooperative
            .is_none()
            .then(|| Money::mad(self.model.delivery_fee_cents))
    }
    /// How it reaches the buyer; `null` for a sale at the till or an order placed without
    /// a delivery choice.
    async fn delivery_method(&self, ctx: &Context<'_>) -> Result<Option<DeliveryMethod>> {
        let Some(id) = self.model.delivery_method_id else {
            return Ok(None);
        };
        Ok(Some(DeliveryMethod::bare(
            load_required(ctx, DeliveryMethodKey(id), "delivery method").await?,
        )))
    }
    /// The address it ships to, as it was when the order was placed; managers and the
    /// buyer only.
    async fn shipping_address(&self, ctx: &Context<'_>) -> Option<PostalAddress> {
        let text = self.private(ctx, self.model.shipping_address.as_deref())?;
        AddressFields::from_json(Some(text)).map(Into::into)
    }
    /// Where its parcel stands; `null` until it is shipped (and for pickups).
    async fn delivery_status(&self) -> Option<DeliveryStatus> {
        self.model.delivery_status.map(Into::into)
    }
    /// The courier's tracking reference; managers and the buyer only.
    async fn tracking_reference(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.model.tracking_reference.as_deref())
    }
    /// When it was handed to the courier.
    async fn shipped_at(&self) -> Option<DateTime<Utc>> {
        self.model.shipped_at
    }
    /// When the buyer received it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.model.delivered_at
    }
    /// When its parcel came back.
    async fn returned_at(&self) -> Option<DateTime<Utc>> {
        self.model.returned_at
    }
    /// Units in the lines shown.
    async fn item_count(&self, ctx: &Context<'_>) -> Result<i32> {
        if self.only_cooperative.is_none() {
            return Ok(self.model.item_count);
        }
        Ok(self
            .visible_lines(ctx)
            .await?
            .iter()
            .map(|l| l.quantity)
            .sum())
    }
    /// The lines (for a cooperative member: its own only), each with its price at order time.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<OrderLine>> {
        Ok(self
            .visible_lines(ctx)
            .await?
            .into_iter()
            .map(OrderLine)
            .collect())
    }
    /// When it was placed.
    async fn placed_at(&self) -> DateTime<Utc> {
        self.model.placed_at
    }
    /// When it was paid.
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.model.paid_at
    }
    /// When it was fulfilled.
    async fn fulfilled_at(&self) -> Option<DateTime<Utc>> {
        self.model.fulfilled_at
    }
    /// When it was cancelled.
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.model.cancelled_at
    }
    /// When it was refunded.
    async fn refunded_at(&self) -> Option<DateTime<Utc>> {
        self.model.refunded_at
    }
    /// When the order was loaded from the market's history (`import orders`); null for
    /// orders placed here. Imported sales were paid before this system and never enter a
    /// payout statement.
    async fn imported_at(&self) -> Option<DateTime<Utc>> {
        self.model.imported_at
    }
    /// The reference the order had in the system it was imported from.
    async fn external_reference(&self) -> Option<&str> {
        self.model.external_ref.as_deref()
    }
    /// How it was paid.
    async fn payment_method(&self) -> Option<PaymentMethod> {
        self.model.payment_method.map(Into::into)
    }
    /// Payment reference (card slip, transfer reference…); managers and the buyer only.
    async fn payment_reference(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.model.payment_reference.as_deref())
    }
    /// Who to contact; managers and the buyer only. Without an e-mail address given at
    /// checkout, the e-mail of the buyer's account.
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<OrderContact>> {
        if self.private(ctx, Some(())).is_none() {
            return Ok(None);
        }
        let email = match (&self.model.contact_email, self.model.user_id) {
            (Some(email), _) => Some(email.clone()),
            (None, Some(buyer)) if self.model.channel == d::Channel::Online => ctx
                .loaders()
                .load_one(UserKey(buyer))
                .await
                .map_err(AppError::from)?
                .map(|u| u.email),
            (None, _) => None,
        };
        Ok(Some(OrderContact {
            name: self.model.contact_name.clone(),
            email,
            phone: self.model.contact_phone.clone(),
        }))
    }
    /// The buyer's note.
    async fn note(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.model.note.as_deref())
    }
    /// The account that placed it; managers and the buyer only.
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.private(ctx, self.model.user_id) else {
            return Ok(None);
        };
        let found = ctx
            .loaders()
            .load_one(UserKey(id))
            .await
            .map_err(AppError::from)?;
        Ok(found.map(User::new))
    }
    /// Every change of status, oldest first, with who made it and when. A cooperative
    /// member sees the changes but not who made them nor their notes.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<OrderEvent>> {
        let events = load_or_default(ctx, EventsOfOrder(self.model.id)).await?;
        Ok(events
            .into_iter()
            .map(|model| OrderEvent {
                model,
                buyer: self.model.user_id,
            })
            .collect())
    }
}

impl Order {
    /// Values only managers and the buyer see (`policy::Viewer::sees_buyer_details`).
    fn private<T>(&self, ctx: &Context<'_>, value: Option<T>) -> Option<T> {
        value.filter(|_| ctx.viewer().sees_buyer_details(self.model.user_id))
    }
}

/// Who to contact about an order.
#[derive(SimpleObject)]
pub struct OrderContact {
    /// Name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// One product of an order, with the price and cooperative of the moment it was placed.
pub struct OrderLine(pub order_line::Model);

/// One product of an order, with the price and cooperative of the moment it was placed.
#[Object]
impl OrderLine {
    /// Global ID of the line.
    async fn id(&self) -> ID {
        ids::encode(NodeType::OrderLine, self.0.id)
    }
    /// The product (as it is now).
    async fn product(&self, ctx: &Context<'_>) -> Result<Product> {
        Ok(Product(
            load_required(ctx, ProductKey(self.0.product_id), "product").await?,
        ))
    }
    /// SKU at order time.
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    /// Product name at order time.
    async fn product_name(&self) -> &str {
        &self.0.product_name
    }
    /// Units ordered.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
    /// Unit price at order time.
    async fn unit_price(&self) -> Money {
        Money::mad(self.0.unit_price_cents)
    }
    /// Quantity × unit price; for a gift pack's component, its share of the pack's
    /// revenue (the pack's total split in proportion to its components' list prices, to
    /// the centime).
    async fn total(&self) -> Money {
        Money::mad(self.0.total_cents)
    }
    /// What a seasonal promotion took off the line (`total` is after it); zero without.
    async fn discount(&self) -> Money {
        Money::mad(self.0.discount_cents)
    }
    /// The part of `discount` the market funds (its cooperative is paid as if it had been
    /// sold); the rest the cooperative bears.
    async fn market_funded_discount(&self) -> Money {
        Money::mad(self.0.market_discount_cents)
    }
    /// The promotion that lowered the line's price, if any.
    async fn promotion(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::graphql::promotions::Promotion>> {
        let Some(id) = self.0.promotion_id else {
            return Ok(None);
        };
        Ok(market_core::domain::promotions::find(ctx.db(), id)
            .await?
            .map(crate::graphql::promotions::Promotion))
    }
    /// The gift pack this line is a component of, as it was sold; `null` for a product
    /// sold alone.
    async fn pack(&self) -> Option<OrderLinePack> {
        Some(OrderLinePack {
            product_id: self.0.pack_id?,
            sku: self.0.pack_sku.clone().unwrap_or_default(),
            name: self.0.pack_name.clone().unwrap_or_default(),
            quantity: self.0.pack_quantity.unwrap_or_default(),
            unit_price_cents: self.0.pack_unit_price_cents.unwrap_or_default(),
        })
    }
    /// The cooperative that made the product.
    async fn cooperative(&self, ctx: &Context<'_>) -> Result<Cooperative> {
        Ok(Cooperative(
            load_required(ctx, CooperativeKey(self.0.cooperative_id), "cooperative").await?,
        ))
    }
}

/// A gift pack as an order sold it (snapshotted when the order was placed).
pub struct OrderLinePack {
    product_id: i32,
    sku: String,
    name: String,
    quantity: i32,
    unit_price_cents: i64,
}

/// A gift pack as an order sold it (snapshotted when the order was placed).
#[Object]
impl OrderLinePack {
    /// The pack (as it is now).
    async fn product(&self, ctx: &Context<'_>) -> Result<Product> {
        Ok(Product(
            load_required(ctx, ProductKey(self.product_id), "product").await?,
        ))
    }
    /// The pack's SKU at order time.
    async fn sku(&self) -> &str {
        &self.sku
    }
    /// The pack's name at order time.
    async fn name(&self) -> &str {
        &self.name
    }
    /// Packs ordered.
    async fn quantity(&self) -> i32 {
        self.quantity
    }
    /// The pack's price at order time.
    async fn unit_price(&self) -> Money {
        Money::mad(self.unit_price_cents)
    }
    /// Packs × price: the sum of its component lines' totals.
    async fn total(&self) -> Money {
        Money::mad(self.unit_price_cents * i64::from(self.quantity))
    }
}

/// A change of an order's status.
pub struct OrderEvent {
    model: order_event::Model,
    /// The account that placed the order.
    buyer: Option<i32>,
}

/// A change of an order's status.
#[Object]
impl OrderEvent {
    /// The status before (`null` when the order was placed).
    async fn from_status(&self) -> Option<OrderStatus> {
        self.model.from_status.map(Into::into)
    }
    /// The status after.
    async fn to_status(&self) -> OrderStatus {
        self.model.to_status.into()
    }
    /// For a step of the delivery (shipped, delivered, returned): where the parcel stands
    /// after it; `null` for other changes.
    async fn delivery_status(&self) -> Option<DeliveryStatus> {
        self.model.delivery_status.map(Into::into)
    }
    /// Who made the change (`null` for the system). Managers see everyone; others only
    /// themselves (a buyer its own placing of the order; a member nobody).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.model.actor_id else {
            return Ok(None);
        };
        let found = ctx
            .loaders()
            .load_one(UserKey(id))
            .await
            .map_err(AppError::from)?;
        Ok(found
            .filter(|u| {
                ctx.viewer().sees_order_event_actor(&Actor {
                    user_id: u.id,
                    role: u.role,
                    cooperative_id: u.cooperative_id,
                })
            })
            .map(User::new))
    }
    /// A note: the payment reference, the tracking reference, the reason of a
    /// cancellation, refund or return (at most 1,000 characters). Managers and the buyer only.
    async fn note(&self, ctx: &Context<'_>) -> Option<&str> {
        self.model
            .note
            .as_deref()
            .filter(|_| ctx.viewer().sees_order_event_note(self.buyer))
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}

crate::connection_types!(OrderConnection, OrderEdge, Order, "orders");

/// One product to order.
#[derive(InputObject)]
pub struct OrderLineInput {
    /// The product.
    pub product_id: ID,
    /// Units, 1 to 1,000.
    pub quantity: i32,
}

/// Who to contact about an order.
#[derive(InputObject, Default)]
pub struct ContactInput {
    /// Name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// An order to place.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// `ONLINE` (customers and managers) or `STORE` (managers, at the till).
    pub channel: Channel,
    /// 1 to 100 lines; repeated products are merged.
    pub lines: Vec<OrderLineInput>,
    /// A key unique to this order, chosen by the client (e.g. a UUID). Sending the same
    /// order again with the same key returns the first one instead of ordering twice.
    pub idempotency_key: String,
    /// Who to contact.
    pub contact: Option<ContactInput>,
    /// A note for the market.
    pub note: Option<String>,
    /// How the order reaches the buyer (see `deliveryMethods`): pickup at the market, or
    /// home delivery, which needs `shippingAddressId` or `shippingAddress`. Its fee is
    /// added to the total. None: no delivery is arranged (the order is collected at the
    /// market, free). `ONLINE` orders only.
    pub delivery_method_id: Option<ID>,
    /// One of the buyer's addresses to ship to.
    pub shipping_address_id: Option<ID>,
    /// An address to ship to, given in full (not saved to the address book).
    pub shipping_address: Option<AddressInput>,
}

/// An order to mark paid.
#[derive(InputObject)]
pub struct MarkOrderPaidInput {
    /// The order (it must be `PLACED`).
    pub order_id: ID,
    /// How it was paid.
    pub method: PaymentMethod,
    /// Payment reference (card slip, transfer reference…).
    pub reference: Option<String>,
}

/// An order to fulfil.
#[derive(InputObject)]
pub struct FulfillOrderInput {
    /// The order (it must be `PAID`).
    pub order_id: ID,
}

/// An order to cancel.
#[derive(InputObject)]
pub struct CancelOrderInput {
    /// The order (it must be `PLACED` or `PAID` and not shipped; a customer's own order
    /// only while `PLACED`). Its stock is returned.
    pub order_id: ID,
    /// Why.
    pub reason: Option<String>,
}

/// An order to refund.
#[derive(InputObject)]
pub struct RefundOrderInput {
    /// The order (it must be `PAID` or `FULFILLED`).
    pub order_id: ID,
    /// Whether the goods come back to stock (`RETURN` movements).
    pub restock: bool,
    /// Why.
    pub reason: Option<String>,
}

/// A home delivery handed to the courier.
#[derive(InputObject)]
pub struct ShipOrderInput {
    /// The order (`PLACED` — cash on delivery — or `PAID`, with home delivery, not shipped
    /// yet).
    pub order_id: ID,
    /// The courier's tracking reference, at most 128 characters.
    pub tracking_reference: Option<String>,
}

/// A parcel received by its buyer.
#[derive(InputObject)]
pub struct MarkOrderDeliveredInput {
    /// The order (its parcel `SHIPPED`).
    pub order_id: ID,
}

/// A parcel that came back.
#[derive(InputObject)]
pub struct ReturnOrderInput {
    /// The order (its parcel `SHIPPED` or `DELIVERED`).
    pub order_id: ID,
    /// Why (refused at the door, not collected, sent back…).
    pub reason: Option<String>,
}

/// A sale at the till, recorded and paid in one call.
#[derive(InputObject)]
pub struct RecordStoreSaleInput {
    /// 1 to 100 lines; repeated products are merged.
    pub lines: Vec<OrderLineInput>,
    /// A key unique to this sale: sending it again returns the first sale.
    pub idempotency_key: String,
    /// How it was paid.
    pub payment_method: PaymentMethod,
    /// Payment reference (card slip…).
    pub payment_reference: Option<String>,
    /// Who to contact.
    pub contact: Option<ContactInput>,
    /// A note.
    pub note: Option<String>,
}

/// The longest `olderThanHours` (ten years).
const MAX_STALE_HOURS: i32 = 87_600;

/// Which unpaid orders to cancel.
#[derive(InputObject, Default)]
pub struct CancelStaleOrdersInput {
    /// Cancel orders `PLACED` longer ago than this many hours, 0 to 87,600 (default: the
    /// server's `STALE_ORDER_HOURS`, 48).
    pub older_than_hours: Option<i32>,
}

payload!(
    /// The result of an order mutation.
    OrderPayload {
        /// The order as it is now.
        order: Order
    }
);

/// The result of `cancelStaleOrders`.
#[derive(SimpleObject, Default)]
pub struct CancelStaleOrdersPayload {
    /// The orders cancelled (their stock was returned).
    pub cancelled_orders: Vec<Order>,
    /// Problems with the input.
    pub user_errors: Vec<crate::error::UserError>,
}

impl crate::graphql::payload::Payload for CancelStaleOrdersPayload {
    fn with_errors(errors: Vec<market_core::error::UserError>) -> Self {
        Self {
            user_errors: crate::error::user_errors(errors),
            ..Default::default()
        }
    }
}

/// Filters of the order list; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct OrderFilterInput {
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Only orders of this channel.
    pub channel: Option<Channel>,
    /// Only orders placed on or after this day (market time zone).
    pub from: Option<Date>,
    /// Only orders placed on or before this day (market time zone).
    pub to: Option<Date>,
    /// Only orders holding products of this cooperative.
    pub cooperative_id: Option<ID>,
}

/// Loads, in one batch each, the relations the selection `wants` of a page of orders, so
/// that they are all in the first round of batches whatever the page's size.
pub async fn prefetch_order_relations(
    ctx: &Context<'_>,
    rows: &[order::Model],
    wants: impl Fn(&str) -> bool,
) -> AppResult<()> {
    let loaders = ctx.loaders();
    let viewer = ctx.viewer();
    let customers = async {
        if wants("customer") {
            let visible = rows
                .iter()
                .filter(|o| viewer.sees_buyer_details(o.user_id))
                .filter_map(|o| o.user_id);
            loaders.load_many(visible.map(UserKey)).await?;
        }
        Ok::<_, LoadError>(())
    };
    let history = async {
        if wants("history") {
            loaders
                .load_many(rows.iter().map(|o| EventsOfOrder(o.id)))
                .await?;
        }
        Ok(())
    };
    let lines = async {
        if wants("lines") || wants("total") || wants("itemCount") {
            loaders
                .load_many(rows.iter().map(|o| LinesOfOrder(o.id)))
                .await?;
        }
        Ok(())
    };
    futures::try_join!(customers, history, lines)?;
    Ok(())
}

fn order_id(id: &ID) -> AppResult<i64> {
    ids::decode::<i64>(id, NodeType::Order)
}

fn line_ids(lines: &[OrderLineInput]) -> AppResult<Vec<(i32, i32)>> {
    lines
        .iter()
        .map(|line| {
            Ok((
                ids::decode::<i32>(&line.product_id, NodeType::Product)?,
                line.quantity,
            ))
        })
        .collect()
}

fn contact_of(contact: Option<ContactInput>) -> Contact {
    let contact = contact.unwrap_or_default();
    Contact {
        name: contact.name,
        email: contact.email,
        phone: contact.phone,
    }
}

/// The delivery an order asks for: the method and the checked address (`None` without a
/// method; an address without a method is refused).
pub async fn delivery_choice(
    ctx: &Context<'_>,
    method: Option<&ID>,
    address_id: Option<&ID>,
    address: Option<AddressInput>,
) -> AppResult<Option<DeliveryChoice>> {
    let address = chosen_address(
        ctx,
        address_id,
        address,
        ("shippingAddressId", "shippingAddress"),
    )
    .await?;
    match method {
        None if address.is_some() => Err(AppError::user(
            UserErrorCode::Invalid,
            &["deliveryMethodId"],
            "Choose a delivery method for the shipping address.",
        )),
        None => Ok(None),
        Some(id) => Ok(Some(DeliveryChoice {
            method_id: ids::decode::<i32>(id, NodeType::DeliveryMethod)?,
            address,
        })),
    }
}

async fn change(ctx: &Context<'_>, id: &ID, transition: Transition) -> Result<OrderPayload> {
    let manager = ctx
        .viewer()
        .require_manager("change the status of orders")?
        .user_id;
    let order_id = match order_id(id) {
        Ok(id) => id,
        Err(e) => return Err(e.into()),
    };
    let txn = db::begin_write(ctx.db()).await?;
    let result = orders::transition(&txn, order_id, transition, Some(manager)).await;
    let viewer = ctx.viewer().clone();
    respond(db::finish(txn, result).await, |o| {
        OrderPayload::ok(Order::for_viewer(o, &viewer))
    })
}

/// Order queries.
#[derive(Default)]
pub struct OrdersQuery;

/// Order queries.
#[Object]
impl OrdersQuery {
    /// Orders, newest first: all of them for managers, their own for customers, and for a
    /// cooperative member the orders holding its products (with only its own lines).
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OrderFilterInput>,
    ) -> Result<OrderConnection> {
        let scope = ctx.viewer().order_scope()?;
        let f = filter.unwrap_or_default();
        let cooperative_id = f
            .cooperative_id
            .as_ref()
            .map(|id| ids::decode::<i32>(id, NodeType::Cooperative))
            .transpose()?;
        market_core::domain::catalog::check_filter_keys(
            ctx.db(),
            market_core::domain::catalog::FilterKeys {
                cooperative: cooperative_id.zip(f.cooperative_id.as_ref().map(|id| id.as_str())),
                ..Default::default()
            },
        )
        .await?;
        let tz = ctx.config().market_timezone;
        let filter = OrderFilter {
            status: f.status.map(Into::into),
            channel: f.channel.map(Into::into),
            from: f.from.map(|d| market_time::day_start(d.0, tz)),
            until: f.to.map(|d| market_time::day_end(d.0, tz)),
            cooperative_id,
        };
        let args = PageArgs::new(first, after, last, before);
        let listing = lists::orders(ctx.db(), scope, &filter, args).await?;
        let look = ctx.look_ahead();
        let (edge_node, node) = (look.field("edges").field("node"), look.field("nodes"));
        let wants = |field: &str| edge_node.field(field).exists() || node.field(field).exists();
        prefetch_order_relations(ctx, &listing.page.rows, wants).await?;
        let viewer = ctx.viewer().clone();
        Ok(listing_connection(
            listing,
            |o| Cursor::by_id(o.id),
            |o| Order::for_viewer(o, &viewer),
        ))
    }

    /// One order by global ID or number; `null` if it does not exist or is not the viewer's.
    async fn order(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        number: Option<String>,
    ) -> Result<Option<Order>> {
        let scope = ctx.viewer().order_scope()?;
        let key = match (id, number) {
            (Some(id), None) => OrderKey::Id(order_id(&id)?),
            (None, Some(n)) => {
                market_core::domain::input::argument(
                    "number",
                    &n,
                    market_core::domain::input::KEY,
                )?;
                OrderKey::Number(n)
            }
            _ => return Err(AppError::bad_input("give exactly one of `id` and `number`").into()),
        };
        let found = orders::find_in_scope(ctx.db(), scope, key).await?;
        Ok(found.map(|o| Order::for_viewer(o, ctx.viewer())))
    }
}

/// Order mutations.
#[derive(Default)]
pub struct OrdersMutation;

/// Order mutations.
#[Object]
impl OrdersMutation {
    /// Places an order and takes its stock at once: two shoppers can never buy the same
    /// last jar. Refused with `INVALID_QUANTITY`, `NOT_FOUND`, `NOT_SELLABLE` or
    /// `OUT_OF_STOCK` (saying how many are available), nothing written. `ONLINE` orders are
    /// placed by signed-in customers or managers; `STORE` orders by managers only.
    async fn place_order(&self, ctx: &Context<'_>, input: PlaceOrderInput) -> Result<OrderPayload> {
        let buyer = ctx
            .viewer()
            .require_order_channel(input.channel.into())?
            .clone();
        let lines = line_ids(&input.lines)?;
        let delivery = match delivery_choice(
            ctx,
            input.delivery_method_id.as_ref(),
            input.shipping_address_id.as_ref(),
            input.shipping_address,
        )
        .await
        {
            Ok(d) => d,
            Err(e) => return respond(Err(e), |p: OrderPayload| p),
        };
        let request = OrderRequest {
            channel: input.channel.into(),
            lines,
            idempotency_key: input.idempotency_key,
            contact: contact_of(input.contact),
            note: input.note,
            delivery,
        };
        let result =
            orders::place_priced(ctx.db(), &buyer, request, ctx.today(), ctx.config().now()).await;
        let viewer = ctx.viewer().clone();
        respond(result, |o| OrderPayload::ok(Order::for_viewer(o, &viewer)))
    }

    /// `PLACED` → `PAID` (managers). For cash on delivery (`CASH_ON_DELIVERY`), record it
    /// when the courier hands the money over: an order already `DELIVERED` becomes
    /// `FULFILLED` at once.
    async fn mark_order_paid(
        &self,
        ctx: &Context<'_>,
        input: MarkOrderPaidInput,
    ) -> Result<OrderPayload> {
        change(
            ctx,
            &input.order_id,
            Transition::MarkPaid {
                method: input.method.into(),
                reference: input.reference,
            },
        )
        .await
    }

    /// `PAID` → `FULFILLED` (managers).
    async fn fulfill_order(
        &self,
        ctx: &Context<'_>,
        input: FulfillOrderInput,
    ) -> Result<OrderPayload> {
        change(ctx, &input.order_id, Transition::Fulfill).await
    }

    /// `PLACED` or `PAID` → `CANCELLED`, returning the stock (managers); an imported order
    /// took no stock, so its cancellation returns none. A customer cancels their own order
    /// while it is `PLACED` (unpaid) and not shipped; another's order is `NOT_FOUND`.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        input: CancelOrderInput,
    ) -> Result<OrderPayload> {
        let user = ctx.viewer().require_user()?;
        if user.role == d::Role::Customer {
            let (customer, viewer) = (user.user_id, ctx.viewer().clone());
            let order_id = order_id(&input.order_id)?;
            let txn = db::begin_write(ctx.db()).await?;
            let result = orders::cancel_own(&txn, customer, order_id, input.reason).await;
            return respond(db::finish(txn, result).await, |o| {
                OrderPayload::ok(Order::for_viewer(o, &viewer))
            });
        }
        change(
            ctx,
            &input.order_id,
            Transition::Cancel {
                reason: input.reason,
            },
        )
        .await
    }

    /// `PAID` or `FULFILLED` → `REFUNDED`, returning the stock when `restock` (managers).
    async fn refund_order(
        &self,
        ctx: &Context<'_>,
        input: RefundOrderInput,
    ) -> Result<OrderPayload> {
        change(
            ctx,
            &input.order_id,
            Transition::Refund {
                restock: input.restock,
                reason: input.reason,
            },
        )
        .await
    }

    /// Hands a home delivery to the courier (managers): its parcel becomes `SHIPPED`, with
    /// the tracking reference; the order stays `PLACED` (cash on delivery) or `PAID`.
    async fn ship_order(&self, ctx: &Context<'_>, input: ShipOrderInput) -> Result<OrderPayload> {
        change(
            ctx,
            &input.order_id,
            Transition::Ship {
                tracking_reference: input.tracking_reference,
            },
        )
        .await
    }

    /// The buyer received the parcel (managers): `DELIVERED`; a paid order becomes
    /// `FULFILLED`, an unpaid one (cash on delivery) stays `PLACED` until `markOrderPaid`.
    async fn mark_order_delivered(
        &self,
        ctx: &Context<'_>,
        input: MarkOrderDeliveredInput,
    ) -> Result<OrderPayload> {
        change(ctx, &input.order_id, Transition::Deliver).await
    }

    /// The parcel came back (managers): `RETURNED`, its goods back in stock (`RETURN`
    /// movements); an unpaid order becomes `CANCELLED`, a paid one `REFUNDED`.
    async fn return_order(
        &self,
        ctx: &Context<'_>,
        input: ReturnOrderInput,
    ) -> Result<OrderPayload> {
        change(
            ctx,
            &input.order_id,
            Transition::Return {
                reason: input.reason,
            },
        )
        .await
    }

    /// A sale at the till in one call (managers): placed as a `STORE` order through the
    /// same path as `placeOrder` (never oversold), then marked paid with the payment
    /// method. The same key returns the first sale (paying it if it was left unpaid).
    async fn record_store_sale(
        &self,
        ctx: &Context<'_>,
        input: RecordStoreSaleInput,
    ) -> Result<OrderPayload> {
        let manager = ctx
            .viewer()
            .require_manager("record sales at the till")?
            .clone();
        let request = OrderRequest {
            channel: d::Channel::Store,
            lines: line_ids(&input.lines)?,
            idempotency_key: input.idempotency_key,
            contact: contact_of(input.contact),
            note: input.note,
            delivery: None,
        };
        let viewer = ctx.viewer().clone();
        let placed = match orders::place_priced(
            ctx.db(),
            &manager,
            request,
            ctx.today(),
            ctx.config().now(),
        )
        .await
        {
            Ok(order) => order,
            Err(e) => return respond(Err(e), |p: OrderPayload| p),
        };
        if placed.status != d::OrderStatus::Placed {
            return Ok(OrderPayload::ok(Order::for_viewer(placed, &viewer)));
        }
        let txn = db::begin_write(ctx.db()).await?;
        let result = orders::transition(
            &txn,
            placed.id,
            Transition::MarkPaid {
                method: input.payment_method.into(),
                reference: input.payment_reference,
            },
            Some(manager.user_id),
        )
        .await;
        respond(db::finish(txn, result).await, |o| {
            OrderPayload::ok(Order::for_viewer(o, &viewer))
        })
    }

    /// Cancels every order left `PLACED` and unpaid for longer than the given hours,
    /// returning its stock (managers).
    async fn cancel_stale_orders(
        &self,
        ctx: &Context<'_>,
        input: Option<CancelStaleOrdersInput>,
    ) -> Result<CancelStaleOrdersPayload> {
        let manager = ctx.viewer().require_manager("cancel stale orders")?.user_id;
        let hours = input
            .and_then(|i| i.older_than_hours)
            .unwrap_or(ctx.config().stale_order_hours);
        if !(0..=MAX_STALE_HOURS).contains(&hours) {
            return respond(
                Err(AppError::user(
                    UserErrorCode::Invalid,
                    &["olderThanHours"],
                    format!("Give 0 to {MAX_STALE_HOURS} hours."),
                )),
                |p: CancelStaleOrdersPayload| p,
            );
        }
        let result =
            orders::cancel_stale(ctx.db(), Duration::hours(hours.into()), Some(manager)).await;
        let viewer = ctx.viewer().clone();
        respond(result, |orders| CancelStaleOrdersPayload {
            cancelled_orders: orders
                .into_iter()
                .map(|o| Order::for_viewer(o, &viewer))
                .collect(),
            user_errors: Vec::new(),
        })
    }
}
