//! The paged lists the API serves: each list's query (from `catalog`'s filters and the
//! viewer's scope), its order, and its cursors. One page is one indexed range scan; the
//! count of the whole list runs only when asked for (`page::TotalCount`).

use crate::domain::catalog::{self, CooperativeFilter, ProductFilter};
use crate::domain::orders::{OrderFilter, OrderScope};
use crate::domain::payouts::{self, SettledLine, StatementFilter, StatementScope};
use crate::domain::reads::ProductSortKey;
use crate::entities::{
    certification, certification_product, cooperative, order, order_line, payout_statement,
    product, region, segment, stock_movement,
};
use crate::error::AppResult;
use crate::page::{self, Cursor, KeyKind, Listing, Ordering, PageArgs, SortValue, TotalCount};
use chrono::{NaiveDate, SecondsFormat};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    JoinType, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait, RelationTrait, Select,
};
use std::collections::{BTreeSet, HashMap};

/// The order of a product list: a key, then the id the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductOrder {
    pub key: ProductSortKey,
    pub ascending: bool,
}

impl ProductOrder {
    fn ordering(self) -> Ordering<product::Column> {
        let (column, kind) = match self.key {
            ProductSortKey::Name => (product::Column::Name, KeyKind::Text),
            ProductSortKey::Price => (product::Column::PriceCents, KeyKind::Int),
            ProductSortKey::CreatedAt => (product::Column::CreatedAt, KeyKind::Time),
        };
        Ordering {
            key: Some((column, kind)),
            id: product::Column::Id,
            ascending: self.ascending,
        }
    }

    /// The cursor of `p` in this order.
    pub fn cursor(self, p: &product::Model) -> Cursor {
        let key = match self.key {
            ProductSortKey::Name => SortValue::Text(p.name.clone()),
            ProductSortKey::Price => SortValue::Int(p.price_cents),
            ProductSortKey::CreatedAt => {
                SortValue::Text(p.created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            }
        };
        Cursor {
            key,
            id: p.id.into(),
        }
    }
}

/// One page of the products matching `filter` (sellability judged on `today`).
pub async fn products(
    db: &impl ConnectionTrait,
    filter: &ProductFilter,
    today: NaiveDate,
    order: ProductOrder,
    args: PageArgs,
) -> AppResult<Listing<product::Model>> {
    let select = catalog::products_query(filter, today);
    page::list(db, select, &order.ordering(), args).await
}

/// The count of the products matching `filter`, run when asked for.
pub fn count_products(filter: &ProductFilter, today: NaiveDate) -> TotalCount {
    TotalCount::of(&catalog::products_query(filter, today))
}

/// What a cooperative list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CooperativeSortKey {
    Name,
    ListedSince,
}

/// The order of a cooperative list: a key, then the id the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CooperativeOrder {
    pub key: CooperativeSortKey,
    pub ascending: bool,
}

impl CooperativeOrder {
    /// The cursor of `c` in this order.
    pub fn cursor(self, c: &cooperative::Model) -> Cursor {
        let key = match self.key {
            CooperativeSortKey::Name => SortValue::Text(c.name.clone()),
            CooperativeSortKey::ListedSince => SortValue::Text(c.listed_since.to_string()),
        };
        Cursor {
            key,
            id: c.id.into(),
        }
    }
}

/// One page of the cooperatives matching `filter`.
pub async fn cooperatives(
    db: &impl ConnectionTrait,
    filter: &CooperativeFilter,
    order: CooperativeOrder,
    args: PageArgs,
) -> AppResult<Listing<cooperative::Model>> {
    let key = match order.key {
        CooperativeSortKey::Name => (cooperative::Column::Name, KeyKind::Text),
        CooperativeSortKey::ListedSince => (cooperative::Column::ListedSince, KeyKind::Date),
    };
    let ordering = Ordering {
        key: Some(key),
        id: cooperative::Column::Id,
        ascending: order.ascending,
    };
    page::list(db, catalog::cooperatives_query(filter), &ordering, args).await
}

/// A page of cooperatives and, when asked for, their regions (joined: one statement).
pub struct CooperativePage {
    pub listing: Listing<cooperative::Model>,
    pub regions: Vec<region::Model>,
}

