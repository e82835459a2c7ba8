//! The `Product` type: one format of one cooperative's product, its stock, compliance
//! and ledger; the product list's filter and sort, and how a page of products is read.

use crate::error::Result;
use crate::error::{AppError, AppResult};
use crate::graphql::certifications::Certification;
use crate::graphql::context::{ContextExt, load_or_default, load_required};
use crate::graphql::cooperative::Cooperative;
use crate::graphql::enums::{CertificationType, CooperativeKind, SortDirection};
use crate::graphql::i18n::{self, Localized, Translation};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::image::ProductImage;
use crate::graphql::loaders::{
    CertificationIdsListingProduct, CertificationsOfCooperative, CooperativeKey,
    FirstProductsOfCooperative, FirstStockMovementsOfProduct, LoadError, PhotosOfProduct,
    ProductCountOfCooperative, RegionKey, SegmentKey, StockMovementCountOfProduct,
};
use crate::graphql::money::{Money, to_centimes};
use crate::graphql::pagination::{
    Cursor, PageArgs, connection, listing_connection, loaded_first_page,
};
use crate::graphql::scalars::Decimal;
use crate::graphql::segment::Segment;
use async_graphql::{Context, Enum, ID, InputObject, InputType, Object, SimpleObject};
use chrono::{DateTime, Utc};
use market_core::domain::catalog::{self as dc, ProductFilter};
use market_core::domain::compliance::{self, IssueCode};
use market_core::domain::input;
use market_core::domain::lists::{self, ProductOrder, ProductRelations};
use market_core::domain::reads::{self, FirstProducts, ProductSortKey};
use market_core::domain::translations::{Subject, SubjectKind};
use market_core::models::{certification, cooperative, product, region, segment};
use market_core::page::Listing;
use std::collections::HashMap;

/// A product for sale: one format of one cooperative's product ("250 g jar").
pub struct Product(pub product::Model);

impl Product {
    fn subject(&self) -> Subject {
        Subject::new(SubjectKind::Product, self.0.id)
    }

    async fn localized(&self, ctx: &Context<'_>) -> AppResult<Localized> {
        i18n::localize(ctx, self.subject(), &self.0.name, &self.0.description).await
    }

    async fn cooperative_model(&self, ctx: &Context<'_>) -> AppResult<cooperative::Model> {
        load_required(ctx, CooperativeKey(self.0.cooperative_id), "cooperative").await
    }

    /// The certifications of the product's cooperative that cover it, valid or not.
    async fn covering(&self, ctx: &Context<'_>) -> AppResult<Vec<certification::Model>> {
        let loaders = ctx.loaders();
        let (all, listed) = futures::try_join!(
            loaders.load_one(CertificationsOfCooperative(self.0.cooperative_id)),
            loaders.load_one(CertificationIdsListingProduct(self.0.id)),
        )?;
        let listed = listed.unwrap_or_default();
        Ok(all
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.covers_all_products || listed.contains(&c.id))
            .collect())
    }

    /// The reasons this product cannot be sold today.
    pub async fn issues(&self, ctx: &Context<'_>) -> AppResult<Vec<compliance::ComplianceIssue>> {
        if self.0.is_pack {
            let mut issues = Vec::new();
            if !self.0.active {
                issues.push(compliance::inactive());
            }
            issues.extend(
                ctx.loaders()
                    .load_one(crate::graphql::loaders::ComponentIssuesOfPack(
                        self.0.id,
                        ctx.today(),
                    ))
                    .await?
                    .unwrap_or_default(),
            );
            return Ok(issues);
        }
        let (coop, covering) = futures::try_join!(self.cooperative_model(ctx), self.covering(ctx))?;
        let refs: Vec<_> = covering.iter().collect();
        Ok(compliance::assess(&self.0, &coop, &refs, ctx.today()))
    }
}

