//! The cooperative portal: a member keeps its own cooperative's products and stock up to
//! date (managers may do the same for any cooperative).

use crate::error::Result;
use crate::error::{AppError, AppResult};
use crate::graphql::accounts::User;
use crate::graphql::context::ContextExt;
use crate::graphql::cooperative::Cooperative;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::UserKey;
use crate::graphql::money::to_centimes;
use crate::graphql::payload::respond;
use crate::graphql::product::Product;
use crate::graphql::scalars::Decimal;
use crate::payload;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use market_core::db;
use market_core::db::DatabaseConnection;
use market_core::domain::catalog::{self as dc, ProductFields};
use market_core::domain::enums as d;
use market_core::domain::policy::Actor;
use market_core::domain::reads;
use market_core::domain::stock::{self, Movement, Shortage};
use market_core::models::{cooperative, product, stock_movement, user};

/// Why the stock level of a product moved.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::StockMovementKind")]
pub enum StockMovementKind {
    /// Goods brought to the market by the cooperative.
    Delivery,
    /// Units sold in an order.
    Sale,
    /// Units returned to stock when an order was cancelled.
    Cancellation,
    /// Units returned to stock by a refund.
    Return,
    /// A manual correction, with a reason.
    Adjustment,
}

/// The reason for a manual stock adjustment.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "d::AdjustmentReason")]
pub enum AdjustmentReason {
    /// Units damaged and withdrawn.
    Damaged,
    /// Units past their date and withdrawn.
    Expired,
    /// The counted stock differs from the recorded one.
    CountCorrection,
    /// Anything else (explain in the note).
    Other,
}

/// One line of a product's stock ledger.
pub struct StockMovement {
    pub model: stock_movement::Model,
    /// The cooperative of the product, whose members may see their own colleagues'
    /// authors and notes (`policy::Viewer::sees_ledger_details`).
    pub cooperative_id: i32,
}

impl StockMovement {
    /// Who recorded this line, if the viewer may see it and the note: `None` when it may
    /// not, `Some(None)` for a line without author.
    async fn visible_author(&self, ctx: &Context<'_>) -> AppResult<Option<Option<user::Model>>> {
        let author = match self.model.author_id {
            None => None,
            Some(id) => ctx.loaders().load_one(UserKey(id)).await?,
        };
        let actor = author.as_ref().map(|a| Actor {
            user_id: a.id,
            role: a.role,
            cooperative_id: a.cooperative_id,
        });
        Ok(ctx
            .viewer()
            .sees_ledger_details(self.cooperative_id, actor.as_ref())
            .then_some(author))
    }
}

/// One line of a product's stock ledger.
#[Object]
impl StockMovement {
    /// Global ID of the movement.
    async fn id(&self) -> ID {
        ids::encode(NodeType::StockMovement, self.model.id)
    }
    /// Why the stock moved.
    async fn kind(&self) -> StockMovementKind {
        self.model.kind.into()
    }
    /// Units added (positive) or removed (negative).
    async fn quantity_delta(&self) -> i32 {
        self.model.delta
    }
    /// The stock level right after this movement.
    async fn level_after(&self) -> i32 {
        self.model.level_after
    }
    /// The reason of an adjustment.
    async fn reason(&self) -> Option<AdjustmentReason> {
        self.model.reason.map(Into::into)
    }
    /// Free-text note (at most 500 characters). A cooperative member sees the notes of
    /// the lines its own cooperative's members recorded and of the system's; on the
    /// others (a sale's buyer, a manager's return) it reads `null`.
    async fn note(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let visible = self.visible_author(ctx).await?.is_some();
        Ok(self.model.note.as_deref().filter(|_| visible))
    }
    /// Who recorded it (`null` for movements made by the system or imports). A
    /// cooperative member sees only its own cooperative's members here: the buyer of a
    /// sale, or the manager who recorded a return, read `null`.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(self.visible_author(ctx).await?.flatten().map(User::new))
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}

crate::connection_types!(
    StockMovementConnection,
    StockMovementEdge,
    StockMovement,
    "stock movements"
);

