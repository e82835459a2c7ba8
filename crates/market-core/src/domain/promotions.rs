//! Seasonal promotions (issue #18): a percentage or a fixed amount off a product (a gift
//! pack is one), every product of a segment, or every single product of a cooperative,
//! from one instant to another (market time: Ramadan, the year-end festivities). The
//! funding decides whose payout bears the discount: the market's part
//! (`market_share_bp`) is paid to the cooperative as if sold at the list price, the
//! rest comes off the cooperative's sales.
//!
//! When several promotions apply, a line gets the one taking the most off (ties: the
//! older promotion). The discount is per unit (what the storefront shows), times the
//! quantity; the order line snapshots it with the promotion and the market's part.

use crate::domain::payouts::commission_cents;
use crate::entities::{cooperative, product, promotion, segment};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use std::collections::HashMap;

/// How a promotion lowers a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// Basis points off (2,000: 20 % off).
    Percentage(i64),
    /// Centimes off each unit (never below zero).
    FixedAmount(i64),
}

/// What a promotion applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One product (a gift pack is one).
    Product(i32),
    /// Every product of the segment (packs of that segment included).
    Segment(i32),
    /// Every single product of the cooperative (not the packs it lists).
    Cooperative(i32),
}

impl Target {
    fn parts(self) -> (&'static str, i32) {
        match self {
            Self::Product(id) => ("PRODUCT", id),
            Self::Segment(id) => ("SEGMENT", id),
            Self::Cooperative(id) => ("COOPERATIVE", id),
        }
    }
}

/// The discount a promotion row describes.
pub fn discount_of(p: &promotion::Model) -> Discount {
    if p.discount_kind == "FIXED_AMOUNT" {
        Discount::FixedAmount(p.discount_value)
    } else {
        Discount::Percentage(p.discount_value)
    }
}

/// What `p` takes off one unit at `price`: a percentage rounded half-even to the centime,
/// or the fixed amount, never more than the price.
pub fn unit_discount(p: &promotion::Model, price: i64) -> i64 {
    let off = match discount_of(p) {
        Discount::Percentage(bp) => commission_cents(price, i32::try_from(bp).unwrap_or(0)),
        Discount::FixedAmount(cents) => cents,
    };
    Ord::clamp(off, 0, Ord::max(price, 0))
}

/// The promotion of `candidates` taking the most off a unit at `price` (ties: the lowest
/// id), with that unit discount; `None` when none takes anything off.
pub fn best<'a>(
    candidates: impl IntoIterator<Item = &'a promotion::Model>,
    price: i64,
) -> Option<(&'a promotion::Model, i64)> {
    candidates
        .into_iter()
        .map(|p| (p, unit_discount(p, price)))
        .filter(|(_, off)| *off > 0)
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.id.cmp(&a.0.id)))
}

/// The market's part of `discount` under `p`'s funding, rounded half-even.
pub fn market_part(p: &promotion::Model, discount: i64) -> i64 {
    commission_cents(discount, p.market_share_bp)
}

/// The condition, over `products` and a joined `promotions` aliased `alias`, that the
/// promotion applies to the product at `at`.
pub fn applies(alias: &str, at: DateTime<Utc>) -> Condition {
    let pr = || Alias::new(alias);
    let col = |c: promotion::Column| Expr::col((pr(), c));
    let target = |kind: &str, column: product::Column| {
        Condition::all()
            .add(col(promotion::Column::Target).eq(kind))
            .add(col(promotion::Column::TargetId).equals((product::Entity, column)))
    };
    Condition::all()
        .add(col(promotion::Column::StartsAt).lte(at))
        .add(col(promotion::Column::EndsAt).gt(at))
        .add(
            Condition::any()
                .add(target("PRODUCT", product::Column::Id))
                .add(target("SEGMENT", product::Column::SegmentId))
                .add(
                    target("COOPERATIVE", product::Column::CooperativeId)
                        .add(Expr::col((product::Entity, product::Column::IsPack)).eq(false)),
                ),
        )
}