/// A product for sale: one format of one cooperative's product ("250 g jar").
#[Object]
impl Product {
    /// Global ID of the product.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Product, self.0.id)
    }
    /// Stock-keeping unit, unique across the market.
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    /// Name shown to shoppers, in the request's language (falling back along its
    /// chain; see `language`).
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.name)
    }
    /// Longer description, in the request's language (falling back along its chain).
    async fn description(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.description)
    }
    /// The language `name` is in: the request's, or the one its chain fell back to when
    /// the product has no text in it.
    async fn language(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.localized(ctx).await?.language)
    }
    /// The product's name and description in each language other than the base one
    /// (whose text is `name` and `description` in a base-language request).
    async fn translations(&self, ctx: &Context<'_>) -> Result<Vec<Translation>> {
        Ok(i18n::translations(ctx, self.subject()).await?)
    }
    /// The format sold, e.g. "250 g jar" or "1 L bottle".
    async fn format(&self) -> &str {
        &self.0.format
    }
    /// Unit price.
    async fn price(&self) -> Money {
        Money::mad(self.0.price_cents)
    }
    /// Whether the cooperative offers the product at all (inactive products are not sold).
    async fn active(&self) -> bool {
        self.0.active
    }
    /// The product's segment (olive oil, spices, pottery…).
    async fn segment(&self, ctx: &Context<'_>) -> Result<Segment> {
        Ok(Segment(
            load_required(ctx, SegmentKey(self.0.segment_id), "segment").await?,
        ))
    }
    /// The cooperative that makes the product.
    async fn cooperative(&self, ctx: &Context<'_>) -> Result<Cooperative> {
        Ok(Cooperative(self.cooperative_model(ctx).await?))
    }
    /// Certifications of the cooperative covering this product. By default only those
    /// valid today; `includeInvalid` adds expired, revoked and not-yet-valid ones.
    async fn certifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_invalid: bool,
    ) -> Result<Vec<Certification>> {
        let today = ctx.today();
        Ok(self
            .covering(ctx)
            .await?
            .into_iter()
            .filter(|c| include_invalid || compliance::is_valid(c, today))
            .map(Certification)
            .collect())
    }
    /// Stock available for sale; for a gift pack, the number of whole packs its
    /// components' stock makes.
    async fn stock(&self, ctx: &Context<'_>) -> Result<StockInfo> {
        let available = if self.0.is_pack {
            crate::graphql::context::load_or_default(
                ctx,
                crate::graphql::loaders::StockOfPack(self.0.id),
            )
            .await?
        } else {
            self.0.stock
        };
        Ok(StockInfo {
            available,
            in_stock: available > 0,
        })
    }
    /// The seasonal promotion lowering the price now, with the compare-at (list) price
    /// and the price a shopper pays; `null` when none runs. Several running: the one
    /// taking the most off. Not cached: a promotion starts and ends by the clock, not by
    /// a change of the catalog.
    #[graphql(cache_control(no_cache))]
    async fn promotion(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::graphql::promotions::ProductPromotion>> {
        use market_core::domain::promotions;
        let running = promotions::running_for(ctx.db(), &[&self.0], ctx.config().now()).await?;
        Ok(promotions::best(
            running.get(&self.0.id).into_iter().flatten(),
            self.0.price_cents,
        )
        .map(|(p, off)| crate::graphql::promotions::ProductPromotion {
            promotion: p.clone(),
            list_cents: self.0.price_cents,
            off_cents: off,
        }))
    }
    /// Whether the product is a gift pack of other products (see `packComponents`).
    async fn is_pack(&self) -> bool {
        self.0.is_pack
    }
    /// A gift pack's products and their units per pack, in product order; empty for a
    /// single product.
    async fn pack_components(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::graphql::packs::PackComponent>> {
        if !self.0.is_pack {
            return Ok(Vec::new());
        }
        Ok(crate::graphql::context::load_or_default(
            ctx,
            crate::graphql::loaders::ComponentsOfPack(self.0.id),
        )
        .await?
        .into_iter()
        .map(crate::graphql::packs::PackComponent)
        .collect())
    }
    /// Whether the product can be ordered today (see `complianceIssues` when it cannot).
    async fn is_sellable(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.issues(ctx).await?.is_empty())
    }
    /// Why the product cannot be sold today (in the request's language); empty when it
    /// can.
    async fn compliance_issues(&self, ctx: &Context<'_>) -> Result<Vec<ComplianceIssue>> {
        let chain = &i18n::language(ctx).chain;
        Ok(self
            .issues(ctx)
            .await?
            .into_iter()
            .map(|issue| ComplianceIssue::new(issue, chain))
            .collect())
    }
    /// Stock level at or below which the product is reported as low; `null` unless the
    /// viewer manages its cooperative.
    #[graphql(cache_control(private))]
    async fn low_stock_threshold(&self, ctx: &Context<'_>) -> Option<i32> {
        ctx.viewer()
            .sees_cooperative_private_details(self.0.cooperative_id)
            .then_some(self.0.low_stock_threshold)
    }
    /// The stock ledger, newest first: every delivery, sale, cancellation, return and
    /// adjustment. Managers and members of the product's cooperative only (`FORBIDDEN`
    /// otherwise).
    #[graphql(cache_control(private))]
    async fn stock_movements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<crate::graphql::portal::StockMovementConnection> {
        ctx.viewer()
            .require_cooperative_manager(self.0.cooperative_id, "read a product's stock ledger")?;
        let args = PageArgs::new(first, after, last, before);
        let movement = |model| crate::graphql::portal::StockMovement {
            model,
            cooperative_id: self.0.cooperative_id,
        };
        let Some(rows) = args.first_page_rows()? else {
            let listing = lists::stock_movements_of_product(ctx.db(), self.0.id, args).await?;
            return Ok(listing_connection(
                listing,
                |m| Cursor::by_id(m.id),
                movement,
            ));
        };
        // A first page, read with those of the other products of a list.
        let (page, fields) = loaded_first_page(
            ctx,
            FirstStockMovementsOfProduct(self.0.id, rows),
            rows,
            StockMovementCountOfProduct(self.0.id),
            {
                let id = self.0.id;
                move || lists::count_stock_movements_of_product(id)
            },
        )
        .await?;
        Ok(connection(page, fields, |m| Cursor::by_id(m.id), movement))
    }
    /// The product's photos, in the cooperative's order (the first is featured).
    async fn images(&self, ctx: &Context<'_>) -> Result<Vec<ProductImage>> {
        Ok(load_or_default(ctx, PhotosOfProduct(self.0.id))
            .await?
            .into_iter()
            .map(ProductImage)
            .collect())
    }
    /// The photo shown first (the first of `images`); `null` when the product has none.
    async fn featured_image(&self, ctx: &Context<'_>) -> Result<Option<ProductImage>> {
        let photos: Vec<_> = load_or_default(ctx, PhotosOfProduct(self.0.id)).await?;
        Ok(photos.into_iter().next().map(ProductImage))
    }
    /// When the product was added to the catalog.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the product was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// How much of a product can be bought now.
#[derive(SimpleObject)]
pub struct StockInfo {
    /// Units available.
    pub available: i32,
    /// Whether at least one unit is available.
    pub in_stock: bool,
}

/// Why a product cannot be sold.
#[derive(Enum, Copy, Clone, PartialEq, Eq)]
#[graphql(remote = "IssueCode")]
pub enum ComplianceIssueCode {
    /// A Terroir (food) product without a valid ONSSA authorization or approval covering it.
    MissingOnssaAuthorization,
    /// A cosmetic product without a valid DMP authorization or ISO 22716 covering it.
    MissingDmpAuthorization,
    /// The required certification covering the product has expired.
    CertificationExpired,
    /// The required certification covering the product was revoked.
    CertificationRevoked,
    /// The required certification covering the product is not valid yet.
    CertificationNotYetValid,
    /// The product's cooperative is suspended.
    CooperativeSuspended,
    /// The product is not active.
    ProductInactive,
}

/// One reason a product cannot be sold.
#[derive(SimpleObject)]
pub struct ComplianceIssue {
    /// Machine-readable reason.
    pub code: ComplianceIssueCode,
    /// Human-readable explanation, in the request's language (English when the chain
    /// has no other).
    pub message: String,
    /// The language of `message`.
    pub language: String,
}

impl ComplianceIssue {
    pub(crate) fn new(issue: compliance::ComplianceIssue, chain: &[String]) -> Self {
        let (message, language) = issue.message_in(chain);
        let language = language.to_owned();
        Self {
            code: issue.code.into(),
            message,
            language,
        }
    }
}

/// Filters of the product list; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct ProductFilterInput {
    /// Words to find, in any language of the catalog, in the product's name, description
    /// or format, its segment, its cooperative (name and presentation), region or
    /// province. Case, accents, French elisions (`d'argan`) and plurals, Arabic
    /// diacritics, hamza forms and the article `ال` do not matter; a word of 5+ letters
    /// may have one typo; the last word may be a prefix (search as you type). Products
    /// matching the most words come first (`RELEVANCE`, the default order when
    /// searching). At most 200 characters.
    pub search: Option<String>,
    /// Only products of this cooperative (an unknown one is `BAD_USER_INPUT`).
    pub cooperative_id: Option<ID>,
    /// Only products of cooperatives of this kind.
    pub kind: Option<CooperativeKind>,
    /// Only products of this segment (its slug; an unknown one is `BAD_USER_INPUT`
    /// listing the segments).
    pub segment: Option<String>,
    /// Only products of cooperatives of this region (its code, `MA-01` … `MA-12`; an
    /// unknown one is `BAD_USER_INPUT` listing the codes).
    pub region: Option<String>,
    /// Only products covered by a valid certification of this type.
    pub certification: Option<CertificationType>,
    /// `true`: only products in stock; `false`: only products out of stock.
    pub in_stock: Option<bool>,
    /// Lowest unit price, in MAD.
    pub price_min: Option<Decimal>,
    /// Highest unit price, in MAD.
    pub price_max: Option<Decimal>,
    /// Also list products that cannot be sold now. Managers only, or members together
    /// with their own `cooperativeId`.
    #[graphql(default = false)]
    pub include_unsellable: bool,
}

