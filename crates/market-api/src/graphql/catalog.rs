//! The public catalog: products, cooperatives, segments, regions and certifications.

use crate::error::Result;
use crate::error::{AppError, AppResult};
use crate::graphql::context::{ContextExt, load_required};
use crate::graphql::enums::{CertificationType, CooperativeKind, CooperativeStatus, SortDirection};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::{
    CertificationIdsListingProduct, CertificationsOfCooperative, CooperativeKey,
    FirstProductsOfCooperative, LoadError, ProductCountOfCooperative,
    ProductsListedByCertification, ProvinceKey, ProvincesOfRegion, RegionKey, SegmentKey,
};
use crate::graphql::money::{Money, to_centimes};
use crate::graphql::pagination::{
    ConnectionFields, Cursor, Page, PageArgs, connection, listing_connection,
};
use crate::graphql::scalars::{Date, Decimal};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use market_core::domain::catalog::{self as dc, CooperativeFilter, ProductFilter};
use market_core::domain::compliance::{self, IssueCode};
use market_core::domain::input;
use market_core::domain::lists::{self, CooperativeOrder, CooperativeSortKey, ProductOrder};
use market_core::domain::reads::{self, FirstProducts, ProductSortKey};
use market_core::models::{certification, cooperative, product, region, segment};

/// A product for sale: one format of one cooperative's product ("250 g jar").
pub struct Product(pub product::Model);

