//! Carts at the API: an anonymous cart found by its `id` (a secret token), a customer's
//! own cart, their lines with today's price, stock and sellability, and checking one out
//! into an order (`checkoutComplete`), which goes through `placeOrder`'s path.

use crate::error::{AppError, AppResult, Result, UserErrorCode};
use crate::graphql::addresses::AddressInput;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::money::Money;
use crate::graphql::orders::{ContactInput, Order, OrderPayload, delivery_choice};
use crate::graphql::payload::respond;
use crate::graphql::product::Product;
use crate::payload;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use market_core::db;
use market_core::domain::carts::{self, Checkout, LineChange};
use market_core::domain::enums as d;
use market_core::domain::orders::Contact;
use market_core::models::{cart, cart_line, product};

/// A cart: what a shopper means to buy. It reserves no stock; each line says whether it
/// can be bought now.
pub struct Cart {
    model: cart::Model,
    lines: Vec<(cart_line::Model, product::Model)>,
}

impl Cart {
    fn new(model: cart::Model, lines: Vec<(cart_line::Model, product::Model)>) -> Self {
        Self { model, lines }
    }
}

/// A cart: what a shopper means to buy. It reserves no stock; each line says whether it
/// can be bought now.
#[Object(cache_control(private))]
impl Cart {
    /// The cart's handle: keep it secret (whoever holds an anonymous cart's id can use it).
    async fn id(&self) -> ID {
        ID(self.model.token.clone())
    }
    /// Its lines, oldest first.
    async fn lines(&self) -> Vec<CartLine> {
        self.lines
            .iter()
            .map(|(line, product)| CartLine {
                line: line.clone(),
                product: product.clone(),
            })
            .collect()
    }
    /// Units in all.
    async fn total_quantity(&self) -> i32 {
        self.lines.iter().map(|(l, _)| l.quantity).sum()
    }
    /// The lines at today's prices, before delivery.
    async fn subtotal(&self) -> Money {
        Money::mad(
            self.lines
                .iter()
                .map(|(l, p)| p.price_cents * i64::from(l.quantity))
                .sum(),
        )
    }
    /// Whether it belongs to a customer (`false`: anonymous, merged at sign-in with
    /// `login(input: { cartId })`).
    async fn owned(&self) -> bool {
        self.model.user_id.is_some()
    }
    /// Last change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
    /// When it expires if left untouched.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.model.updated_at + Duration::days(carts::TTL_DAYS)
    }
}

/// A product in a cart, at today's price.
pub struct CartLine {
    line: cart_line::Model,
    product: product::Model,
}

/// A product in a cart, at today's price.
#[Object(cache_control(private))]
impl CartLine {
    /// The product.
    async fn product(&self) -> Product {
        Product(self.product.clone())
    }
    /// Units wanted.
    async fn quantity(&self) -> i32 {
        self.line.quantity
    }
    /// Today's unit price (the order takes the price of the moment it is placed).
    async fn unit_price(&self) -> Money {
        Money::mad(self.product.price_cents)
    }
    /// Quantity × today's unit price.
    async fn total(&self) -> Money {
        Money::mad(self.product.price_cents * i64::from(self.line.quantity))
    }
    /// Units in stock now (none are held for the cart).
    async fn available_quantity(&self) -> i32 {
        self.product.stock
    }
    /// Whether the stock covers the line now.
    async fn available(&self) -> bool {
        self.product.stock >= self.line.quantity
    }
    /// Whether the product can be sold today (see its `complianceIssues`).
    async fn sellable(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(Product(self.product.clone()).issues(ctx).await?.is_empty())
    }
}

/// A product and a quantity for a cart.
#[derive(InputObject)]
pub struct CartLineInput {
    /// The product.
    pub product_id: ID,
    /// Units: 1 to 1,000 when adding; 0 to 1,000 when updating (0 removes the line).
    pub quantity: i32,
}

/// A new cart.
#[derive(InputObject, Default)]
pub struct CartCreateInput {
    /// Lines to start with.
    #[graphql(default)]
    pub lines: Vec<CartLineInput>,
}

/// Lines to add to or set in a cart.
#[derive(InputObject)]
pub struct CartLinesInput {
    /// The cart.
    pub cart_id: ID,
    /// The lines (a product already in the cart has its units added, or set).
    pub lines: Vec<CartLineInput>,
}

/// Products to remove from a cart.
#[derive(InputObject)]
pub struct CartLinesRemoveInput {
    /// The cart.
    pub cart_id: ID,
    /// The products to remove.
    pub product_ids: Vec<ID>,
}