impl ProductFilterInput {
    pub(crate) async fn parse(self, ctx: &Context<'_>) -> AppResult<ProductFilter> {
        let price = |value: Option<Decimal>, field: &str| -> AppResult<Option<i64>> {
            value
                .map(|v| {
                    to_centimes(v.0).filter(|c| *c >= 0).ok_or_else(|| {
                        AppError::bad_input(format!(
                            "{field} must be a non-negative amount with at most two decimals"
                        ))
                    })
                })
                .transpose()
        };
        let cooperative_id = self
            .cooperative_id
            .as_ref()
            .map(|id| ids::decode::<i32>(id, NodeType::Cooperative))
            .transpose()?;
        if self.include_unsellable {
            ctx.viewer().require_unsellable_listing(cooperative_id)?;
        }
        if let Some(search) = &self.search {
            input::argument("search", search, input::SEARCH)?;
        }
        dc::check_filter_keys(
            ctx.db(),
            dc::FilterKeys {
                segment: self.segment.as_deref(),
                region: self.region.as_deref(),
                cooperative: cooperative_id.zip(self.cooperative_id.as_ref().map(|id| id.as_str())),
            },
        )
        .await?;
        Ok(ProductFilter {
            search: self.search,
            search_ids: None,
            cooperative_id,
            kind: self.kind.map(Into::into),
            segment_slug: self.segment,
            region_code: self.region,
            certification: self.certification.map(Into::into),
            in_stock: self.in_stock,
            price_min_cents: price(self.price_min, "priceMin")?,
            price_max_cents: price(self.price_max, "priceMax")?,
            include_unsellable: self.include_unsellable,
            low_stock: false,
            sku: None,
        })
    }
}

