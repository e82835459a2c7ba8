//! The catalog: how a filter on products or cooperatives becomes one SQL query, and how
//! products are created and changed.

use crate::domain::compliance;
use crate::domain::enums::{CertificationType, CooperativeKind, CooperativeStatus};
use crate::domain::input;
use crate::domain::search::{normalize, product_search_text};
use crate::domain::set_if;
use crate::entities::{cooperative, pack_component, product, segment};
use crate::error::{AppError, AppResult, UserError, UserErrorCode};
use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Select, Set, TryIntoModel,
};

/// A product listing's filter, already parsed from the API's input.
#[derive(Debug, Default, Clone)]
pub struct ProductFilter {
    pub search: Option<String>,
    /// The products the search index found for `search` (then `search` itself is not
    /// matched again in SQL).
    pub search_ids: Option<Vec<i32>>,
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
    /// Only products at or below their low-stock threshold.
    pub low_stock: bool,
    /// Only the product of this SKU (`product(sku:)`).
    pub sku: Option<String>,
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
    if let Some(ids) = &filter.search_ids {
        cond = cond.add(product::Column::Id.is_in(ids.iter().copied()));
    } else if let Some(search) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
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
    if let Some(sku) = &filter.sku {
        cond = cond.add(product::Column::Sku.eq(sku.clone()));
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
    // A gift pack's stock is its components' (`domain::packs`): the packs with a whole
    // pack in stock, found among the packs only.
    let packs_in_stock = || {
        let (pc, c) = (Alias::new("pc"), Alias::new("c"));
        product::Column::Id.in_subquery(
            Query::select()
                .column((pc.clone(), pack_component::Column::PackId))
                .from_as(pack_component::Entity, pc.clone())
                .join_as(
                    sea_orm::JoinType::InnerJoin,
                    product::Entity,
                    c.clone(),
                    Expr::col((c.clone(), product::Column::Id))
                        .equals((pc.clone(), pack_component::Column::ComponentId)),
                )
                .group_by_col((pc, pack_component::Column::PackId))
                .and_having(Expr::cust("MIN(\"c\".\"stock\" / \"pc\".\"quantity\") > 0"))
                .to_owned(),
        )
    };
    match filter.in_stock {
        Some(true) => {
            cond = cond.add(
                Condition::any()
                    .add(product::Column::Stock.gt(0))
                    .add(packs_in_stock()),
            )
        }
        Some(false) => {
            cond = cond
                .add(product::Column::Stock.eq(0))
                .add(packs_in_stock().not())
        }
        None => {}
    }
    if let Some(min) = filter.price_min_cents {
        cond = cond.add(product::Column::PriceCents.gte(min));
    }
    if let Some(max) = filter.price_max_cents {
        cond = cond.add(product::Column::PriceCents.lte(max));
    }
    if filter.low_stock {
        cond = cond
            .add(
                Expr::col(product::Column::Stock)
                    .lte(Expr::col(product::Column::LowStockThreshold)),
            )
            // A pack's stock column is not its stock.
            .add(product::Column::IsPack.eq(false));
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

/// Every editable field of a product; `None` leaves a field unchanged on update.
#[derive(Debug, Default, Clone)]
pub struct ProductFields {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub format: Option<String>,
    pub price_cents: Option<i64>,
    pub segment_slug: Option<String>,
    pub active: Option<bool>,
    pub low_stock_threshold: Option<i32>,
}

/// Longest SKU.
pub const MAX_SKU: usize = 64;

/// Whether `text` could be a slug (lowercase letters, digits and dashes, at most 120).
pub fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 120
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A value as a client wrote it, quoted for a message (cut if long, control characters
/// escaped).
pub fn quoted(text: &str) -> String {
    let shown: String = text.chars().take(60).collect();
    let more = if text.chars().count() > 60 { "…" } else { "" };
    format!("{:?}{more}", shown)
}

/// Every segment slug, in catalog order.
pub async fn segment_slugs(db: &impl ConnectionTrait) -> AppResult<Vec<String>> {
    use sea_orm::QueryOrder;
    Ok(segment::Entity::find()
        .order_by_asc(segment::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.slug)
        .collect())
}

/// The keys a catalog filter names, checked against the database: an unknown segment,
/// region or cooperative is a `BAD_USER_INPUT` naming it (and, for segments and regions,
/// the accepted ones) rather than an empty page that looks like an empty shelf.
#[derive(Debug, Default, Clone, Copy)]
pub struct FilterKeys<'a> {
    pub segment: Option<&'a str>,
    pub region: Option<&'a str>,
    /// The cooperative's id, and the global ID the client sent (for the message).
    pub cooperative: Option<(i32, &'a str)>,
}

/// Checks [`FilterKeys`]; returns the segment's id.
pub async fn check_filter_keys(
    db: &impl ConnectionTrait,
    keys: FilterKeys<'_>,
) -> AppResult<Option<i32>> {
    use crate::entities::region;
    use sea_orm::QueryOrder;
    let mut segment_id = None;
    if let Some(slug) = keys.segment {
        input::argument("segment", slug, input::KEY)?;
        let segments = segment::Entity::find()
            .order_by_asc(segment::Column::Position)
            .all(db)
            .await?;
        match segments.iter().find(|s| s.slug == slug) {
            Some(s) => segment_id = Some(s.id),
            None => {
                let known: Vec<&str> = segments.iter().map(|s| s.slug.as_str()).collect();
                return Err(AppError::bad_input(format!(
                    "unknown segment {}; the segments are {}",
                    quoted(slug),
                    known.join(", ")
                )));
            }
        }
    }
    if let Some(code) = keys.region {
        input::argument("region", code, input::KEY)?;
        let regions = region::Entity::find()
            .order_by_asc(region::Column::Position)
            .all(db)
            .await?;
        if !regions.iter().any(|r| r.code == code) {
            let known: Vec<&str> = regions.iter().map(|r| r.code.as_str()).collect();
            return Err(AppError::bad_input(format!(
                "unknown region {}; the regions are {}",
                quoted(code),
                known.join(", ")
            )));
        }
    }
    if let Some((id, given)) = keys.cooperative
        && cooperative::Entity::find_by_id(id).one(db).await?.is_none()
    {
        return Err(AppError::bad_input(format!(
            "no cooperative has the ID {}",
            quoted(given)
        )));
    }
    Ok(segment_id)
}

fn product_error(code: UserErrorCode, field: &str, message: impl Into<String>) -> UserError {
    UserError::new(code, &[field], message)
}

/// Validates and writes a product of `coop` (`current` for an update). New products start
/// with no stock: stock arrives through deliveries, so the ledger explains every unit.
#[tracing::instrument(skip_all, fields(cooperative_id = coop.id, product_id = current.as_ref().map(|p| p.id)))]
pub async fn save_product(
    db: &impl ConnectionTrait,
    coop: &cooperative::Model,
    current: Option<product::Model>,
    fields: ProductFields,
) -> AppResult<product::Model> {
    use UserErrorCode::*;
    let mut errors = Vec::new();
    let creating = current.is_none();
    let sku = fields.sku.as_deref().map(|s| s.trim().to_uppercase());
    let name = fields
        .name
        .as_deref()
        .map(|n| input::required(&mut errors, "name", "a name", n, input::NAME));
    let format = fields.format.as_deref().map(|f| {
        input::required(
            &mut errors,
            "format",
            "a format (e.g. \"250 g jar\")",
            f,
            input::FORMAT,
        )
    });
    let description = input::description(&mut errors, fields.description.as_deref());
    if creating {
        input::required_fields(
            &mut errors,
            [
                (sku.is_none(), "sku"),
                (name.is_none(), "name"),
                (format.is_none(), "format"),
                (fields.price_cents.is_none(), "price"),
                (fields.segment_slug.is_none(), "segment"),
            ],
        );
    }
    if let Some(s) = &sku {
        let ok = (3..=MAX_SKU).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            errors.push(product_error(
                Invalid,
                "sku",
                "A SKU is 3 to 64 letters, digits and dashes.",
            ));
        } else {
            let taken = product::Entity::find()
                .filter(product::Column::Sku.eq(s.clone()))
                .filter(product::Column::Id.ne(current.as_ref().map_or(0, |p| p.id)))
                .count(db)
                .await?;
            if taken > 0 {
                errors.push(product_error(
                    Duplicate,
                    "sku",
                    format!("Another product has SKU {s}."),
                ));
            }
        }
    }
    if let Some(p) = fields.price_cents
        && !(0..=100_000_000).contains(&p)
    {
        errors.push(product_error(
            InvalidAmount,
            "price",
            "A price lies between 0 and 1,000,000.00 MAD.",
        ));
    }
    if let Some(t) = fields.low_stock_threshold
        && !(0..=1_000_000).contains(&t)
    {
        errors.push(product_error(
            Invalid,
            "lowStockThreshold",
            "The threshold is 0 or more.",
        ));
    }
    let mut segment_id = None;
    if let Some(slug) = &fields.segment_slug {
        let found = if is_slug(slug) {
            segment::Entity::find()
                .filter(segment::Column::Slug.eq(slug.clone()))
                .one(db)
                .await?
        } else {
            None
        };
        match found {
            None => errors.push(product_error(
                NotFound,
                "segment",
                format!(
                    "No segment {}; the segments are {}.",
                    quoted(slug),
                    segment_slugs(db).await?.join(", ")
                ),
            )),
            Some(seg) if seg.kind != coop.kind => errors.push(product_error(
                SegmentKindMismatch,
                "segment",
                format!(
                    "{} is a {} segment; {} is a {} cooperative.",
                    seg.name, seg.kind, coop.name, coop.kind
                ),
            )),
            Some(seg) => segment_id = Some(seg.id),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::User(errors));
    }

    let now = Utc::now();
    let mut model: product::ActiveModel = match current {
        Some(p) => p.into(),
        None => product::ActiveModel {
            cooperative_id: Set(coop.id),
            description: Set(String::new()),
            active: Set(true),
            stock: Set(0),
            low_stock_threshold: Set(5),
            created_at: Set(now),
            ..Default::default()
        },
    };
    set_if(&mut model.sku, sku);
    set_if(&mut model.name, name);
    set_if(&mut model.format, format);
    set_if(&mut model.description, description);
    set_if(&mut model.price_cents, fields.price_cents);
    set_if(&mut model.segment_id, segment_id);
    set_if(&mut model.active, fields.active);
    set_if(&mut model.low_stock_threshold, fields.low_stock_threshold);
    let search = product_search_text(
        model.name.as_ref(),
        model.description.as_ref(),
        model.format.as_ref(),
    );
    model.search_text = Set(search);
    model.updated_at = Set(now);
    let saved = model.save(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::User(vec![product_error(
            Duplicate,
            "sku",
            "Another product has this SKU.",
        )]),
        _ => AppError::Database(e),
    })?;
    crate::domain::catalog_version::touch_texts(db).await?;
    Ok(saved.try_into_model()?)
}
