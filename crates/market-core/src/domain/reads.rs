//! Batched reads by key: whole rows for many keys in one statement, so the API's loaders
//! (`graphql::loaders`) never query tables themselves and a page costs the same number of
//! statements whatever its size.

use crate::domain::enums::CooperativeStatus;
use crate::domain::payouts::SettledLine;
use crate::entities::{
    certification, certification_product, cooperative, delivery_method, order, order_event,
    order_line, payout_statement, product, province, region, segment, stock_movement, user,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};
use std::collections::HashMap;

/// The rows of `E` whose `column` is one of `keys`, ordered by `order` (then as stored).
/// No statement when there are no keys.
async fn rows_in<E, V>(
    db: &impl ConnectionTrait,
    column: E::Column,
    keys: impl IntoIterator<Item = V>,
    order: &[E::Column],
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    V: Into<sea_orm::Value>,
{
    let keys: Vec<sea_orm::Value> = keys.into_iter().map(Into::into).collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut select = E::find().filter(column.is_in(keys));
    for c in order {
        select = select.order_by_asc(*c);
    }
    select.all(db).await
}

/// Declares a read of whole rows by key: `$name(db, keys)` answers the rows of `$entity`
/// whose `$column` is one of `keys` (of type `$key`), ordered by the `order` columns.
macro_rules! rows_by_key {
    ($(#[$doc:meta])* $name:ident: $entity:ident by $column:ident: $key:ty $(, order $($order:ident),+)?) => {
        $(#[$doc])*
        pub async fn $name(
            db: &impl ConnectionTrait,
            keys: Vec<$key>,
        ) -> Result<Vec<$entity::Model>, DbErr> {
            let order: &[$entity::Column] = &[$($($entity::Column::$order),+)?];
            rows_in::<$entity::Entity, _>(db, $entity::Column::$column, keys, order).await
        }
    };
}

rows_by_key!(
    /// Cooperatives by id.
    cooperatives: cooperative by Id: i32
);
rows_by_key!(
    /// Products by id.
    products: product by Id: i32
);
rows_by_key!(
    /// Segments by id.
    segments: segment by Id: i32
);
rows_by_key!(
    /// Regions by code.
    regions: region by Code: String
);
rows_by_key!(
    /// Accounts by id (buyers, authors of ledger lines, actors of order events).
    users: user by Id: i32
);
rows_by_key!(
    /// Certifications by id.
    certifications: certification by Id: i32
);
rows_by_key!(
    /// Delivery methods by id (the method of each order of a page).
    delivery_methods: delivery_method by Id: i32
);
rows_by_key!(
    /// Payout statements by id (who may see them is the caller's business).
    payout_statements: payout_statement by Id: i32
);
rows_by_key!(
    /// Provinces by id.
    provinces: province by Id: i32
);
rows_by_key!(
    /// The provinces of the regions `keys`, by name.
    provinces_of_regions: province by RegionCode: String, order Name, Id
);
rows_by_key!(
    /// Every certification held by the cooperatives `keys` (valid or not), oldest first.
    certifications_of_cooperatives: certification by CooperativeId: i32, order Id
);
rows_by_key!(
    /// The coverage links (certification → listed product) of the products `keys`.
    coverage_of_products: certification_product by ProductId: i32
);
rows_by_key!(
    /// The lines of the orders `keys`, in product order.
    lines_of_orders: order_line by OrderId: i64, order ProductId
);
rows_by_key!(
    /// The changes of status of the orders `keys`, oldest first.
    events_of_orders: order_event by OrderId: i64, order Id
);

/// The products the certifications `ids` list in their coverage, with the certification
/// listing each (a product listed twice comes twice).
pub async fn products_listed_by_certifications(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
) -> Result<Vec<(i32, product::Model)>, DbErr> {
    let links = rows_in::<certification_product::Entity, _>(
        db,
        certification_product::Column::CertificationId,
        ids,
        &[],
    )
    .await?;
    let products: HashMap<i32, product::Model> =
        products(db, links.iter().map(|l| l.product_id).collect())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    Ok(links
        .into_iter()
        .filter_map(|l| Some((l.certification_id, products.get(&l.product_id)?.clone())))
        .collect())
}

#[derive(FromQueryResult)]
struct RegionCount {
    region_code: String,
    n: i64,
}

/// How many listed cooperatives each of the regions `codes` has (regions without any are
/// left out).
pub async fn listed_cooperatives_per_region(
    db: &impl ConnectionTrait,
    codes: Vec<String>,
) -> Result<HashMap<String, i64>, DbErr> {
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = cooperative::Entity::find()
        .select_only()
        .column(cooperative::Column::RegionCode)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(cooperative::Column::RegionCode.is_in(codes))
        .filter(cooperative::Column::Status.eq(CooperativeStatus::Listed))
        .group_by(cooperative::Column::RegionCode)
        .into_model::<RegionCount>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.region_code, r.n)).collect())
}