/// What products can be sorted by.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum ProductSortField {
    /// Best match of `filter.search` first (the default when searching; by name
    /// without a search). `direction` does not apply.
    Relevance,
    /// Alphabetically by name (the default without a search).
    #[default]
    Name,
    /// By unit price.
    Price,
    /// By date added to the catalog, newest first (`DESC` gives oldest first).
    Newest,
}

/// The order of a product list.
#[derive(InputObject, Default, Clone, Copy)]
pub struct ProductSort {
    /// What to sort by.
    #[graphql(default)]
    pub field: ProductSortField,
    /// Which way.
    #[graphql(default)]
    pub direction: SortDirection,
}

impl From<ProductSort> for ProductOrder {
    fn from(sort: ProductSort) -> Self {
        let asc = sort.direction == SortDirection::Asc;
        // Newest first is `created_at` descending.
        let (key, newest) = match sort.field {
            ProductSortField::Name | ProductSortField::Relevance => (ProductSortKey::Name, false),
            ProductSortField::Price => (ProductSortKey::Price, false),
            ProductSortField::Newest => (ProductSortKey::CreatedAt, true),
        };
        ProductOrder {
            key,
            ascending: asc != newest,
        }
    }
}

/// One page of products matching `filter`: by relevance when searching (unless another
/// sort is asked for), else in `sort`'s order.
pub async fn list_products(
    ctx: &Context<'_>,
    mut filter: ProductFilter,
    sort: Option<ProductSort>,
    args: PageArgs,
) -> Result<ProductConnection> {
    let order = ProductOrder::from(sort.unwrap_or_default());
    let (with, _) = planned_relations(ctx);
    let mut ranked = None;
    if let Some(search) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
        let found = ctx.search_index().search(ctx.db(), search).await?;
        filter.search_ids = Some(found.iter().map(|r| r.product_id).collect());
        if sort.is_none_or(|s| s.field == ProductSortField::Relevance) {
            ranked = Some(found);
        }
    }
    let page = match &ranked {
        Some(ranked) => {
            lists::products_by_relevance(ctx.db(), &filter, ctx.today(), ranked, args, with).await?
        }
        None => lists::products_with(ctx.db(), &filter, ctx.today(), order, args, with).await?,
    };
    let scores = page.scores.clone();
    let listing = feed_relations(ctx, page).await?;
    if ranked.is_some() {
        return Ok(listing_connection(
            listing,
            |p| lists::relevance_cursor(p.id, scores.get(&p.id).copied().unwrap_or(0)),
            Product,
        ));
    }
    Ok(listing_connection(listing, |p| order.cursor(p), Product))
}