/// A cart to turn into an order.
#[derive(InputObject)]
pub struct CheckoutCompleteInput {
    /// The cart (yours, or an anonymous one you hold).
    pub cart_id: ID,
    /// A key unique to this order (e.g. a UUID): sending it again returns the same order,
    /// even once the cart is gone.
    pub idempotency_key: String,
    /// Who to contact (the account's e-mail by default).
    pub contact: Option<ContactInput>,
    /// A note for the market.
    pub note: Option<String>,
    /// How it reaches you (see `deliveryMethods`).
    pub delivery_method_id: Option<ID>,
    /// One of your addresses to ship to.
    pub shipping_address_id: Option<ID>,
    /// An address to ship to, given in full.
    pub shipping_address: Option<AddressInput>,
}

/// Abandoned carts to delete.
#[derive(InputObject, Default)]
pub struct ExpireCartsInput {
    /// Delete carts untouched for longer than this many days, 1 to 3,650 (default 30).
    pub older_than_days: Option<i32>,
}

payload!(
    /// The result of a cart mutation.
    CartPayload {
        /// The cart as it is now.
        cart: Cart
    }
);

/// The result of `expireCarts`.
#[derive(SimpleObject, Default)]
pub struct ExpireCartsPayload {
    /// How many carts were deleted.
    pub deleted: i32,
    /// Problems with the input.
    pub user_errors: Vec<crate::error::UserError>,
}

impl crate::graphql::payload::Payload for ExpireCartsPayload {
    fn with_errors(errors: Vec<market_core::error::UserError>) -> Self {
        Self {
            user_errors: crate::error::user_errors(errors),
            ..Default::default()
        }
    }
}

fn viewer_id(ctx: &Context<'_>) -> Option<i32> {
    match ctx.viewer() {
        market_core::domain::policy::Viewer::User(u) => Some(u.user_id),
        _ => None,
    }
}

fn lines_of(lines: &[CartLineInput]) -> AppResult<Vec<(i32, i32)>> {
    lines
        .iter()
        .map(|l| {
            Ok((
                ids::decode::<i32>(&l.product_id, NodeType::Product)?,
                l.quantity,
            ))
        })
        .collect()
}

/// Changes a cart in one transaction and answers it as it is then.
async fn edit(
    ctx: &Context<'_>,
    token: &ID,
    change: impl AsyncFnOnce(&db::DatabaseTransaction, &cart::Model) -> AppResult<()>,
) -> Result<CartPayload> {
    let viewer = viewer_id(ctx);
    let txn = db::begin_write(ctx.db()).await?;
    let result = async {
        let cart = carts::find(&txn, token.as_str(), viewer, &["cartId"]).await?;
        change(&txn, &cart).await?;
        let fresh = carts::find(&txn, token.as_str(), viewer, &["cartId"]).await?;
        let lines = carts::lines(&txn, fresh.id).await?;
        Ok(Cart::new(fresh, lines))
    }
    .await;
    respond(db::finish(txn, result).await, CartPayload::ok)
}

/// Cart queries.
#[derive(Default)]
pub struct CartQuery;

/// Cart queries.
#[Object]
impl CartQuery {
    /// A cart by its id; without one, the signed-in customer's cart. `null` if there is
    /// none, it expired, or it is another customer's.
    async fn cart(&self, ctx: &Context<'_>, id: Option<ID>) -> Result<Option<Cart>> {
        let viewer = viewer_id(ctx);
        let found = match (&id, viewer) {
            (Some(id), _) => {
                market_core::domain::input::argument("id", id.as_str(), 64)?;
                match carts::find(ctx.db(), id.as_str(), viewer, &["id"]).await {
                    Ok(c) => Some(c),
                    Err(AppError::User(_)) => None,
                    Err(e) => return Err(e.into()),
                }
            }
            (None, Some(user)) => carts::of_user(ctx.db(), user).await?,
            (None, None) => None,
        };
        Ok(match found {
            Some(c) => {
                let lines = carts::lines(ctx.db(), c.id).await?;
                Some(Cart::new(c, lines))
            }
            None => None,
        })
    }
}

/// Cart mutations.
#[derive(Default)]
pub struct CartMutation;

