//! Keyset pagination: Relay's four arguments validated, cursors, and one page of a query
//! as one indexed range scan whatever its depth in the list. The count of the whole list
//! is a separate statement, run only when the client asks for it.

use crate::error::{AppError, AppResult, codes};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Order,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Value,
};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// The most items a page may hold.
pub const MAX_PAGE_SIZE: i32 = 100;
/// The page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// The four Relay arguments, as the client sent them.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// Validated arguments: how many, from which cursors, in which direction.
#[derive(Debug)]
struct PageRequest {
    limit: u64,
    after: Option<Cursor>,
    before: Option<Cursor>,
    backward: bool,
}

impl PageArgs {
    /// The arguments in the order a connection field declares them.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
        }
    }

    fn validate(self) -> AppResult<PageRequest> {
        let size_error = |message: String| AppError::BadInput {
            code: codes::PAGE_SIZE_EXCEEDED,
            message,
        };
        let (size, backward) = match (self.first, self.last) {
            (Some(_), Some(_)) => {
                return Err(size_error(
                    "pass either `first` or `last`, not both".to_owned(),
                ));
            }
            (Some(n), None) => (n, false),
            (None, Some(n)) => (n, true),
            (None, None) => (DEFAULT_PAGE_SIZE, false),
        };
        if !(0..=MAX_PAGE_SIZE).contains(&size) {
            return Err(size_error(format!(
                "a page holds 0 to {MAX_PAGE_SIZE} items; {size} were asked for"
            )));
        }
        Ok(PageRequest {
            limit: size as u64,
            after: self.after.as_deref().map(Cursor::decode).transpose()?,
            before: self.before.as_deref().map(Cursor::decode).transpose()?,
            backward,
        })
    }
}

impl PageArgs {
    /// For a first page (no cursor, not `last`): the rows to read, one more than the page
    /// holds to know whether another follows. `None` for other pages.
    pub fn first_page_rows(&self) -> AppResult<Option<u64>> {
        let request = self.clone().validate()?;
        let first = request.after.is_none() && request.before.is_none() && !request.backward;
        Ok(first.then_some(request.limit + 1))
    }
}

/// The position of a row in a sorted list: its sort key and its id (the tie-breaker).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cursor {
    #[serde(rename = "k")]
    pub key: SortValue,
    #[serde(rename = "i")]
    pub id: i64,
}

/// A sort key value carried in a cursor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum SortValue {
    None,
    Int(i64),
    Text(String),
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a cursor the server handed out; anything else (too long, not ours, a key
    /// holding control characters) is `BAD_USER_INPUT`.
    fn decode(text: &str) -> AppResult<Self> {
        const MAX_CURSOR_LEN: usize = 1_024;
        (text.len() <= MAX_CURSOR_LEN)
            .then(|| URL_SAFE_NO_PAD.decode(text).ok())
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<Cursor>(&bytes).ok())
            .filter(|c| !matches!(&c.key, SortValue::Text(t) if t.chars().any(char::is_control)))
            .ok_or_else(|| {
                AppError::bad_input(format!(
                    "{} is not a valid cursor",
                    crate::domain::catalog::quoted(text)
                ))
            })
    }
}

/// How a list is ordered: an optional key column, then the id column.
pub(crate) struct Ordering<C> {
    /// The sort column and how to read a cursor's key for it; `None` sorts by id alone.
    pub key: Option<(C, KeyKind)>,
    pub id: C,
    pub ascending: bool,
}

impl<C> Ordering<C> {
    /// Sorted by id alone.
    pub(crate) fn by_id(id: C, ascending: bool) -> Self {
        Self {
            key: None,
            id,
            ascending,
        }
    }
}

impl Cursor {
    /// The cursor of a list sorted by id alone.
    pub fn by_id(id: impl Into<i64>) -> Self {
        Self {
            key: SortValue::None,
            id: id.into(),
        }
    }
}

/// How a cursor's key is turned back into an SQL value.
#[derive(Clone, Copy)]
pub(crate) enum KeyKind {
    Int,
    Text,
    /// An RFC 3339 timestamp, compared as a timestamp.
    Time,
    /// A `YYYY-MM-DD` date, compared as a date (PostgreSQL has no `date > text`).
    Date,
}