/// What a cooperative's product page is sorted by (then by id, the same way).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum ProductSortKey {
    Name,
    Price,
    CreatedAt,
}

impl ProductSortKey {
    fn column(self) -> product::Column {
        match self {
            ProductSortKey::Name => product::Column::Name,
            ProductSortKey::Price => product::Column::PriceCents,
            ProductSortKey::CreatedAt => product::Column::CreatedAt,
        }
    }
}

/// The first page of products of each of several cooperatives: which products (those
/// that can be sold `today`, or all), in which order, how many.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub struct FirstProducts {
    pub include_unsellable: bool,
    /// Only products at or below their low-stock threshold (`Cooperative.lowStockProducts`).
    pub low_stock: bool,
    pub sort: ProductSortKey,
    pub ascending: bool,
    /// Rows per cooperative (a page's size plus one, to know whether another follows).
    pub rows: u64,
    pub today: chrono::NaiveDate,
}

/// The first `page.rows` products of each of the cooperatives `ids`, ranked per
/// cooperative by a window function: one statement whatever the number of cooperatives.
/// Returned grouped by cooperative, each in the page's order.
pub async fn first_products_of_cooperatives(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
    page: FirstProducts,
) -> Result<Vec<product::Model>, DbErr> {
    use sea_orm::sea_query::{Alias, Asterisk, ExprTrait, Query};
    use sea_orm::{QueryTrait, Statement};
    if ids.is_empty() || page.rows == 0 {
        return Ok(Vec::new());
    }
    let filter = crate::domain::catalog::ProductFilter {
        include_unsellable: page.include_unsellable,
        low_stock: page.low_stock,
        ..Default::default()
    };
    let direction = if page.ascending { "ASC" } else { "DESC" };
    let column = |c: product::Column| {
        use sea_orm::sea_query::Iden;
        c.to_string()
    };
    let rank = format!(
        "ROW_NUMBER() OVER (PARTITION BY \"{coop}\" ORDER BY \"{key}\" {direction}, \"{id}\" {direction})",
        coop = column(product::Column::CooperativeId),
        key = column(page.sort.column()),
        id = column(product::Column::Id),
    );
    let ranked = crate::domain::catalog::products_query(&filter, page.today)
        .filter(product::Column::CooperativeId.is_in(ids))
        .column_as(Expr::cust(rank), "page_rank")
        .into_query();
    let rows = i64::try_from(page.rows).unwrap_or(i64::MAX);
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(ranked, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("page_rank")).lte(rows))
        .order_by(Alias::new("cooperative_id"), sea_orm::Order::Asc)
        .order_by(Alias::new("page_rank"), sea_orm::Order::Asc)
        .to_owned();
    let statement: Statement = db.get_database_backend().build(&outer);
    product::Model::find_by_statement(statement).all(db).await
}