/// A new product of a cooperative. Its stock starts at zero: record a delivery to add units.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// The cooperative making the product (a member may only use their own).
    pub cooperative_id: ID,
    /// Stock-keeping unit, unique across the market (letters, digits and dashes).
    pub sku: String,
    /// Name shown to shoppers.
    pub name: String,
    /// Longer description.
    pub description: Option<String>,
    /// The format sold, e.g. "250 g jar" (one product per format).
    pub format: String,
    /// Unit price in MAD, e.g. "45.00".
    pub price: Decimal,
    /// Slug of the product's segment; must belong to the cooperative's kind.
    pub segment: String,
    /// Whether it is offered (default `true`).
    pub active: Option<bool>,
    /// Stock level at or below which the product is reported as low (default 5).
    pub low_stock_threshold: Option<i32>,
}

/// Changes to a product; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateProductInput {
    /// The product to change.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New format.
    pub format: Option<String>,
    /// New unit price in MAD.
    pub price: Option<Decimal>,
    /// New segment slug (of the cooperative's kind).
    pub segment: Option<String>,
    /// Offer or withdraw the product.
    pub active: Option<bool>,
    /// New low-stock threshold.
    pub low_stock_threshold: Option<i32>,
}

/// Goods a cooperative brought to the market.
#[derive(InputObject)]
pub struct RecordStockDeliveryInput {
    /// The product delivered.
    pub product_id: ID,
    /// Units delivered (1 to 1,000,000).
    pub quantity: i32,
    /// Free-text note (delivery slip number…).
    pub note: Option<String>,
}

/// A manual correction of a product's stock.
#[derive(InputObject)]
pub struct AdjustStockInput {
    /// The product.
    pub product_id: ID,
    /// Units to add (positive) or remove (negative); the level may not go below zero.
    pub delta: i32,
    /// Why.
    pub reason: AdjustmentReason,
    /// Free-text note.
    pub note: Option<String>,
}

payload!(
    /// The result of `createProduct` or `updateProduct`.
    ProductPayload {
        /// The product as saved.
        product: Product
    }
);

payload!(
    /// The result of a stock movement.
    StockMovementPayload {
        /// The ledger line recorded (its `levelAfter` is the new stock level).
        stock_movement: StockMovement
    }
);

pub(crate) fn price_cents(price: Option<Decimal>) -> AppResult<Option<i64>> {
    price
        .map(|p| {
            to_centimes(p.0).ok_or_else(|| {
                AppError::user(
                    crate::error::UserErrorCode::InvalidAmount,
                    &["price"],
                    "A price has at most two decimals.",
                )
            })
        })
        .transpose()
}

async fn find_cooperative(db: &DatabaseConnection, id: i32) -> AppResult<cooperative::Model> {
    reads::cooperative(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("No such cooperative.".into()))
}

/// The product, after checking the viewer manages its cooperative.
pub async fn managed_product(ctx: &Context<'_>, id: &ID) -> AppResult<product::Model> {
    let id = ids::decode::<i32>(id, NodeType::Product)?;
    ctx.viewer().require_user()?;
    let found = reads::product(ctx.db(), id).await?;
    ctx.viewer()
        .require_product_editor(found.as_ref().map(|p| p.cooperative_id))?;
    // A gift pack may hold several cooperatives' products: only managers change it.
    if found.as_ref().is_some_and(|p| p.is_pack) {
        ctx.viewer().require_manager("change a gift pack")?;
    }
    found.ok_or_else(|| AppError::NotFound("No such product.".into()))
}

/// The product, after checking the viewer may change its photos.
pub async fn managed_product_for_images(ctx: &Context<'_>, id: &ID) -> AppResult<product::Model> {
    let id = ids::decode::<i32>(id, NodeType::Product)?;
    ctx.viewer().require_user()?;
    let found = reads::product(ctx.db(), id).await?;
    ctx.viewer()
        .require_product_image_editor(found.as_ref().map(|p| p.cooperative_id))?;
    found.ok_or_else(|| AppError::NotFound("No such product.".into()))
}