impl KeyKind {
    fn value(self, key: &SortValue) -> AppResult<Value> {
        let invalid = || AppError::bad_input("the cursor does not belong to this sort order");
        Ok(match (self, key) {
            (KeyKind::Int, SortValue::Int(n)) => Value::from(*n),
            (KeyKind::Text, SortValue::Text(s)) => Value::from(s.clone()),
            (KeyKind::Time, SortValue::Text(s)) => {
                let t = chrono::DateTime::parse_from_rfc3339(s)
                    .map_err(|_| invalid())?
                    .with_timezone(&chrono::Utc);
                Value::from(t)
            }
            (KeyKind::Date, SortValue::Text(s)) => {
                let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| invalid())?;
                Value::from(d)
            }
            _ => return Err(invalid()),
        })
    }
}

/// A fetched page: the rows in list order and whether more lie on either side.
pub struct Page<M> {
    pub rows: Vec<M>,
    pub has_previous: bool,
    pub has_next: bool,
}

/// Rows strictly after (`after = true`) or before `cursor` in the list's order.
fn beyond<C: ColumnTrait>(
    ordering: &Ordering<C>,
    cursor: &Cursor,
    after: bool,
) -> AppResult<Condition> {
    let forward = ordering.ascending == after;
    let id_beyond = if forward {
        ordering.id.gt(cursor.id)
    } else {
        ordering.id.lt(cursor.id)
    };
    Ok(match &ordering.key {
        None => Condition::all().add(id_beyond),
        Some((col, kind)) => {
            let v = kind.value(&cursor.key)?;
            let key_beyond = if forward {
                col.gt(v.clone())
            } else {
                col.lt(v.clone())
            };
            Condition::any()
                .add(key_beyond)
                .add(Condition::all().add(col.eq(v)).add(id_beyond))
        }
    })
}

/// Fetches one page of `select` in `ordering`: `run` reads the rows of the paged query
/// (`limit + 1` of them, to know whether another page follows), as whole models or with
/// joined relations.
async fn fetch_page<E, C, R, Fut>(
    select: Select<E>,
    ordering: &Ordering<C>,
    args: PageArgs,
    run: impl FnOnce(Select<E>) -> Fut,
) -> AppResult<Page<R>>
where
    E: EntityTrait<Column = C>,
    C: ColumnTrait,
    Fut: Future<Output = Result<Vec<R>, DbErr>>,
{
    let request = args.validate()?;
    let mut select = select;
    if let Some(c) = &request.after {
        select = select.filter(beyond(ordering, c, true)?);
    }
    if let Some(c) = &request.before {
        select = select.filter(beyond(ordering, c, false)?);
    }
    let scan_ascending = ordering.ascending != request.backward;
    let order = if scan_ascending {
        Order::Asc
    } else {
        Order::Desc
    };
    if let Some((col, _)) = &ordering.key {
        select = select.order_by(*col, order.clone());
    }
    select = select.order_by(ordering.id, order);
    let mut rows = run(select.limit(request.limit + 1)).await?;
    let more = rows.len() as u64 > request.limit;
    rows.truncate(request.limit as usize);
    if request.backward {
        rows.reverse();
        Ok(Page {
            rows,
            has_previous: more,
            has_next: request.before.is_some(),
        })
    } else {
        Ok(Page {
            rows,
            has_previous: request.after.is_some(),
            has_next: more,
        })
    }
}

/// One page of a list sorted in memory (by relevance): `compare` places an item against
/// a cursor in the list's order (`Greater`: the item comes after it).
pub(crate) fn page_in_memory<T>(
    items: Vec<T>,
    args: PageArgs,
    compare: impl Fn(&T, &Cursor) -> std::cmp::Ordering,
) -> AppResult<Page<T>> {
    use std::cmp::Ordering::{Greater, Less};
    let request = args.validate()?;
    let limit = request.limit as usize;
    let mut items: Vec<T> = items
        .into_iter()
        .filter(|i| {
            request
                .after
                .as_ref()
                .is_none_or(|c| compare(i, c) == Greater)
        })
        .filter(|i| {
            request
                .before
                .as_ref()
                .is_none_or(|c| compare(i, c) == Less)
        })
        .collect();
    if request.backward {
        let more = items.len() > limit;
        let rows = items.split_off(items.len().saturating_sub(limit));
        Ok(Page {
            rows,
            has_previous: more,
            has_next: request.before.is_some(),
        })
    } else {
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(Page {
            rows: items,
            has_previous: request.after.is_some(),
            has_next: more,
        })
    }
}