/// One page of the cooperatives matching `filter`, with their regions if `with_region`.
pub async fn cooperatives_with(
    db: &impl ConnectionTrait,
    filter: &CooperativeFilter,
    order: CooperativeOrder,
    args: PageArgs,
    with_region: bool,
) -> AppResult<CooperativePage> {
    if !with_region {
        let listing = cooperatives(db, filter, order, args).await?;
        return Ok(CooperativePage {
            listing,
            regions: Vec::new(),
        });
    }
    let key = match order.key {
        CooperativeSortKey::Name => (cooperative::Column::Name, KeyKind::Text),
        CooperativeSortKey::ListedSince => (cooperative::Column::ListedSince, KeyKind::Date),
    };
    let ordering = Ordering {
        key: Some(key),
        id: cooperative::Column::Id,
        ascending: order.ascending,
    };
    let select = catalog::cooperatives_query(filter);
    let total = TotalCount::of(&select);
    let select = also_select(
        select.join(JoinType::InnerJoin, cooperative::Relation::Region.def()),
        region::Entity,
        REGION,
    );
    let mut listing = page::list_with(select, &ordering, args, total, |paged| async move {
        let stmt = db.get_database_backend().build(&paged.into_query());
        db.query_all_raw(stmt)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    cooperative::Model::from_query_result(row, "")?,
                    region::Model::from_query_result(row, REGION)?,
                ))
            })
            .collect::<Result<Vec<_>, DbErr>>()
    })
    .await?;
    let (rows, regions) = std::mem::take(&mut listing.page.rows).into_iter().unzip();
    Ok(CooperativePage {
        listing: listing.with_rows(rows),
        regions,
    })
}

/// One page of a product's stock ledger, newest first.
pub async fn stock_movements_of_product(
    db: &impl ConnectionTrait,
    product_id: i32,
    args: PageArgs,
) -> AppResult<Listing<stock_movement::Model>> {
    let select =
        stock_movement::Entity::find().filter(stock_movement::Column::ProductId.eq(product_id));
    page::list(
        db,
        select,
        &Ordering::by_id(stock_movement::Column::Id, false),
        args,
    )
    .await
}

/// The number of lines of a product's stock ledger, counted when asked for (the first
/// page itself is read in a batch, `reads::first_stock_movements_of_products`).
pub fn count_stock_movements_of_product(product_id: i32) -> TotalCount {
    TotalCount::of(
        &stock_movement::Entity::find().filter(stock_movement::Column::ProductId.eq(product_id)),
    )
}

/// One page of the valid certifications expiring between `from` and `until` (both
/// included), soonest first.
pub async fn expiring_certifications(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    until: NaiveDate,
    args: PageArgs,
) -> AppResult<Listing<certification::Model>> {
    let ordering = Ordering {
        key: Some((certification::Column::ExpiresOn, KeyKind::Date)),
        id: certification::Column::Id,
        ascending: true,
    };
    let select = crate::domain::certifications::expiring_query(from, until);
    page::list(db, select, &ordering, args).await
}

/// The cursor of a certification in the expiring list.
pub fn expiring_cursor(c: &certification::Model) -> Cursor {
    Cursor {
        key: c
            .expires_on
            .map_or(SortValue::None, |d| SortValue::Text(d.to_string())),
        id: c.id.into(),
    }
}

/// One page of the orders of `scope` matching `filter`, newest first.
pub async fn orders(
    db: &impl ConnectionTrait,
    scope: OrderScope,
    filter: &OrderFilter,
    args: PageArgs,
) -> AppResult<Listing<order::Model>> {
    let select = crate::domain::orders::orders_query(scope, filter);
    page::list(db, select, &Ordering::by_id(order::Column::Id, false), args).await
}

/// One page of the order lines a payout statement settles, in line order, with their
/// orders' numbers and payment instants.
pub async fn lines_of_statement(
    db: &impl ConnectionTrait,
    statement_id: i32,
    args: PageArgs,
) -> AppResult<Listing<SettledLine>> {
    let select =
        order_line::Entity::find().filter(order_line::Column::PayoutStatementId.eq(statement_id));
    let ordering = Ordering::by_id(order_line::Column::Id, true);
    let mut listing = page::list(db, select, &ordering, args).await?;
    let lines = std::mem::take(&mut listing.page.rows);
    let rows = payouts::with_orders(db, lines).await?;
    Ok(listing.with_rows(rows))
}

/// The number of order lines a statement settles, counted when asked for (the first page
/// itself is read in a batch, `reads::first_lines_of_statements`).
pub fn count_lines_of_statement(statement_id: i32) -> TotalCount {
    TotalCount::of(
        &order_line::Entity::find().filter(order_line::Column::PayoutStatementId.eq(statement_id)),
    )
}

/// One page of the payout statements of `scope` matching `filter`, latest period first.
pub async fn statements(
    db: &impl ConnectionTrait,
    scope: StatementScope,
    filter: &StatementFilter,
    today: NaiveDate,
    args: PageArgs,
) -> AppResult<Listing<payout_statement::Model>> {
    let ordering = Ordering {
        key: Some((payout_statement::Column::PeriodEnd, KeyKind::Date)),
        id: payout_statement::Column::Id,
        ascending: false,
    };
    let select = payouts::statements_query(scope, filter, today);
    page::list(db, select, &ordering, args).await
}