/// One product (by id or SKU, sellable or not) with the relations its selection asks
/// for, read as a page of one: two statements (the product joined to its cooperative,
/// region and segment; then its cooperative's certifications with their coverage), not a
/// DataLoader round for each relation.
pub async fn one_product(
    ctx: &Context<'_>,
    id: Option<i32>,
    sku: Option<String>,
) -> Result<Option<Product>> {
    let filter = ProductFilter {
        search_ids: id.map(|id| vec![id]),
        sku,
        include_unsellable: true,
        ..Default::default()
    };
    let look = ctx.look_ahead();
    let (with, _) = relations_in(&[look]);
    let page = lists::products_with(
        ctx.db(),
        &filter,
        ctx.today(),
        ProductOrder::from(ProductSort::default()),
        PageArgs::new(Some(1), None, None, None),
        with,
    )
    .await?;
    let listing = feed_relations(ctx, page).await?;
    Ok(listing.page.rows.into_iter().next().map(Product))
}

/// Hands the relations read with a page of products to the request's loaders (and reads
/// the texts of them all in the request's language, in one statement); returns the page.
async fn feed_relations(
    ctx: &Context<'_>,
    page: lists::ProductPage,
) -> Result<Listing<product::Model>> {
    // The page's texts in the request's language, in one statement with those of its
    // cooperatives, regions and segments.
    let subjects: Vec<Subject> = page
        .listing
        .page
        .rows
        .iter()
        .map(|p| Subject::new(SubjectKind::Product, p.id))
        .chain(
            page.cooperatives
                .iter()
                .map(|c| Subject::new(SubjectKind::Cooperative, c.id)),
        )
        .chain(
            page.regions
                .iter()
                .map(|r| Subject::new(SubjectKind::Region, &r.code)),
        )
        .chain(
            page.segments
                .iter()
                .map(|s| Subject::new(SubjectKind::Segment, s.id)),
        )
        .collect();
    i18n::prefetch(ctx, subjects.into_iter()).await?;
    let loaders = ctx.loaders();
    let by_id = |c: cooperative::Model| (CooperativeKey(c.id), c);
    loaders
        .feed_many(page.cooperatives.into_iter().map(by_id))
        .await;
    let by_code = |r: region::Model| (RegionKey(r.code.clone()), r);
    loaders
        .feed_many(page.regions.into_iter().map(by_code))
        .await;
    let by_id = |s: segment::Model| (SegmentKey(s.id), s);
    loaders
        .feed_many(page.segments.into_iter().map(by_id))
        .await;
    let held = page.certifications.into_iter();
    loaders
        .feed_many(held.map(|(coop, certs)| (CertificationsOfCooperative(coop), certs)))
        .await;
    let listing = page.coverage.into_iter();
    loaders
        .feed_many(listing.map(|(p, ids)| (CertificationIdsListingProduct(p), ids)))
        .await;
    Ok(page.listing)
}