/// How many rows a whole list holds, across its pages: a `COUNT(*)` over the list's query,
/// run only when asked for, or a number already counted in a batch.
pub struct TotalCount(Count);

enum Count {
    Query(Box<SelectStatement>),
    Known(i64),
    /// A count whose query is only built if the count is asked for: building a list's
    /// query (the sellability rules of a product list) costs more than most answers.
    Deferred(Box<dyn Fn() -> TotalCount + Send + Sync>),
}

#[derive(FromQueryResult)]
struct CountRow {
    n: i64,
}

impl TotalCount {
    /// The count of the rows `select` would return, without its paging.
    pub(crate) fn of<E: EntityTrait>(select: &Select<E>) -> Self {
        let inner = select.clone().into_query();
        let mut count_query = Query::select();
        count_query
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .from_subquery(inner, Alias::new("counted"));
        Self(Count::Query(Box::new(count_query)))
    }

    /// A count already known.
    pub fn known(n: i64) -> Self {
        Self(Count::Known(n))
    }

    /// A count built by `build` when (and each time) it is asked for.
    pub fn deferred(build: impl Fn() -> TotalCount + Send + Sync + 'static) -> Self {
        Self(Count::Deferred(Box::new(build)))
    }

    /// The number, counting now if it is not known yet.
    pub async fn get(&self, db: &impl ConnectionTrait) -> AppResult<i64> {
        let built;
        let count = match &self.0 {
            Count::Deferred(build) => {
                built = build();
                &built.0
            }
            count => count,
        };
        let query = match count {
            Count::Known(n) => return Ok(*n),
            Count::Query(query) => query,
            Count::Deferred(_) => {
                return Err(AppError::Internal("a deferred count deferred again".into()));
            }
        };
        let stmt = db.get_database_backend().build(query.as_ref());
        let row = CountRow::find_by_statement(stmt).one(db).await?;
        Ok(row.map_or(0, |r| r.n))
    }
}

/// A page of a list and the count of the whole list.
pub struct Listing<M> {
    pub page: Page<M>,
    pub total: TotalCount,
}

impl<M> Listing<M> {
    /// The same page and count with other rows (the page's rows completed, in order).
    pub fn with_rows<N>(self, rows: Vec<N>) -> Listing<N> {
        Listing {
            page: Page {
                rows,
                has_previous: self.page.has_previous,
                has_next: self.page.has_next,
            },
            total: self.total,
        }
    }
}

/// One page of `select` in `ordering`, and the count of the whole list.
pub(crate) async fn list<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    ordering: &Ordering<C>,
    args: PageArgs,
) -> AppResult<Listing<E::Model>>
where
    E: EntityTrait<Column = C>,
    C: ColumnTrait,
    E::Model: FromQueryResult + Send + Sync,
{
    let total = TotalCount::of(&select);
    list_with(select, ordering, args, total, |paged| paged.all(db)).await
}

/// One page of `select` in `ordering` read by `run` (which may join relations to the
/// paged query), and `total`, the count of the whole list (the caller's, as the select
/// may carry joins the count does not need).
pub(crate) async fn list_with<E, C, R, Fut>(
    select: Select<E>,
    ordering: &Ordering<C>,
    args: PageArgs,
    total: TotalCount,
    run: impl FnOnce(Select<E>) -> Fut,
) -> AppResult<Listing<R>>
where
    E: EntityTrait<Column = C>,
    C: ColumnTrait,
    Fut: Future<Output = Result<Vec<R>, DbErr>>,
{
    let page = fetch_page(select, ordering, args, run).await?;
    Ok(Listing { page, total })
}