/// The cursor of a statement in the statement list.
pub fn statement_cursor(s: &payout_statement::Model) -> Cursor {
    Cursor {
        key: SortValue::Text(s.period_end.format("%Y-%m-%d").to_string()),
        id: s.id.into(),
    }
}

/// The relations a page of products brings along in the same statement or the one after,
/// planned from what the client selected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProductRelations {
    pub cooperative: bool,
    /// The region of each product's cooperative.
    pub region: bool,
    pub segment: bool,
    /// Every certification of each product's cooperative, and which of them list the
    /// product in their coverage (for `certifications`, `isSellable`, `complianceIssues`).
    pub certifications: bool,
}

/// A page of products and the relations asked for: two statements at most (the page
/// joined to its cooperatives, regions and segments; then the certifications and the
/// coverage of the page), plus the count of the whole list when asked for.
pub struct ProductPage {
    pub listing: Listing<product::Model>,
    pub cooperatives: Vec<cooperative::Model>,
    pub regions: Vec<region::Model>,
    pub segments: Vec<segment::Model>,
    /// Every certification held by each cooperative of the page (empty when it holds
    /// none), oldest first; empty when not asked for.
    pub certifications: HashMap<i32, Vec<certification::Model>>,
    /// The certifications listing each product of the page in their coverage (empty when
    /// none); empty when not asked for.
    pub coverage: HashMap<i32, Vec<i32>>,
    /// The relevance of each product of a page by relevance (empty otherwise).
    pub scores: HashMap<i32, i64>,
}

/// A product with the relations joined to it.
struct ProductRow {
    product: product::Model,
    cooperative: Option<cooperative::Model>,
    region: Option<region::Model>,
    segment: Option<segment::Model>,
}

const COOPERATIVE: &str = "c_";
const REGION: &str = "r_";
const SEGMENT: &str = "s_";

impl ProductRow {
    fn read(row: &QueryResult, with: ProductRelations) -> Result<Self, DbErr> {
        Ok(Self {
            product: product::Model::from_query_result(row, "")?,
            cooperative: (with.cooperative || with.region)
                .then(|| cooperative::Model::from_query_result(row, COOPERATIVE))
                .transpose()?,
            region: with
                .region
                .then(|| region::Model::from_query_result(row, REGION))
                .transpose()?,
            segment: with
                .segment
                .then(|| segment::Model::from_query_result(row, SEGMENT))
                .transpose()?,
        })
    }
}

/// Adds the columns of `E`, each named `prefix` + its name, to `select`.
fn also_select<B: EntityTrait, E: EntityTrait>(
    mut select: Select<B>,
    entity: E,
    prefix: &str,
) -> Select<B> {
    for column in E::Column::iter() {
        select = select.column_as(
            Expr::col((entity, column)),
            format!("{prefix}{}", column.as_str()),
        );
    }
    select
}

/// One page of the products matching `filter`, with the relations `with` asks for.
pub async fn products_with(
    db: &impl ConnectionTrait,
    filter: &ProductFilter,
    today: NaiveDate,
    order: ProductOrder,
    args: PageArgs,
    with: ProductRelations,
) -> AppResult<ProductPage> {
    let mut select = catalog::products_query(filter, today);
    let total = {
        let filter = filter.clone();
        TotalCount::deferred(move || count_products(&filter, today))
    };
    if with.cooperative || with.region {
        select = select.join(JoinType::InnerJoin, product::Relation::Cooperative.def());
        select = also_select(select, cooperative::Entity, COOPERATIVE);
    }
    if with.region {
        select = select.join(JoinType::InnerJoin, cooperative::Relation::Region.def());
        select = also_select(select, region::Entity, REGION);
    }
    if with.segment {
        select = select.join(JoinType::InnerJoin, product::Relation::Segment.def());
        select = also_select(select, segment::Entity, SEGMENT);
    }
    let mut listing = page::list_with(select, &order.ordering(), args, total, |paged| async move {
        let stmt = db.get_database_backend().build(&paged.into_query());
        db.query_all_raw(stmt)
            .await?
            .iter()
            .map(|row| ProductRow::read(row, with))
            .collect::<Result<Vec<_>, DbErr>>()
    })
    .await?;
    let rows = std::mem::take(&mut listing.page.rows);
    let mut page = ProductPage {
        listing: listing.with_rows(Vec::with_capacity(rows.len())),
        cooperatives: Vec::new(),
        regions: Vec::new(),
        segments: Vec::new(),
        certifications: HashMap::new(),
        coverage: HashMap::new(),
        scores: HashMap::new(),
    };
    for row in rows {
        page.cooperatives.extend(row.cooperative);
        page.regions.extend(row.region);
        page.segments.extend(row.segment);
        page.listing.page.rows.push(row.product);
    }
    if with.certifications {
        certifications_of_page(db, &mut page).await?;
    }
    Ok(page)
}

