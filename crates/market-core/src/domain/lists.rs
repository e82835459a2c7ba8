//! The paged lists the API serves: each list's query (from `catalog`'s filters and the
//! viewer's scope), its order, and its cursors. One page is one indexed range scan; the
//! count of the whole list runs only when asked for (`page::TotalCount`).

use crate::domain::catalog::{self, CooperativeFilter, ProductFilter};
use crate::domain::orders::{OrderFilter, OrderScope};
use crate::domain::payouts::{self, SettledLine, StatementFilter, StatementScope};
use crate::domain::reads::ProductSortKey;
use crate::entities::{
    certification, cooperative, order, order_line, payout_statement, product, stock_movement,
};
use crate::error::AppResult;
use crate::page::{
    self, Cursor, KeyKind, Listing, Ordering, Page, PageArgs, SortValue, TotalCount,
};
use chrono::{NaiveDate, SecondsFormat};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

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
    let total = TotalCount::of(&select);
    let ordering = Ordering::by_id(order_line::Column::Id, true);
    let page = page::fetch_page(db, select, &ordering, args).await?;
    let (has_previous, has_next) = (page.has_previous, page.has_next);
    let rows = payouts::with_orders(db, page.rows).await?;
    Ok(Listing {
        page: Page {
            rows,
            has_previous,
            has_next,
        },
        total,
    })
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
