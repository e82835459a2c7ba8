//! Gift packs (issue #18): managers compose a pack from products of one or more
//! cooperatives; to the storefront a pack is a `Product` (`isPack`, `packComponents`).

use crate::error::Result;
use crate::graphql::context::{ContextExt, load_required};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::ProductKey;
use crate::graphql::payload::respond;
use crate::graphql::portal::{ProductPayload, price_cents};
use crate::graphql::product::Product;
use crate::graphql::scalars::Decimal;
use async_graphql::{Context, ID, InputObject, Object};
use market_core::db;
use market_core::domain::packs::{self, PackFields};
use market_core::models::pack_component;

/// One product of a gift pack and how many of its units each pack holds.
pub struct PackComponent(pub pack_component::Model);

/// One product of a gift pack and how many of its units each pack holds.
#[Object]
impl PackComponent {
    /// The product (a single product, of any cooperative).
    async fn product(&self, ctx: &Context<'_>) -> Result<Product> {
        Ok(Product(
            load_required(ctx, ProductKey(self.0.component_id), "product").await?,
        ))
    }
    /// Units of the product in one pack.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }
}

/// One component of a new pack.
#[derive(InputObject)]
pub struct PackComponentInput {
    /// The product (a single product, not a pack).
    pub product_id: ID,
    /// Units of it in one pack, 1 to 100.
    pub quantity: i32,
}

/// A new gift pack.
#[derive(InputObject)]
pub struct CreatePackInput {
    /// Stock-keeping unit, unique across the market (letters, digits and dashes).
    pub sku: String,
    /// Name shown to shoppers (translations and images are added as for any product).
    pub name: String,
    /// Longer description.
    pub description: Option<String>,
    /// The format sold, e.g. "gift box".
    pub format: String,
    /// The pack's price in MAD, e.g. "350.00": the revenue split among its components in
    /// proportion to their list prices.
    pub price: Decimal,
    /// Slug of the pack's segment; must belong to the kind of the first component's
    /// cooperative, the pack's home in listings.
    pub segment: String,
    /// Whether it is offered (default `true`).
    pub active: Option<bool>,
    /// The components, 1 to 20 distinct products; the first one's cooperative lists the
    /// pack.
    pub components: Vec<PackComponentInput>,
}

/// Gift pack mutations.
#[derive(Default)]
pub struct PacksMutation;

/// Gift pack mutations.
#[Object]
impl PacksMutation {
    /// Composes a gift pack of products of one or more cooperatives (managers only). The
    /// pack is a product: sellable while every component is, its stock the number of
    /// whole packs its components' stock makes.
    async fn create_pack(
        &self,
        ctx: &Context<'_>,
        input: CreatePackInput,
    ) -> Result<ProductPayload> {
        ctx.viewer().require_manager("compose gift packs")?;
        let mut components = Vec::with_capacity(input.components.len());
        for c in &input.components {
            components.push((
                ids::decode::<i32>(&c.product_id, NodeType::Product)?,
                c.quantity,
            ));
        }
        let price = match price_cents(Some(input.price)) {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => return respond(Err(e), ProductPayload::ok),
        };
        let fields = PackFields {
            sku: input.sku,
            name: input.name,
            description: input.description,
            format: input.format,
            price_cents: price,
            segment_slug: input.segment,
            active: input.active,
            components,
        };
        let txn = db::begin_write(ctx.db()).await?;
        let result = packs::create(&txn, fields).await;
        respond(db::finish(txn, result).await, |p| {
            ProductPayload::ok(Product(p))
        })
    }
}
