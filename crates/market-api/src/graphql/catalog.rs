//! The catalog queries of the storefront: products, cooperatives, segments and regions
//! (their types live in `product.rs`, `cooperative.rs`, `segment.rs` and `region.rs`).

use crate::error::AppError;
use crate::error::Result;
use crate::graphql::context::ContextExt;
use crate::graphql::cooperative::{
    Cooperative, CooperativeConnection, CooperativeFilterInput, CooperativeSort,
    CooperativeSortField,
};
use crate::graphql::enums::{CooperativeKind, SortDirection};
use crate::graphql::ids::{self, NodeType};
use crate::graphql::loaders::RegionKey;
use crate::graphql::pagination::{PageArgs, listing_connection};
use crate::graphql::product::{
    Product, ProductConnection, ProductFilterInput, ProductSort, list_products, one_product,
    prefetch_first_products,
};
use crate::graphql::region::Region;
use crate::graphql::segment::Segment;
use async_graphql::{Context, ID, Object};
use market_core::domain::catalog::{self as dc, CooperativeFilter};
use market_core::domain::input;
use market_core::domain::lists::{self, CooperativeOrder, CooperativeSortKey};
use market_core::domain::reads;
use market_core::domain::translations::{Subject, SubjectKind};
use market_core::models::region;

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
        list_products(ctx, filter, sort, PageArgs::new(first, after, last, before)).await
    }

    /// One product by global ID or by SKU (exactly one of them). Unsellable products are
    /// returned too, with `isSellable: false`.
    async fn product(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        sku: Option<String>,
    ) -> Result<Option<Product>> {
        match named(id, NodeType::Product, "sku", sku)? {
            Named::Id(id) => one_product(ctx, Some(id), None).await,
            Named::Key(sku) => one_product(ctx, None, Some(sku)).await,
        }
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
        // Newest first is `listed_since` descending.
        let (key, newest) = match sort.field {
            CooperativeSortField::Name => (CooperativeSortKey::Name, false),
            CooperativeSortField::Newest => (CooperativeSortKey::ListedSince, true),
        };
        let order = CooperativeOrder {
            key,
            ascending: asc != newest,
        };
        let args = PageArgs::new(first, after, last, before);
        // Planned from the selection: the regions joined to the page, then the first page
        // of products of every cooperative in one statement.
        let look = ctx.look_ahead();
        let (edge_node, node) = (look.field("edges").field("node"), look.field("nodes"));
        let with_region = edge_node.field("region").exists() || node.field("region").exists();
        let page = lists::cooperatives_with(ctx.db(), &filter, order, args, with_region).await?;
        let by_code = |r: region::Model| (RegionKey(r.code.clone()), r);
        ctx.loaders()
            .feed_many(page.regions.into_iter().map(by_code))
            .await;
        // The page's names and their regions' in the request's language, in one batch.
        crate::graphql::i18n::prefetch(
            ctx,
            page.listing.page.rows.iter().flat_map(|c| {
                [
                    Subject::new(SubjectKind::Cooperative, c.id),
                    Subject::new(SubjectKind::Region, &c.region_code),
                ]
            }),
        )
        .await?;
        for selection in [edge_node, node] {
            let products = selection.field("products");
            if products.exists() {
                prefetch_first_products(ctx, products, &page.listing.page.rows).await?;
            }
        }
        Ok(listing_connection(
            page.listing,
            |c| order.cursor(c),
            Cooperative,
        ))
    }

    /// Completions for the storefront's search box: the names, in the request's
    /// language, of the sellable products that what the shopper typed so far finds (its
    /// last word as a prefix), best first, each name once. `first`: 1 to 50.
    async fn search_suggestions(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<String>> {
        input::argument("prefix", &prefix, input::SEARCH)?;
        if !(1..=50).contains(&first) {
            return Err(AppError::bad_input(format!("`first` is 1 to 50, not {first}")).into());
        }
        if prefix.trim().is_empty() {
            return Ok(Vec::new());
        }
        let index = ctx.search_index();
        let ranked = index.search(ctx.db(), &prefix).await?;
        let filter = dc::ProductFilter {
            search_ids: Some(ranked.iter().map(|r| r.product_id).collect()),
            ..Default::default()
        };
        let kept = lists::product_ids(ctx.db(), &filter, ctx.today()).await?;
        let ids: Vec<i32> = ranked
            .iter()
            .map(|r| r.product_id)
            .filter(|id| kept.contains(id))
            .collect();
        let chain = &crate::graphql::i18n::language(ctx).chain;
        Ok(index.names(ctx.db(), &ids, chain, first as usize).await?)
    }

    /// One cooperative by global ID or by slug (exactly one of them).
    async fn cooperative(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> Result<Option<Cooperative>> {
        let row = match named(id, NodeType::Cooperative, "slug", slug)? {
            Named::Id(id) => reads::cooperative(ctx.db(), id).await,
            Named::Key(slug) => reads::cooperative_by_slug(ctx.db(), &slug).await,
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

/// How a client named the one thing it asks for.
enum Named {
    Id(i32),
    Key(String),
}

/// The thing named by exactly one of a global ID of type `node` or a unique key (the
/// argument `key_name`, checked like every key).
fn named(
    id: Option<ID>,
    node: NodeType,
    key_name: &str,
    key: Option<String>,
) -> Result<Named, AppError> {
    match (id, key) {
        (Some(id), None) => Ok(Named::Id(ids::decode::<i32>(&id, node)?)),
        (None, Some(key)) => {
            input::argument(key_name, &key, input::KEY)?;
            Ok(Named::Key(key))
        }
        _ => Err(AppError::bad_input(format!(
            "give exactly one of `id` and `{key_name}`"
        ))),
    }
}
