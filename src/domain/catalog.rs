//! Catalog listings: how a filter on products or cooperatives becomes one SQL query.

use crate::domain::compliance;
use crate::domain::enums::{CertificationType, CooperativeKind, CooperativeStatus};
use crate::domain::search::normalize;
use crate::entities::{cooperative, product, segment};
use chrono::NaiveDate;
use sea_orm::sea_query::{LikeExpr, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Select};

/// A product listing's filter, already parsed from the API's input.
#[derive(Debug, Default, Clone)]
pub struct ProductFilter {
    pub search: Option<String>,
    pub cooperative_id: Option<i32>,
    pub kind: Option<CooperativeKind>,
    pub segment_slug: Option<String>,
    pub region_code: Option<String>,
    pub certification: Option<CertificationType>,
    pub in_stock: Option<bool>,
    pub price_min_cents: Option<i64>,
    pub price_max_cents: Option<i64>,
    /// Also list products that cannot be sold now (managers and the product's members).
    pub include_unsellable: bool,
}

/// A `LIKE` pattern matching `text` anywhere, after normalization, with `%`, `_` and `\`
/// taken literally.
pub fn contains_pattern(text: &str) -> LikeExpr {
    let needle = normalize(text)
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("%{needle}%")).escape('\\')
}

/// The products matching `filter`, unsorted.
pub fn products_query(filter: &ProductFilter, today: NaiveDate) -> Select<product::Entity> {
    let mut cond = Condition::all();
    if let Some(search) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
        let pattern = contains_pattern(search);
        cond = cond.add(
            Condition::any()
                .add(product::Column::SearchText.like(pattern.clone()))
                .add(
                    product::Column::CooperativeId.in_subquery(
                        Query::select()
                            .column(cooperative::Column::Id)
                            .from(cooperative::Entity)
                            .and_where(cooperative::Column::SearchText.like(pattern))
                            .to_owned(),
                    ),
                ),
        );
    }
    if let Some(id) = filter.cooperative_id {
        cond = cond.add(product::Column::CooperativeId.eq(id));
    }
    let mut coop_cond = Condition::all();
    if let Some(kind) = filter.kind {
        coop_cond = coop_cond.add(cooperative::Column::Kind.eq(kind));
    }
    if let Some(region) = &filter.region_code {
        coop_cond = coop_cond.add(cooperative::Column::RegionCode.eq(region.clone()));
    }
    if !coop_cond.is_empty() {
        cond = cond.add(
            product::Column::CooperativeId.in_subquery(
                Query::select()
                    .column(cooperative::Column::Id)
                    .from(cooperative::Entity)
                    .cond_where(coop_cond)
                    .to_owned(),
            ),
        );
    }
    if let Some(slug) = &filter.segment_slug {
        cond = cond.add(
            product::Column::SegmentId.in_subquery(
                Query::select()
                    .column(segment::Column::Id)
                    .from(segment::Entity)
                    .and_where(segment::Column::Slug.eq(slug.clone()))
                    .to_owned(),
            ),
        );
    }
    if let Some(cert_type) = filter.certification {
        cond = cond.add(compliance::certified_condition(cert_type, today));
    }
    match filter.in_stock {
        Some(true) => cond = cond.add(product::Column::Stock.gt(0)),
        Some(false) => cond = cond.add(product::Column::Stock.eq(0)),
        None => {}
    }
    if let Some(min) = filter.price_min_cents {
        cond = cond.add(product::Column::PriceCents.gte(min));
    }
    if let Some(max) = filter.price_max_cents {
        cond = cond.add(product::Column::PriceCents.lte(max));
    }
    if !filter.include_unsellable {
        cond = cond.add(compliance::sellable_condition(today));
    }
    product::Entity::find().filter(cond)
}

/// A cooperative listing's filter.
#[derive(Debug, Default, Clone)]
pub struct CooperativeFilter {
    pub kind: Option<CooperativeKind>,
    pub region_code: Option<String>,
    pub status: Option<CooperativeStatus>,
    pub search: Option<String>,
}

/// The cooperatives matching `filter`, unsorted.
pub fn cooperatives_query(filter: &CooperativeFilter) -> Select<cooperative::Entity> {
    let mut cond = Condition::all();
    if let Some(kind) = filter.kind {
        cond = cond.add(cooperative::Column::Kind.eq(kind));
    }
    if let Some(region) = &filter.region_code {
        cond = cond.add(cooperative::Column::RegionCode.eq(region.clone()));
    }
    if let Some(status) = filter.status {
        cond = cond.add(cooperative::Column::Status.eq(status));
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
        cond = cond.add(cooperative::Column::SearchText.like(contains_pattern(search)));
    }
    cooperative::Entity::find().filter(cond)
}