async fn move_stock(
    ctx: &Context<'_>,
    product_id: &ID,
    kind: d::StockMovementKind,
    delta: i32,
    reason: Option<d::AdjustmentReason>,
    note: Option<String>,
) -> Result<StockMovementPayload> {
    let product = managed_product(ctx, product_id).await?;
    let author = ctx.viewer().require_user()?.user_id;
    if let Err(e) = market_core::domain::packs::refuse_stock_of_pack(&product) {
        return respond(Err(e), StockMovementPayload::ok);
    }
    let txn = db::begin_write(ctx.db()).await?;
    let result = stock::apply(
        &txn,
        Movement {
            product_id: product.id,
            kind,
            delta,
            reason,
            note,
            order_id: None,
            author_id: Some(author),
        },
        Shortage::Adjustment,
    )
    .await;
    respond(db::finish(txn, result).await, |m| {
        StockMovementPayload::ok(StockMovement {
            model: m,
            cooperative_id: product.cooperative_id,
        })
    })
}

/// Portal queries.
#[derive(Default)]
pub struct PortalQuery;

/// Portal queries.
#[Object]
impl PortalQuery {
    /// The cooperative of the signed-in member, with all its products (sellable or not)
    /// and those at or below their low-stock threshold. `FORBIDDEN` for other roles.
    async fn my_cooperative(&self, ctx: &Context<'_>) -> Result<Cooperative> {
        let id = ctx.viewer().require_own_cooperative()?;
        Ok(Cooperative(find_cooperative(ctx.db(), id).await?))
    }
}

/// Portal mutations.
#[derive(Default)]
pub struct PortalMutation;

/// Portal mutations.
#[Object]
impl PortalMutation {
    /// Adds a product to a cooperative's catalog (members: their own cooperative).
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<ProductPayload> {
        let coop_id = ids::decode::<i32>(&input.cooperative_id, NodeType::Cooperative)?;
        ctx.viewer()
            .require_cooperative_manager(coop_id, "add products to its catalog")?;
        let coop = find_cooperative(ctx.db(), coop_id).await?;
        let fields = match price_cents(Some(input.price)) {
            Ok(price_cents) => ProductFields {
                sku: Some(input.sku),
                name: Some(input.name),
                description: input.description,
                format: Some(input.format),
                price_cents,
                segment_slug: Some(input.segment),
                active: input.active,
                low_stock_threshold: input.low_stock_threshold,
            },
            Err(e) => return respond(Err(e), ProductPayload::ok),
        };
        let txn = db::begin_write(ctx.db()).await?;
        let result = dc::save_product(&txn, &coop, None, fields).await;
        respond(db::finish(txn, result).await, |p| {
            ProductPayload::ok(Product(p))
        })
    }

    /// Changes a product (members: of their own cooperative).
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductInput,
    ) -> Result<ProductPayload> {
        let product = managed_product(ctx, &input.id).await?;
        let coop = find_cooperative(ctx.db(), product.cooperative_id).await?;
        let price_cents = match price_cents(input.price) {
            Ok(p) => p,
            Err(e) => return respond(Err(e), ProductPayload::ok),
        };
        let fields = ProductFields {
            sku: None,
            name: input.name,
            description: input.description,
            format: input.format,
            price_cents,
            segment_slug: input.segment,
            active: input.active,
            low_stock_threshold: input.low_stock_threshold,
        };
        let txn = db::begin_write(ctx.db()).await?;
        let result = dc::save_product(&txn, &coop, Some(product), fields).await;
        respond(db::finish(txn, result).await, |p| {
            ProductPayload::ok(Product(p))
        })
    }

    /// Records goods brought to the market: a `DELIVERY` movement adding `quantity` units.
    async fn record_stock_delivery(
        &self,
        ctx: &Context<'_>,
        input: RecordStockDeliveryInput,
    ) -> Result<StockMovementPayload> {
        if input.quantity <= 0 {
            return respond(
                Err(AppError::user(
                    crate::error::UserErrorCode::InvalidQuantity,
                    &["quantity"],
                    "A delivery brings at least one unit.",
                )),
                StockMovementPayload::ok,
            );
        }
        move_stock(
            ctx,
            &input.product_id,
            d::StockMovementKind::Delivery,
            input.quantity,
            None,
            input.note,
        )
        .await
    }

    /// Corrects a product's stock: an `ADJUSTMENT` movement. A change that would take the
    /// level below zero is refused (`INSUFFICIENT_STOCK`) and changes nothing.
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        input: AdjustStockInput,
    ) -> Result<StockMovementPayload> {
        move_stock(
            ctx,
            &input.product_id,
            d::StockMovementKind::Adjustment,
            input.delta,
            Some(input.reason.into()),
            input.note,
        )
        .await
    }
}