impl Product {
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
    /// Name shown to shoppers.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Longer description.
    async fn description(&self) -> &str {
        &self.0.description
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
    /// Stock available for sale.
    async fn stock(&self) -> StockInfo {
        StockInfo {
            available: self.0.stock,
            in_stock: self.0.stock > 0,
        }
    }
    /// Whether the product can be ordered today (see `complianceIssues` when it cannot).
    async fn is_sellable(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.issues(ctx).await?.is_empty())
    }
    /// Why the product cannot be sold today; empty when it can.
    async fn compliance_issues(&self, ctx: &Context<'_>) -> Result<Vec<ComplianceIssue>> {
        Ok(self
            .issues(ctx)
            .await?
            .into_iter()
            .map(ComplianceIssue::from)
            .collect())
    }
    /// Stock level at or below which the product is reported as low; `null` unless the
    /// viewer manages its cooperative.
    #[graphql(cache_control(private))]
    async fn low_stock_threshold(&self, ctx: &Context<'_>) -> Option<i32> {
        ctx.viewer()
            .manages_cooperative(self.0.cooperative_id)
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
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let listing = lists::stock_movements_of_product(ctx.db(), self.0.id, args).await?;
        Ok(listing_connection(
            listing,
            |m| Cursor::by_id(m.id),
            |model| crate::graphql::portal::StockMovement {
                model,
                cooperative_id: self.0.cooperative_id,
            },
        ))
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
    /// Human-readable explanation.
    pub message: String,
}

impl From<compliance::ComplianceIssue> for ComplianceIssue {
    fn from(issue: compliance::ComplianceIssue) -> Self {
        Self {
            code: issue.code.into(),
            message: issue.message,
        }
    }
}

/// A producers' cooperative listed by the market.
pub struct Cooperative(pub cooperative::Model);

/// A producers' cooperative listed by the market.
#[Object]
impl Cooperative {
    /// Global ID of the cooperative.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Cooperative, self.0.id)
    }
    /// URL-friendly unique name.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name of the cooperative.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Presentation of the cooperative.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Terroir, cosmetics or handicrafts.
    async fn kind(&self) -> CooperativeKind {
        self.0.kind.into()
    }
    /// The region the cooperative is based in.
    async fn region(&self, ctx: &Context<'_>) -> Result<Region> {
        Ok(Region(
            load_required(ctx, RegionKey(self.0.region_code.clone()), "region").await?,
        ))
    }
    /// The province or prefecture the cooperative is based in.
    async fn province(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(id) = self.0.province_id else {
            return Ok(None);
        };
        let row = ctx
            .loaders()
            .load_one(ProvinceKey(id))
            .await
            .map_err(AppError::from)?;
        Ok(row.map(|p| p.name))
    }
    /// When the cooperative was founded.
    async fn founded_on(&self) -> Option<Date> {
        self.0.founded_on.map(Date)
    }
    /// Number of members.
    async fn member_count(&self) -> i32 {
        self.0.member_count
    }
    /// Whether the cooperative is led by women.
    async fn women_led(&self) -> bool {
        self.0.women_led
    }
    /// Whether the cooperative is led by young people.
    async fn youth_led(&self) -> bool {
        self.0.youth_led
    }
    /// When the cooperative joined the market.
    async fn listed_since(&self) -> Date {
        Date(self.0.listed_since)
    }
    /// Incubated, listed or suspended.
    async fn status(&self) -> CooperativeStatus {
        self.0.status.into()
    }
    /// Contact e-mail; `null` unless the viewer is a manager or a member of this cooperative.
    #[graphql(cache_control(private))]
    async fn contact_email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.0.contact_email.as_deref())
    }
    /// Contact phone; `null` unless the viewer is a manager or a member of this cooperative.
    #[graphql(cache_control(private))]
    async fn contact_phone(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.0.contact_phone.as_deref())
    }
    /// Bank account (RIB) payouts are sent to; `null` unless the viewer is a manager or a
    /// member of this cooperative.
    #[graphql(cache_control(private))]
    async fn payout_account(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.0.payout_account.as_deref())
    }
    /// Commission the market keeps on sales, as a fraction ("0.15" = 15 %); `null` unless
    /// the viewer is a manager or a member of this cooperative.
    #[graphql(cache_control(private))]
    async fn commission_rate(&self, ctx: &Context<'_>) -> Option<Decimal> {
        ctx.viewer().manages_cooperative(self.0.id).then(|| {
            Decimal(rust_decimal::Decimal::new(
                market_core::domain::cooperatives::commission_bp(&self.0).into(),
                4,
            ))
        })
    }
    /// Products at or below their low-stock threshold, sellable or not. Managers and
    /// members of this cooperative only (`FORBIDDEN` otherwise).
    #[graphql(cache_control(private))]
    async fn low_stock_products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ProductConnection> {
        ctx.viewer()
            .require_cooperative_manager(self.0.id, "list its low-stock products")?;
        let filter = ProductFilter {
            cooperative_id: Some(self.0.id),
            include_unsellable: true,
            low_stock: true,
            ..Default::default()
        };
        let sort = ProductSort {
            field: ProductSortField::Name,
            direction: SortDirection::Asc,
        };
        list_products(
            ctx,
            filter,
            Some(sort),
            PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await
    }
    /// The cooperative's products, sellable ones only unless the viewer manages it.
    #[allow(clippy::too_many_arguments)] // the four Relay arguments, filter and sort
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        sort: Option<ProductSort>,
    ) -> Result<ProductConnection> {
        let filter = ProductFilter {
            cooperative_id: Some(self.0.id),
            include_unsellable: ctx.viewer().manages_cooperative(self.0.id),
            ..Default::default()
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        match args.first_page_rows()? {
            Some(rows) => first_products_page(ctx, filter, sort, rows).await,
            None => list_products(ctx, filter, sort, args).await,
        }
    }
    /// Certifications held by the cooperative. By default only those valid today;
    /// `includeInvalid` adds expired, revoked and not-yet-valid ones. Certifications are
    /// public labels, so anyone may list them (only `revokedReason` is private).
    async fn certifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] include_invalid: bool,
    ) -> Result<Vec<Certification>> {
        let today = ctx.today();
        let all = ctx
            .loaders()
            .load_one(CertificationsOfCooperative(self.0.id))
            .await
            .map_err(AppError::from)?
            .unwrap_or_default();
        Ok(all
            .into_iter()
            .filter(|c| include_invalid || compliance::is_valid(c, today))
            .map(Certification)
            .collect())
    }
}

impl Cooperative {
    fn private<'a>(&self, ctx: &Context<'_>, value: Option<&'a str>) -> Option<&'a str> {
        value.filter(|_| ctx.viewer().manages_cooperative(self.0.id))
    }
}

/// A product category (olive oil, spices, pottery…), belonging to one cooperative kind.
pub struct Segment(pub segment::Model);

/// A product category (olive oil, spices, pottery…), belonging to one cooperative kind.
#[Object]
impl Segment {
    /// Global ID of the segment.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Segment, self.0.id)
    }
    /// URL-friendly unique name, usable in product filters.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name of the segment.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The kind of cooperative whose products fall in this segment.
    async fn kind(&self) -> CooperativeKind {
        self.0.kind.into()
    }
}

/// One of the twelve regions of Morocco.
pub struct Region(pub region::Model);

