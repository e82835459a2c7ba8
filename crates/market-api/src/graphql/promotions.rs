//! Seasonal promotions (issue #18): managers define them; the storefront shows a promoted
//! product's compare-at price; order lines keep the discount and who funds it.

use crate::error::{AppError, AppResult, Result};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{self, NodeType};
use crate::graphql::money::{Money, to_centimes};
use crate::graphql::payload::respond;
use crate::graphql::scalars::Decimal;
use crate::payload;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use market_core::db;
use market_core::domain::promotions::{self, Discount, PromotionFields, Target};
use market_core::error::UserErrorCode;
use market_core::models::promotion;
use rust_decimal::prelude::ToPrimitive;

/// What a promotion applies to.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum PromotionTarget {
    /// One product (a gift pack is a product).
    Product,
    /// Every product of a segment, packs of that segment included.
    Segment,
    /// Every single product of a cooperative (not the packs it lists).
    Cooperative,
}

/// A seasonal promotion: a percentage or an amount off, from one instant to another,
/// funded by the market, the cooperative or both.
pub struct Promotion(pub promotion::Model);

/// A seasonal promotion: a percentage or an amount off, from one instant to another,
/// funded by the market, the cooperative or both.
#[Object]
impl Promotion {
    /// The promotion's number.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its name, shown to shoppers ("Ramadan 2027").
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The fraction taken off ("0.20" for 20 %); `null` for an amount off.
    async fn percent_off(&self) -> Option<Decimal> {
        match promotions::discount_of(&self.0) {
            Discount::Percentage(bp) => Some(Decimal(rust_decimal::Decimal::new(bp, 4))),
            Discount::FixedAmount(_) => None,
        }
    }
    /// The amount taken off each unit; `null` for a percentage.
    async fn amount_off(&self) -> Option<Money> {
        match promotions::discount_of(&self.0) {
            Discount::FixedAmount(cents) => Some(Money::mad(cents)),
            Discount::Percentage(_) => None,
        }
    }
    /// What it applies to (see `targetId`).
    async fn target(&self) -> PromotionTarget {
        match self.0.target.as_str() {
            "PRODUCT" => PromotionTarget::Product,
            "SEGMENT" => PromotionTarget::Segment,
            _ => PromotionTarget::Cooperative,
        }
    }
    /// The global ID of the product or cooperative, or the segment's slug-less number.
    async fn target_id(&self) -> ID {
        match self.0.target.as_str() {
            "PRODUCT" => ids::encode(NodeType::Product, self.0.target_id),
            "COOPERATIVE" => ids::encode(NodeType::Cooperative, self.0.target_id),
            _ => ID(self.0.target_id.to_string()),
        }
    }
    /// When it starts (included).
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// When it ends (excluded).
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    /// The market's part of the funding, a fraction: "1" the market pays the discount
    /// (the cooperative is paid as if sold at the list price), "0" the cooperative does,
    /// "0.5" half each.
    async fn market_share(&self) -> Decimal {
        Decimal(rust_decimal::Decimal::new(self.0.market_share_bp.into(), 4))
    }
}

/// A promotion as it lowers one product's price now.
pub struct ProductPromotion {
    pub promotion: promotion::Model,
    pub list_cents: i64,
    pub off_cents: i64,
}

/// A promotion as it lowers one product's price now.
#[Object]
impl ProductPromotion {
    /// The promotion.
    async fn promotion(&self) -> Promotion {
        Promotion(self.promotion.clone())
    }
    /// The price before the promotion (to show struck through).
    async fn compare_at_price(&self) -> Money {
        Money::mad(self.list_cents)
    }
    /// The price a shopper pays for one unit now.
    async fn price(&self) -> Money {
        Money::mad(self.list_cents - self.off_cents)
    }
    /// What it takes off one unit.
    async fn discount(&self) -> Money {
        Money::mad(self.off_cents)
    }
}

/// A new promotion. Give exactly one of `percentOff` and `amountOff`, and the key of the
/// target: `productId`, `segment` or `cooperativeId`.
#[derive(InputObject)]
pub struct CreatePromotionInput {
    /// Its name, shown to shoppers ("Ramadan 2027").
    pub name: String,
    /// A fraction off, more than 0 and at most 1, at most 4 decimals ("0.20").
    pub percent_off: Option<Decimal>,
    /// An amount off each unit, in MAD ("10.00").
    pub amount_off: Option<Decimal>,
    /// What it applies to.
    pub target: PromotionTarget,
    /// The product (a single product or a gift pack), for `PRODUCT`.
    pub product_id: Option<ID>,
    /// The segment's slug, for `SEGMENT`.
    pub segment: Option<String>,
    /// The cooperative, for `COOPERATIVE`.
    pub cooperative_id: Option<ID>,
    /// When it starts (included), e.g. midnight in Casablanca: "2027-02-07T00:00:00+01:00".
    pub starts_at: DateTime<Utc>,
    /// When it ends (excluded).
    pub ends_at: DateTime<Utc>,
    /// The market's part of the funding, 0 to 1 (default 1: the market pays the whole
    /// discount; 0: the cooperative does; 0.5: half each).
    pub market_share: Option<Decimal>,
}