#[derive(FromQueryResult)]
struct CooperativeCount {
    cooperative_id: i32,
    n: i64,
}

/// How many products each of the cooperatives `ids` lists (sellable ones only unless
/// `include_unsellable`; only those low in stock if `low_stock`) as of `today`
/// (cooperatives without any are left out).
pub async fn product_counts_of_cooperatives(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
    include_unsellable: bool,
    low_stock: bool,
    today: chrono::NaiveDate,
) -> Result<HashMap<i32, i64>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let filter = crate::domain::catalog::ProductFilter {
        include_unsellable,
        low_stock,
        ..Default::default()
    };
    let rows = crate::domain::catalog::products_query(&filter, today)
        .select_only()
        .column(product::Column::CooperativeId)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(product::Column::CooperativeId.is_in(ids))
        .group_by(product::Column::CooperativeId)
        .into_model::<CooperativeCount>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.cooperative_id, r.n)).collect())
}

/// The first `rows` rows of `E` for each of the parents `ids` (`parent` column), ranked
/// per parent by id (`ascending` or not) with a window function: one statement whatever
/// the number of parents, none without parents. Returned grouped by parent, each in the
/// page's order.
async fn first_rows_per_parent<E>(
    db: &impl ConnectionTrait,
    parent: E::Column,
    ids: Vec<i32>,
    id: E::Column,
    ascending: bool,
    rows: u64,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
{
    use sea_orm::sea_query::{Alias, Asterisk, ExprTrait, Iden, Query};
    use sea_orm::{QueryTrait, Statement};
    if ids.is_empty() || rows == 0 {
        return Ok(Vec::new());
    }
    let select = E::find().filter(parent.is_in(ids));
    let direction = if ascending { "ASC" } else { "DESC" };
    let rank = format!(
        "ROW_NUMBER() OVER (PARTITION BY \"{parent}\" ORDER BY \"{id}\" {direction})",
        parent = parent.to_string(),
        id = id.to_string(),
    );
    let ranked = select.column_as(Expr::cust(rank), "page_rank").into_query();
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(ranked, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("page_rank")).lte(i64::try_from(rows).unwrap_or(i64::MAX)))
        .order_by(Alias::new(parent.to_string()), sea_orm::Order::Asc)
        .order_by(Alias::new("page_rank"), sea_orm::Order::Asc)
        .to_owned();
    let statement: Statement = db.get_database_backend().build(&outer);
    E::Model::find_by_statement(statement).all(db).await
}

#[derive(FromQueryResult)]
struct ParentCount {
    parent: i32,
    n: i64,
}

/// How many rows of `E` each of the parents `ids` (`parent` column) has; parents without
/// any are left out.
async fn counts_per_parent<E: EntityTrait>(
    db: &impl ConnectionTrait,
    parent: E::Column,
    ids: Vec<i32>,
) -> Result<HashMap<i32, i64>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = E::find()
        .filter(parent.is_in(ids))
        .select_only()
        .column_as(parent, "parent")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(parent)
        .into_model::<ParentCount>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.parent, r.n)).collect())
}

/// The first `rows` lines of the stock ledgers of the products `ids`, newest first (the
/// first page of `Product.stockMovements` for a list of products), in one statement.
pub async fn first_stock_movements_of_products(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
    rows: u64,
) -> Result<Vec<stock_movement::Model>, DbErr> {
    first_rows_per_parent::<stock_movement::Entity>(
        db,
        stock_movement::Column::ProductId,
        ids,
        stock_movement::Column::Id,
        false,
        rows,
    )
    .await
}

/// How many ledger lines each of the products `ids` has (those without any are left out).
pub async fn stock_movement_counts_of_products(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
) -> Result<HashMap<i32, i64>, DbErr> {
    counts_per_parent::<stock_movement::Entity>(db, stock_movement::Column::ProductId, ids).await
}