/// One of the twelve regions of Morocco.
#[Object]
impl Region {
    /// Global ID of the region.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Region, &self.0.code)
    }
    /// Stable code (ISO 3166-2, e.g. "MA-03" for Fès–Meknès), usable in filters.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Name of the region.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Provinces and prefectures of the region.
    async fn provinces(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let rows = ctx
            .loaders()
            .load_one(ProvincesOfRegion(self.0.code.clone()))
            .await
            .map_err(AppError::from)?
            .unwrap_or_default();
        Ok(rows.into_iter().map(|p| p.name).collect())
    }
    /// How many cooperatives of the region are listed by the market.
    async fn listed_cooperative_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let count = ctx
            .loaders()
            .load_one(crate::graphql::loaders::ListedCooperativesInRegion(
                self.0.code.clone(),
            ))
            .await
            .map_err(AppError::from)?;
        Ok(count.unwrap_or(0))
    }
}

/// A certification or label held by a cooperative.
pub struct Certification(pub certification::Model);

/// A certification or label held by a cooperative.
#[Object]
impl Certification {
    /// Global ID of the certification.
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Certification, self.0.id)
    }
    /// Type of certification.
    #[graphql(name = "type")]
    async fn certification_type(&self) -> CertificationType {
        self.0.r#type.into()
    }
    /// Number on the certificate.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// Who issued it (ONSSA, DMP, a certification body…).
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    /// Date it took effect.
    async fn issued_on(&self) -> Date {
        Date(self.0.issued_on)
    }
    /// Last day it is valid; `null` when it does not expire.
    async fn expires_on(&self) -> Option<Date> {
        self.0.expires_on.map(Date)
    }
    /// Whether it covers every product of the cooperative, present and future (otherwise
    /// only those in `products`).
    async fn covers_all_products(&self) -> bool {
        self.0.covers_all_products
    }
    /// The products a list coverage names, by name; empty when `coversAllProducts` (it
    /// then covers every product of the cooperative).
    async fn products(&self, ctx: &Context<'_>) -> Result<Vec<Product>> {
        if self.0.covers_all_products {
            return Ok(Vec::new());
        }
        let listed = ctx
            .loaders()
            .load_one(ProductsListedByCertification(self.0.id))
            .await
            .map_err(AppError::from)?;
        Ok(listed
            .unwrap_or_default()
            .into_iter()
            .map(Product)
            .collect())
    }
    /// When it was revoked, if it was.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Why it was revoked; `null` unless the viewer is a manager or a member of the
    /// holding cooperative (that it was revoked is public, the reason is not).
    #[graphql(cache_control(private))]
    async fn revoked_reason(&self, ctx: &Context<'_>) -> Option<&str> {
        self.0
            .revoked_reason
            .as_deref()
            .filter(|_| ctx.viewer().manages_cooperative(self.0.cooperative_id))
    }
    /// Whether it is in force today in the market's time zone: issued, not revoked, not expired.
    async fn is_valid(&self, ctx: &Context<'_>) -> bool {
        compliance::is_valid(&self.0, ctx.today())
    }
    /// The cooperative holding it.
    async fn cooperative(&self, ctx: &Context<'_>) -> Result<Cooperative> {
        Ok(Cooperative(
            load_required(ctx, CooperativeKey(self.0.cooperative_id), "cooperative").await?,
        ))
    }
}

/// Filters of the product list; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct ProductFilterInput {
    /// Words to find in the product's name, format or description or its cooperative's
    /// name; case- and accent-insensitive ("fes" finds "Fès"). At most 200 characters.
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
    async fn parse(self, ctx: &Context<'_>) -> AppResult<ProductFilter> {
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
        })
    }
}

/// What products can be sorted by.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum ProductSortField {
    /// Alphabetically by name.
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
        match sort.field {
            ProductSortField::Name => ProductOrder {
                key: ProductSortKey::Name,
                ascending: asc,
            },
            ProductSortField::Price => ProductOrder {
                key: ProductSortKey::Price,
                ascending: asc,
            },
            // Newest first is `created_at` descending.
            ProductSortField::Newest => ProductOrder {
                key: ProductSortKey::CreatedAt,
                ascending: !asc,
            },
        }
    }
}