payload!(
    /// The result of `createPromotion`.
    PromotionPayload {
        /// The promotion recorded.
        promotion: Promotion
    }
);

fn fraction_bp(value: &Decimal, field: &str) -> AppResult<i64> {
    let bp = value.0 * rust_decimal::Decimal::from(10_000);
    match bp.to_i64() {
        Some(v) if bp.fract().is_zero() => Ok(v),
        _ => Err(AppError::user(
            UserErrorCode::Invalid,
            &[field],
            "A fraction between 0 and 1 with at most 4 decimals.",
        )),
    }
}

async fn fields(ctx: &Context<'_>, input: CreatePromotionInput) -> AppResult<PromotionFields> {
    let discount = match (&input.percent_off, &input.amount_off) {
        (Some(p), None) => Discount::Percentage(fraction_bp(p, "percentOff")?),
        (None, Some(a)) => Discount::FixedAmount(to_centimes(a.0).ok_or_else(|| {
            AppError::user(
                UserErrorCode::InvalidAmount,
                &["amountOff"],
                "An amount has at most two decimals.",
            )
        })?),
        _ => {
            return Err(AppError::user(
                UserErrorCode::Invalid,
                &["percentOff"],
                "Give either `percentOff` or `amountOff`.",
            ));
        }
    };
    let missing = |field: &str| {
        AppError::user(
            UserErrorCode::Invalid,
            &[field],
            format!("A promotion on this target needs `{field}`."),
        )
    };
    let target = match input.target {
        PromotionTarget::Product => Target::Product(ids::decode::<i32>(
            input
                .product_id
                .as_ref()
                .ok_or_else(|| missing("productId"))?,
            NodeType::Product,
        )?),
        PromotionTarget::Cooperative => Target::Cooperative(ids::decode::<i32>(
            input
                .cooperative_id
                .as_ref()
                .ok_or_else(|| missing("cooperativeId"))?,
            NodeType::Cooperative,
        )?),
        PromotionTarget::Segment => {
            let slug = input.segment.as_deref().ok_or_else(|| missing("segment"))?;
            let segment = market_core::domain::reads::all_segments(ctx.db(), None)
                .await?
                .into_iter()
                .find(|s| s.slug == slug)
                .ok_or_else(|| {
                    AppError::user(UserErrorCode::NotFound, &["segment"], "No such segment.")
                })?;
            Target::Segment(segment.id)
        }
    };
    let market_share_bp = match &input.market_share {
        Some(share) => i32::try_from(fraction_bp(share, "marketShare")?).unwrap_or(-1),
        None => 10_000,
    };
    Ok(PromotionFields {
        name: input.name,
        discount,
        target,
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        market_share_bp,
    })
}

/// Promotion queries.
#[derive(Default)]
pub struct PromotionsQuery;

/// Promotion queries.
#[Object]
impl PromotionsQuery {
    /// The promotions not over yet (or all, with `includeEnded`), by start (managers).
    async fn promotions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_ended: bool,
    ) -> Result<Vec<Promotion>> {
        ctx.viewer().require_manager("read the promotions")?;
        let after = (!include_ended).then(|| ctx.config().now());
        Ok(promotions::list(ctx.db(), after)
            .await?
            .into_iter()
            .map(Promotion)
            .collect())
    }
}

/// Promotion mutations.
#[derive(Default)]
pub struct PromotionsMutation;

/// Promotion mutations.
#[Object]
impl PromotionsMutation {
    /// Defines a seasonal promotion (managers only). Storefront prices and new orders
    /// follow it from `startsAt` to `endsAt`; when several apply to a product, the one
    /// taking the most off does.
    async fn create_promotion(
        &self,
        ctx: &Context<'_>,
        input: CreatePromotionInput,
    ) -> Result<PromotionPayload> {
        ctx.viewer().require_manager("define promotions")?;
        let fields = match fields(ctx, input).await {
            Ok(f) => f,
            Err(e) => return respond(Err(e), PromotionPayload::ok),
        };
        let txn = db::begin_write(ctx.db()).await?;
        let result = promotions::create(&txn, fields, ctx.config().now()).await;
        respond(db::finish(txn, result).await, |p| {
            PromotionPayload::ok(Promotion(p))
        })
    }
}