/// The first `rows` order lines settled by each of the payout statements `ids`, in line
/// order, with their orders (the first page of `PayoutStatement.lines` for a list of
/// statements): two statements whatever the number of statements.
pub async fn first_lines_of_statements(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
    rows: u64,
) -> Result<Vec<SettledLine>, DbErr> {
    let lines = first_rows_per_parent::<order_line::Entity>(
        db,
        order_line::Column::PayoutStatementId,
        ids,
        order_line::Column::Id,
        true,
        rows,
    )
    .await?;
    let order_ids: std::collections::BTreeSet<i64> = lines.iter().map(|l| l.order_id).collect();
    let orders: HashMap<i64, order::Model> =
        rows_in::<order::Entity, _>(db, order::Column::Id, order_ids, &[])
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
    lines
        .into_iter()
        .map(|line| {
            let order = orders
                .get(&line.order_id)
                .ok_or_else(|| DbErr::RecordNotFound("the order of a settled line".into()))?;
            Ok(SettledLine {
                order_number: order.number.clone(),
                paid_at: order.paid_at,
                line,
            })
        })
        .collect()
}

/// How many order lines each of the payout statements `ids` settles (those without any
/// are left out).
pub async fn line_counts_of_statements(
    db: &impl ConnectionTrait,
    ids: Vec<i32>,
) -> Result<HashMap<i32, i64>, DbErr> {
    counts_per_parent::<order_line::Entity>(db, order_line::Column::PayoutStatementId, ids).await
}

/// Every cooperative, by id (importers and seeders snapshot their products' cooperatives).
pub async fn all_cooperatives_by_id(
    db: &impl ConnectionTrait,
) -> Result<HashMap<i32, cooperative::Model>, DbErr> {
    Ok(cooperative::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

/// A product by its SKU.
pub async fn product_by_sku(
    db: &impl ConnectionTrait,
    sku: &str,
) -> Result<Option<product::Model>, DbErr> {
    product::Entity::find()
        .filter(product::Column::Sku.eq(sku))
        .one(db)
        .await
}

/// A product by id.
pub async fn product(db: &impl ConnectionTrait, id: i32) -> Result<Option<product::Model>, DbErr> {
    product::Entity::find_by_id(id).one(db).await
}

/// A cooperative by id.
pub async fn cooperative(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<Option<cooperative::Model>, DbErr> {
    cooperative::Entity::find_by_id(id).one(db).await
}

/// A cooperative by its slug.
pub async fn cooperative_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<cooperative::Model>, DbErr> {
    cooperative::Entity::find()
        .filter(cooperative::Column::Slug.eq(slug))
        .one(db)
        .await
}

/// The segments, of one kind of cooperative or all, in catalog order.
pub async fn all_segments(
    db: &impl ConnectionTrait,
    kind: Option<crate::domain::enums::CooperativeKind>,
) -> Result<Vec<segment::Model>, DbErr> {
    let mut select = segment::Entity::find().order_by_asc(segment::Column::Position);
    if let Some(kind) = kind {
        select = select.filter(segment::Column::Kind.eq(kind));
    }
    select.all(db).await
}

/// The regions, in their official order.
pub async fn all_regions(db: &impl ConnectionTrait) -> Result<Vec<region::Model>, DbErr> {
    region::Entity::find()
        .order_by_asc(region::Column::Position)
        .all(db)
        .await
}

/// A user account by id.
pub async fn user(db: &impl ConnectionTrait, id: i32) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

/// A payout statement by id.
pub async fn payout_statement(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<Option<payout_statement::Model>, DbErr> {
    payout_statement::Entity::find_by_id(id).one(db).await
}

/// How many cooperatives the database holds (the seeders fill only an empty one).
pub async fn count_cooperatives(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    cooperative::Entity::find().count(db).await
}

/// How many orders the database holds (the rollup rebuild's progress bar).
pub async fn count_orders(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    crate::entities::order::Entity::find().count(db).await
}