/// The first page of a cooperative's products (`filter` names the cooperative), read in
/// one batch with those of the other cooperatives of a list: a page of cooperatives with
/// their products costs the same number of statements whatever its size.
pub(crate) async fn first_products_page(
    ctx: &Context<'_>,
    filter: ProductFilter,
    sort: Option<ProductSort>,
    rows: u64,
) -> Result<ProductConnection> {
    let order = ProductOrder::from(sort.unwrap_or_default());
    let Some(cooperative_id) = filter.cooperative_id else {
        return Err(AppError::Internal("a cooperative's page without cooperative".into()).into());
    };
    let today = ctx.today();
    let page = first_products_key(&filter, order, rows, today);
    let count = ProductCountOfCooperative(
        cooperative_id,
        filter.include_unsellable,
        filter.low_stock,
        today,
    );
    let (page, fields) = loaded_first_page(
        ctx,
        FirstProductsOfCooperative(cooperative_id, page),
        rows,
        count,
        move || lists::count_products(&filter, today),
    )
    .await?;
    prefetch_product_relations(ctx, &page.rows).await?;
    Ok(connection(page, fields, |p| order.cursor(p), Product))
}

/// What identifies a cooperative's first page of products among the pages read together.
fn first_products_key(
    filter: &ProductFilter,
    order: ProductOrder,
    rows: u64,
    today: chrono::NaiveDate,
) -> FirstProducts {
    FirstProducts {
        include_unsellable: filter.include_unsellable,
        low_stock: filter.low_stock,
        sort: order.key,
        ascending: order.ascending,
        rows,
        today,
    }
}

/// Reads, before the cooperatives' fields run, the first page of products of each of
/// `cooperatives` that the selection asks for under `products` (its arguments taken from
/// the selection), in one statement per kind of page, and hands them to the loaders: a
/// page of cooperatives with their products costs two statements, and no batch round.
/// Anything else (a later page, the same field asked twice with different arguments) is
/// left to the fields themselves.
pub(crate) async fn prefetch_first_products(
    ctx: &Context<'_>,
    selection: async_graphql::Lookahead<'_>,
    cooperatives: &[cooperative::Model],
) -> Result<()> {
    let fields = selection.selection_fields();
    let [field] = fields.as_slice() else {
        return Ok(());
    };
    let (mut first, mut after, mut last, mut before, mut sort) = (None, None, None, None, None);
    // Arguments that do not parse are left for the field itself to report.
    let Ok(arguments) = field.arguments() else {
        return Ok(());
    };
    for (name, value) in arguments {
        let int = |value| i32::parse(Some(value)).ok();
        let text = |value| Option::<String>::parse(Some(value)).ok().flatten();
        match name.as_str() {
            "first" => first = int(value),
            "last" => last = int(value),
            "after" => after = text(value),
            "before" => before = text(value),
            "sort" => sort = Option::<ProductSort>::parse(Some(value)).ok().flatten(),
            _ => return Ok(()),
        }
    }
    let args = PageArgs::new(first, after, last, before);
    let Ok(Some(rows)) = args.first_page_rows() else {
        return Ok(());
    };
    let order = ProductOrder::from(sort.unwrap_or_default());
    let today = ctx.today();
    let viewer = ctx.viewer();
    let mut pages: HashMap<FirstProducts, Vec<i32>> = HashMap::new();
    for coop in cooperatives {
        let filter = ProductFilter {
            cooperative_id: Some(coop.id),
            include_unsellable: viewer.sees_unsellable_products_of(coop.id),
            ..Default::default()
        };
        let key = first_products_key(&filter, order, rows, today);
        pages.entry(key).or_default().push(coop.id);
    }
    let loaders = ctx.loaders();
    let mut texts = Vec::new();
    for (page, ids) in pages {
        let mut found: HashMap<i32, Vec<product::Model>> =
            ids.iter().map(|id| (*id, Vec::new())).collect();
        let read = reads::first_products_of_cooperatives(ctx.db(), ids, page)
            .await
            .map_err(AppError::from)?;
        texts.extend(
            read.iter()
                .map(|p| Subject::new(SubjectKind::Product, p.id)),
        );
        for row in read {
            found.entry(row.cooperative_id).or_default().push(row);
        }
        loaders
            .feed_many(
                found
                    .into_iter()
                    .map(|(id, rows)| (FirstProductsOfCooperative(id, page), rows)),
            )
            .await;
    }
    // Their names in the request's language, in one statement.
    if !i18n::in_base_language(ctx) && !texts.is_empty() {
        i18n::prefetch(ctx, texts.into_iter()).await?;
    }
    Ok(())
}