/// One page of products matching `filter`.
pub async fn list_products(
    ctx: &Context<'_>,
    filter: ProductFilter,
    sort: Option<ProductSort>,
    args: PageArgs,
) -> Result<ProductConnection> {
    let order = ProductOrder::from(sort.unwrap_or_default());
    let listing = lists::products(ctx.db(), &filter, ctx.today(), order, args).await?;
    prefetch_product_relations(ctx, &listing.page.rows).await?;
    Ok(listing_connection(listing, |p| order.cursor(p), Product))
}

/// The first page of a cooperative's products (`filter` names the cooperative), read in
/// one batch with those of the other cooperatives of a list: a page of cooperatives with
/// their products costs the same number of statements whatever its size.
async fn first_products_page(
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
    let page = FirstProducts {
        include_unsellable: filter.include_unsellable,
        sort: order.key,
        ascending: order.ascending,
        rows,
        today,
    };
    let loaders = ctx.loaders();
    let mut products = loaders
        .load_one(FirstProductsOfCooperative(cooperative_id, page))
        .await
        .map_err(AppError::from)?
        .unwrap_or_default();
    let has_next = products.len() as u64 >= rows;
    products.truncate(rows.saturating_sub(1) as usize);
    let fields = if ctx.look_ahead().field("totalCount").exists() {
        let key = ProductCountOfCooperative(cooperative_id, filter.include_unsellable, today);
        ConnectionFields::known(
            loaders
                .load_one(key)
                .await
                .map_err(AppError::from)?
                .unwrap_or(0),
        )
    } else {
        lists::count_products(&filter, today).into()
    };
    prefetch_product_relations(ctx, &products).await?;
    let page = Page {
        rows: products,
        has_previous: false,
        has_next,
    };
    Ok(connection(page, fields, |p| order.cursor(p), Product))
}

/// Loads, in one batch each, the relations the selection will ask of a page of products,
/// so the page costs the same number of statements whatever its size. (Left to
/// themselves, the fields of a long page reach the DataLoader in several waves.)
async fn prefetch_product_relations(ctx: &Context<'_>, rows: &[product::Model]) -> AppResult<()> {
    let look = ctx.look_ahead();
    let (edge_node, node) = (look.field("edges").field("node"), look.field("nodes"));
    let wants = |field: &str| edge_node.field(field).exists() || node.field(field).exists();
    let wants_in_coop = |field: &str| {
        edge_node.field("cooperative").field(field).exists()
            || node.field("cooperative").field(field).exists()
    };
    let compliance = wants("isSellable") || wants("complianceIssues");
    let loaders = ctx.loaders();
    let coop_ids = || rows.iter().map(|p| CooperativeKey(p.cooperative_id));
    let coops = async {
        if wants("cooperative") || compliance {
            let coops = loaders.load_many(coop_ids()).await?;
            if wants_in_coop("region") {
                loaders
                    .load_many(coops.values().map(|c| RegionKey(c.region_code.clone())))
                    .await?;
            }
        }
        Ok::<_, LoadError>(())
    };
    let segments = async {
        if wants("segment") {
            loaders
                .load_many(rows.iter().map(|p| SegmentKey(p.segment_id)))
                .await?;
        }
        Ok(())
    };
    let certifications = async {
        if wants("certifications") || compliance || wants_in_coop("certifications") {
            loaders
                .load_many(
                    rows.iter()
                        .map(|p| CertificationsOfCooperative(p.cooperative_id)),
                )
                .await?;
        }
        if wants("certifications") || compliance {
            loaders
                .load_many(rows.iter().map(|p| CertificationIdsListingProduct(p.id)))
                .await?;
        }
        Ok(())
    };
    futures::try_join!(coops, segments, certifications)?;
    Ok(())
}

/// Filters of the cooperative list; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct CooperativeFilterInput {
    /// Only cooperatives of this kind.
    pub kind: Option<CooperativeKind>,
    /// Only cooperatives of this region (its code, `MA-01` … `MA-12`; an unknown one is
    /// `BAD_USER_INPUT` listing the codes).
    pub region: Option<String>,
    /// Only cooperatives in this status.
    pub status: Option<CooperativeStatus>,
    /// Words to find in the name; case- and accent-insensitive. At most 200 characters.
    pub search: Option<String>,
}

/// What cooperatives can be sorted by.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum CooperativeSortField {
    /// Alphabetically by name.
    #[default]
    Name,
    /// By the date they joined the market, most recent first (`DESC` gives earliest first).
    Newest,
}