/// Cart mutations.
#[Object]
impl CartMutation {
    /// Creates a cart: anonymous when signed out (keep its `id`; pass it to `login` to
    /// merge it into your cart), else the customer's own cart (the existing one if any).
    async fn cart_create(
        &self,
        ctx: &Context<'_>,
        input: Option<CartCreateInput>,
    ) -> Result<CartPayload> {
        let owner = match ctx.viewer() {
            market_core::domain::policy::Viewer::User(u) if u.role == d::Role::Customer => {
                Some(u.user_id)
            }
            market_core::domain::policy::Viewer::User(_) => {
                return Err(market_core::domain::policy::forbidden(
                    "carts are for customers (or anonymous shoppers)",
                )
                .into());
            }
            _ => None,
        };
        let lines = lines_of(&input.unwrap_or_default().lines)?;
        let txn = db::begin_write(ctx.db()).await?;
        let result = async {
            let cart = carts::create(&txn, owner).await?;
            if !lines.is_empty() {
                carts::change_lines(&txn, &cart, LineChange::Add, &lines).await?;
            }
            let lines = carts::lines(&txn, cart.id).await?;
            Ok(Cart::new(cart, lines))
        }
        .await;
        respond(db::finish(txn, result).await, CartPayload::ok)
    }

    /// Adds products to a cart (units added to a line already there). A product need
    /// not be in stock or sellable now: its line says so.
    async fn cart_lines_add(
        &self,
        ctx: &Context<'_>,
        input: CartLinesInput,
    ) -> Result<CartPayload> {
        let lines = lines_of(&input.lines)?;
        edit(ctx, &input.cart_id, async |txn, cart| {
            carts::change_lines(txn, cart, LineChange::Add, &lines).await
        })
        .await
    }

    /// Sets the units of products in a cart (0 removes the line).
    async fn cart_lines_update(
        &self,
        ctx: &Context<'_>,
        input: CartLinesInput,
    ) -> Result<CartPayload> {
        let lines = lines_of(&input.lines)?;
        edit(ctx, &input.cart_id, async |txn, cart| {
            carts::change_lines(txn, cart, LineChange::Set, &lines).await
        })
        .await
    }

    /// Removes products from a cart.
    async fn cart_lines_remove(
        &self,
        ctx: &Context<'_>,
        input: CartLinesRemoveInput,
    ) -> Result<CartPayload> {
        let ids = input
            .product_ids
            .iter()
            .map(|id| ids::decode::<i32>(id, NodeType::Product))
            .collect::<AppResult<Vec<_>>>()?;
        edit(ctx, &input.cart_id, async |txn, cart| {
            carts::remove_lines(txn, cart, &ids).await
        })
        .await
    }

    /// Places the order of a cart (signed-in customers) through the same path as
    /// `placeOrder`: the stock is taken at that moment, all lines or none (`OUT_OF_STOCK`,
    /// `NOT_SELLABLE`…), never oversold; then the cart is gone.
    async fn checkout_complete(
        &self,
        ctx: &Context<'_>,
        input: CheckoutCompleteInput,
    ) -> Result<OrderPayload> {
        let buyer = ctx
            .viewer()
            .require_order_channel(d::Channel::Online)?
            .clone();
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
        let contact = input.contact.unwrap_or_default();
        let checkout = Checkout {
            idempotency_key: input.idempotency_key,
            contact: Contact {
                name: contact.name,
                email: contact.email,
                phone: contact.phone,
            },
            note: input.note,
            delivery,
        };
        let result = carts::checkout(
            ctx.db(),
            &buyer,
            input.cart_id.as_str(),
            checkout,
            ctx.today(),
        )
        .await;
        let viewer = ctx.viewer().clone();
        respond(result, |o| OrderPayload::ok(Order::for_viewer(o, &viewer)))
    }

    /// Deletes abandoned carts (managers). Carts also stop being found once expired.
    async fn expire_carts(
        &self,
        ctx: &Context<'_>,
        input: Option<ExpireCartsInput>,
    ) -> Result<ExpireCartsPayload> {
        ctx.viewer().require_manager("expire carts")?;
        let days = input
            .and_then(|i| i.older_than_days)
            .unwrap_or(carts::TTL_DAYS as i32);
        if !(1..=3_650).contains(&days) {
            return respond(
                Err(AppError::user(
                    UserErrorCode::Invalid,
                    &["olderThanDays"],
                    "Give 1 to 3,650 days.",
                )),
                |p: ExpireCartsPayload| p,
            );
        }
        let deleted = carts::expire(ctx.db(), Duration::days(days.into())).await?;
        Ok(ExpireCartsPayload {
            deleted: i32::try_from(deleted).unwrap_or(i32::MAX),
            user_errors: Vec::new(),
        })
    }
}