/// One page of the products matching `filter` in the order of relevance of `ranked`
/// (the search index's answer, best first): the products the filter keeps (one
/// statement), paged in memory, then the page with its relations as [`products_with`]
/// reads them. Cursors carry the relevance (`ProductPage::scores`).
pub async fn products_by_relevance(
    db: &impl ConnectionTrait,
    filter: &ProductFilter,
    today: NaiveDate,
    ranked: &[crate::domain::search::Ranked],
    args: PageArgs,
    with: ProductRelations,
) -> AppResult<ProductPage> {
    let kept = product_ids(db, filter, today).await?;
    let list: Vec<(i32, i64)> = ranked
        .iter()
        .filter(|r| kept.contains(&r.product_id))
        .map(|r| (r.product_id, r.score))
        .collect();
    let total = list.len() as i64;
    // Best first, ties by id: an item comes after a cursor with a higher score, or the
    // same score and a lower id.
    let page = page::page_in_memory(list, args, |(id, score), c| {
        let key = match c.key {
            SortValue::Int(k) => k,
            _ => i64::MAX,
        };
        key.cmp(score).then(i64::from(*id).cmp(&c.id))
    })?;
    let ids: Vec<i32> = page.rows.iter().map(|(id, _)| *id).collect();
    let scores: HashMap<i32, i64> = page.rows.iter().copied().collect();
    let of_page = ProductFilter {
        search_ids: Some(ids.clone()),
        include_unsellable: true,
        ..Default::default()
    };
    let order = ProductOrder {
        key: ProductSortKey::Name,
        ascending: true,
    };
    let mut read = products_with(
        db,
        &of_page,
        today,
        order,
        PageArgs::new(Some(page::MAX_PAGE_SIZE), None, None, None),
        with,
    )
    .await?;
    let mut rows: HashMap<i32, product::Model> = std::mem::take(&mut read.listing.page.rows)
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    read.listing.page = page::Page {
        rows: ids.iter().filter_map(|id| rows.remove(id)).collect(),
        has_previous: page.has_previous,
        has_next: page.has_next,
    };
    read.listing.total = TotalCount::known(total);
    read.scores = scores;
    Ok(read)
}

/// The ids of the products matching `filter`, in one statement.
pub async fn product_ids(
    db: &impl ConnectionTrait,
    filter: &ProductFilter,
    today: NaiveDate,
) -> AppResult<BTreeSet<i32>> {
    Ok(catalog::products_query(filter, today)
        .select_only()
        .column(product::Column::Id)
        .into_tuple::<i32>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The cursor of a product in a list by relevance.
pub fn relevance_cursor(product_id: i32, score: i64) -> Cursor {
    Cursor {
        key: SortValue::Int(score),
        id: product_id.into(),
    }
}

/// Reads, in one statement, every certification of the page's cooperatives with the
/// page's products each lists in its coverage.
async fn certifications_of_page(
    db: &impl ConnectionTrait,
    page: &mut ProductPage,
) -> Result<(), DbErr> {
    let products = &page.listing.page.rows;
    let cooperatives: BTreeSet<i32> = products.iter().map(|p| p.cooperative_id).collect();
    page.certifications = cooperatives.iter().map(|c| (*c, Vec::new())).collect();
    page.coverage = products.iter().map(|p| (p.id, Vec::new())).collect();
    if products.is_empty() {
        return Ok(());
    }
    let listed = (
        certification_product::Entity,
        certification_product::Column::ProductId,
    );
    let mut query = certification::Entity::find()
        .filter(certification::Column::CooperativeId.is_in(cooperatives))
        .order_by_asc(certification::Column::Id)
        .into_query();
    query
        .join(
            JoinType::LeftJoin,
            certification_product::Entity,
            Condition::all()
                .add(
                    Expr::col((
                        certification_product::Entity,
                        certification_product::Column::CertificationId,
                    ))
                    .equals((certification::Entity, certification::Column::Id)),
                )
                .add(Expr::col(listed).is_in(products.iter().map(|p| p.id))),
        )
        .expr_as(Expr::col(listed), "listed_product_id");
    let stmt = db.get_database_backend().build(&query);
    let mut seen = BTreeSet::new();
    for row in db.query_all_raw(stmt).await? {
        let certification = certification::Model::from_query_result(&row, "")?;
        let listed: Option<i32> = row.try_get("", "listed_product_id")?;
        if let Some(product) = listed {
            page.coverage
                .entry(product)
                .or_default()
                .push(certification.id);
        }
        if seen.insert(certification.id) {
            page.certifications
                .entry(certification.cooperative_id)
                .or_default()
                .push(certification);
        }
    }
    Ok(())
}