/// The order of a cooperative list.
#[derive(InputObject, Default, Clone, Copy)]
pub struct CooperativeSort {
    /// What to sort by.
    #[graphql(default)]
    pub field: CooperativeSortField,
    /// Which way.
    #[graphql(default)]
    pub direction: SortDirection,
}

/// Catalog queries of the storefront.
#[derive(Default)]
pub struct CatalogQuery;

/// Catalog queries of the storefront.
#[Object]
impl CatalogQuery {
    /// Products of the catalog. Only sellable products are listed unless
    /// `filter.includeUnsellable` is set by someone allowed to.
    #[allow(clippy::too_many_arguments)] // the four Relay arguments, filter and sort
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ProductFilterInput>,
        sort: Option<ProductSort>,
    ) -> Result<ProductConnection> {
        let filter = filter.unwrap_or_default().parse(ctx).await?;
        list_products(
            ctx,
            filter,
            sort,
            PageArgs {
                first,
                after,
                last,
                before,
            },
        )
        .await
    }

    /// One product by global ID or by SKU (exactly one of them). Unsellable products are
    /// returned too, with `isSellable: false`.
    async fn product(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        sku: Option<String>,
    ) -> Result<Option<Product>> {
        let row = match (id, sku) {
            (Some(id), None) => {
                reads::product(ctx.db(), ids::decode::<i32>(&id, NodeType::Product)?).await
            }
            (None, Some(sku)) => {
                input::argument("sku", &sku, input::KEY)?;
                reads::product_by_sku(ctx.db(), &sku).await
            }
            _ => return Err(AppError::bad_input("give exactly one of `id` and `sku`").into()),
        };
        Ok(row.map_err(AppError::from)?.map(Product))
    }

    /// Cooperatives listed by the market.
    #[allow(clippy::too_many_arguments)] // the four Relay arguments, filter and sort
    async fn cooperatives(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CooperativeFilterInput>,
        sort: Option<CooperativeSort>,
    ) -> Result<CooperativeConnection> {
        let f = filter.unwrap_or_default();
        if let Some(search) = &f.search {
            input::argument("search", search, input::SEARCH)?;
        }
        dc::check_filter_keys(
            ctx.db(),
            dc::FilterKeys {
                region: f.region.as_deref(),
                ..Default::default()
            },
        )
        .await?;
        let filter = CooperativeFilter {
            kind: f.kind.map(Into::into),
            region_code: f.region,
            status: f.status.map(Into::into),
            search: f.search,
        };
        let sort = sort.unwrap_or_default();
        let asc = sort.direction == SortDirection::Asc;
        let order = match sort.field {
            CooperativeSortField::Name => CooperativeOrder {
                key: CooperativeSortKey::Name,
                ascending: asc,
            },
            // Newest first is `listed_since` descending.
            CooperativeSortField::Newest => CooperativeOrder {
                key: CooperativeSortKey::ListedSince,
                ascending: !asc,
            },
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let listing = lists::cooperatives(ctx.db(), &filter, order, args).await?;
        Ok(listing_connection(
            listing,
            |c| order.cursor(c),
            Cooperative,
        ))
    }

    /// One cooperative by global ID or by slug (exactly one of them).
    async fn cooperative(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> Result<Option<Cooperative>> {
        let row = match (id, slug) {
            (Some(id), None) => {
                reads::cooperative(ctx.db(), ids::decode::<i32>(&id, NodeType::Cooperative)?).await
            }
            (None, Some(slug)) => {
                input::argument("slug", &slug, input::KEY)?;
                reads::cooperative_by_slug(ctx.db(), &slug).await
            }
            _ => return Err(AppError::bad_input("give exactly one of `id` and `slug`").into()),
        };
        Ok(row.map_err(AppError::from)?.map(Cooperative))
    }

    /// Product segments, optionally of one kind, in catalog order.
    async fn segments(
        &self,
        ctx: &Context<'_>,
        kind: Option<CooperativeKind>,
    ) -> Result<Vec<Segment>> {
        let rows = reads::all_segments(ctx.db(), kind.map(Into::into))
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(Segment).collect())
    }

    /// The twelve regions of Morocco.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        let rows = reads::all_regions(ctx.db()).await.map_err(AppError::from)?;
        Ok(rows.into_iter().map(Region).collect())
    }
}

crate::connection_types!(ProductConnection, ProductEdge, Product, "products");
crate::connection_types!(
    CooperativeConnection,
    CooperativeEdge,
    Cooperative,
    "cooperatives"
);