/// The promotions running at `at` that apply to each of `products`.
pub async fn running_for(
    db: &impl ConnectionTrait,
    products: &[&product::Model],
    at: DateTime<Utc>,
) -> AppResult<HashMap<i32, Vec<promotion::Model>>> {
    let mut out: HashMap<i32, Vec<promotion::Model>> = HashMap::new();
    if products.is_empty() {
        return Ok(out);
    }
    let running = promotion::Entity::find()
        .filter(promotion::Column::StartsAt.lte(at))
        .filter(promotion::Column::EndsAt.gt(at))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(promotion::Column::Target.eq("PRODUCT"))
                        .add(promotion::Column::TargetId.is_in(products.iter().map(|p| p.id))),
                )
                .add(
                    Condition::all()
                        .add(promotion::Column::Target.eq("SEGMENT"))
                        .add(
                            promotion::Column::TargetId
                                .is_in(products.iter().map(|p| p.segment_id)),
                        ),
                )
                .add(
                    Condition::all()
                        .add(promotion::Column::Target.eq("COOPERATIVE"))
                        .add(
                            promotion::Column::TargetId
                                .is_in(products.iter().map(|p| p.cooperative_id)),
                        ),
                ),
        )
        .all(db)
        .await?;
    for p in products {
        let applying: Vec<promotion::Model> = running
            .iter()
            .filter(|r| match r.target.as_str() {
                "PRODUCT" => r.target_id == p.id,
                "SEGMENT" => r.target_id == p.segment_id,
                _ => r.target_id == p.cooperative_id && !p.is_pack,
            })
            .cloned()
            .collect();
        if !applying.is_empty() {
            out.insert(p.id, applying);
        }
    }
    Ok(out)
}

/// The promotions ending after `after` (all when `None`), by start then id; at most
/// 1,000 (a market runs a few a year).
pub async fn list(
    db: &impl ConnectionTrait,
    after: Option<DateTime<Utc>>,
) -> AppResult<Vec<promotion::Model>> {
    use sea_orm::{QueryOrder, QuerySelect};
    let mut select = promotion::Entity::find()
        .order_by_asc(promotion::Column::StartsAt)
        .order_by_asc(promotion::Column::Id)
        .limit(1_000);
    if let Some(after) = after {
        select = select.filter(promotion::Column::EndsAt.gt(after));
    }
    Ok(select.all(db).await?)
}

/// A promotion by id.
pub async fn find(db: &impl ConnectionTrait, id: i32) -> AppResult<Option<promotion::Model>> {
    Ok(promotion::Entity::find_by_id(id).one(db).await?)
}

/// A promotion as a manager defines it.
#[derive(Debug, Clone)]
pub struct PromotionFields {
    pub name: String,
    pub discount: Discount,
    pub target: Target,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Basis points of the discount the market funds (0 to 10,000).
    pub market_share_bp: i32,
}

/// Validates and records a promotion (one transaction, the caller's); a new catalog
/// version, since storefront prices change with it.
pub async fn create(
    db: &impl ConnectionTrait,
    fields: PromotionFields,
    now: DateTime<Utc>,
) -> AppResult<promotion::Model> {
    let mut errors = Vec::new();
    let name = crate::domain::input::required(
        &mut errors,
        "name",
        "a name",
        &fields.name,
        crate::domain::input::NAME,
    );
    let (kind, value) = match fields.discount {
        Discount::Percentage(bp) => {
            if !(1..=10_000).contains(&bp) {
                errors.push(UserError::new(
                    UserErrorCode::Invalid,
                    &["percentOff"],
                    "A percentage off is more than 0 and at most 1 (100 %).",
                ));
            }
            ("PERCENTAGE", bp)
        }
        Discount::FixedAmount(cents) => {
            if !(1..=100_000_000).contains(&cents) {
                errors.push(UserError::new(
                    UserErrorCode::InvalidAmount,
                    &["amountOff"],
                    "An amount off lies between 0.01 and 1,000,000.00 MAD.",
                ));
            }
            ("FIXED_AMOUNT", cents)
        }
    };
    if fields.starts_at >= fields.ends_at {
        errors.push(UserError::new(
            UserErrorCode::InvalidRange,
            &["endsAt"],
            "A promotion ends after it starts.",
        ));
    }
    if !(0..=10_000).contains(&fields.market_share_bp) {
        errors.push(UserError::new(
            UserErrorCode::Invalid,
            &["marketShare"],
            "The market's share of the funding is 0 (the cooperative funds it) to 1 (the market does).",
        ));
    }
    let (target, target_id) = fields.target.parts();
    let exists = match fields.target {
        Target::Product(id) => product::Entity::find_by_id(id).one(db).await?.is_some(),
        Target::Segment(id) => segment::Entity::find_by_id(id).one(db).await?.is_some(),
        Target::Cooperative(id) => cooperative::Entity::find_by_id(id).one(db).await?.is_some(),
    };
    if !exists {
        errors.push(UserError::new(
            UserErrorCode::NotFound,
            &["target"],
            "The promotion's target does not exist.",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }
    let saved = promotion::ActiveModel {
        name: Set(name),
        discount_kind: Set(kind.into()),
        discount_value: Set(value),
        target: Set(target.into()),
        target_id: Set(target_id),
        starts_at: Set(fields.starts_at),
        ends_at: Set(fields.ends_at),
        market_share_bp: Set(fields.market_share_bp),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    crate::domain::catalog_version::touch(db).await?;
    Ok(saved)
}