/// The relations of a page of products that the selection asks for, directly or to judge
/// sellability; and whether it needs the products' own coverage (which certifications
/// list them).
fn planned_relations(ctx: &Context<'_>) -> (ProductRelations, bool) {
    let look = ctx.look_ahead();
    relations_in(&[look.field("edges").field("node"), look.field("nodes")])
}

/// [`planned_relations`] of the products selected by `products`.
fn relations_in(products: &[async_graphql::Lookahead<'_>]) -> (ProductRelations, bool) {
    let wants = |field: &str| products.iter().any(|p| p.field(field).exists());
    let wants_in_coop = |field: &str| {
        products
            .iter()
            .any(|p| p.field("cooperative").field(field).exists())
    };
    let compliance = wants("isSellable") || wants("complianceIssues");
    let relations = ProductRelations {
        cooperative: wants("cooperative") || compliance,
        region: wants_in_coop("region"),
        segment: wants("segment"),
        certifications: wants("certifications") || compliance || wants_in_coop("certifications"),
    };
    (relations, wants("certifications") || compliance)
}

/// Loads, in one batch each, the relations the selection will ask of a page of products,
/// so the page costs the same number of statements whatever its size. (Left to
/// themselves, the fields of a long page reach the DataLoader in several waves.)
pub(crate) async fn prefetch_product_relations(
    ctx: &Context<'_>,
    rows: &[product::Model],
) -> AppResult<()> {
    let (wants, coverage) = planned_relations(ctx);
    let loaders = ctx.loaders();
    let coop_ids = || rows.iter().map(|p| CooperativeKey(p.cooperative_id));
    let coops = async {
        if wants.cooperative {
            let coops = loaders.load_many(coop_ids()).await?;
            if wants.region {
                loaders
                    .load_many(coops.values().map(|c| RegionKey(c.region_code.clone())))
                    .await?;
            }
        }
        Ok::<_, LoadError>(())
    };
    let segments = async {
        if wants.segment {
            loaders
                .load_many(rows.iter().map(|p| SegmentKey(p.segment_id)))
                .await?;
        }
        Ok(())
    };
    let certifications = async {
        if wants.certifications {
            loaders
                .load_many(
                    rows.iter()
                        .map(|p| CertificationsOfCooperative(p.cooperative_id)),
                )
                .await?;
        }
        if coverage {
            loaders
                .load_many(rows.iter().map(|p| CertificationIdsListingProduct(p.id)))
                .await?;
        }
        Ok(())
    };
    futures::try_join!(coops, segments, certifications)?;
    // The texts of the page and of the relations just read, in one statement.
    if !i18n::in_base_language(ctx) {
        let mut subjects: Vec<Subject> = rows
            .iter()
            .map(|p| Subject::new(SubjectKind::Product, p.id))
            .collect();
        if wants.segment {
            subjects.extend(
                rows.iter()
                    .map(|p| Subject::new(SubjectKind::Segment, p.segment_id)),
            );
        }
        if wants.cooperative {
            let coops = loaders.load_many(coop_ids()).await?;
            subjects.extend(coops.values().flat_map(|c| {
                [
                    Subject::new(SubjectKind::Cooperative, c.id),
                    Subject::new(SubjectKind::Region, &c.region_code),
                ]
            }));
        }
        i18n::prefetch(ctx, subjects.into_iter()).await?;
    }
    Ok(())
}

crate::connection_types!(ProductConnection, ProductEdge, Product, "products");
