//! Batched reads (DataLoader). One loader per request, caching what it read for the
//! rest of the request (never across requests or viewers); every key type loads whole
//! rows in one query per batch, through `domain::reads` (the loaders query no table
//! themselves).

use async_graphql::dataloader::{DataLoader, HashMapCache};
use market_core::db::{DatabaseConnection, DbErr};
use market_core::domain::images;
use market_core::domain::payouts::SettledLine;
use market_core::domain::reads;
use market_core::models::{
    certification, cooperative, delivery_method, order_event, order_line, payout_statement,
    product, province, region, segment, stock_movement, user,
};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

/// Reads rows by key from the database, each key once per request.
pub struct DbLoader {
    db: DatabaseConnection,
    /// What was read, by key type (`HashMap<K, Option<V>>`): a key asked for again while
    /// its batch was running comes back in a later batch, and is answered from here.
    read: Mutex<HashMap<TypeId, Box<dyn Any + Send>>>,
}

impl DbLoader {
    /// The connection, for loaders declared next to their types (e.g. `graphql::payouts`).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The values of `keys`: those read before from memory, the others by `read` (keys
    /// it leaves out have no value).
    pub async fn once<K, V, Fut>(
        &self,
        keys: &[K],
        read: impl FnOnce(Vec<K>) -> Fut,
    ) -> Result<HashMap<K, V>, LoadError>
    where
        K: Clone + Eq + Hash + Send + 'static,
        V: Clone + Send + 'static,
        Fut: Future<Output = Result<HashMap<K, V>, LoadError>>,
    {
        let slot = TypeId::of::<HashMap<K, Option<V>>>();
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let memory = self.read.lock().unwrap_or_else(|e| e.into_inner());
            let known = memory
                .get(&slot)
                .and_then(|m| m.downcast_ref::<HashMap<K, Option<V>>>());
            for key in keys {
                match known.and_then(|k| k.get(key)) {
                    Some(Some(value)) => {
                        found.insert(key.clone(), value.clone());
                    }
                    Some(None) => {}
                    None => missing.push(key.clone()),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let mut values = read(missing.clone()).await?;
        let mut memory = self.read.lock().unwrap_or_else(|e| e.into_inner());
        let known = memory
            .entry(slot)
            .or_insert_with(|| Box::new(HashMap::<K, Option<V>>::new()));
        if let Some(known) = known.downcast_mut::<HashMap<K, Option<V>>>() {
            for key in missing {
                let value = values.remove(&key);
                known.insert(key.clone(), value.clone());
                if let Some(value) = value {
                    found.insert(key, value);
                }
            }
        }
        Ok(found)
    }
}

/// The request's DataLoader.
pub type Loaders = DataLoader<DbLoader, HashMapCache>;

/// Makes the DataLoader of one request, whose execution `idle` follows.
///
/// Batches run in rounds: a batch starts once the request has gone as far as it can
/// without it and no other batch of the request is running, then waits `delay`. A timer
/// alone splits a long page into several batches, because the executor yields while it
/// walks the page's items (async-graphql resolves fields in `FuturesUnordered` sets,
/// which yield every few polls) and the timer can fire between two of those passes; and
/// a key asked for while its batch is running would be read again. With rounds (and
/// [`DbLoader`] remembering what it read), the statements of a page do not depend on its
/// size or on timing.
pub fn loaders(db: DatabaseConnection, delay: Duration, idle: &Idle) -> Loaders {
    let idle = idle.clone();
    DataLoader::with_cache(
        DbLoader {
            db,
            read: Default::default(),
        },
        move |batch| {
            let idle = idle.clone();
            // Batches run in tasks of their own: they carry the request's span (and so
            // its request id) into their log lines.
            tokio::spawn(tracing::Instrument::in_current_span(async move {
                let _running = idle.start_round().await;
                batch.await;
            }))
        },
        HashMapCache::default(),
    )
    .delay(delay)
}

/// Where a request's execution stands, for its loaders.
#[derive(Default, Clone, Copy)]
struct Progress {
    /// The execution stopped with nothing to do but wait (and was not woken since).
    waiting: bool,
    /// Batches running.
    running: usize,
    /// The execution ended (or was cut short): nothing will ask for more keys.
    ended: bool,
}

/// Follows a request's execution, so that its batches start only when every key of the
/// round is in.
#[derive(Clone)]
pub struct Idle(Arc<tokio::sync::watch::Sender<Progress>>);

impl Default for Idle {
    fn default() -> Self {
        Self(Arc::new(tokio::sync::watch::Sender::new(
            Progress::default(),
        )))
    }
}

/// A running batch; the round ends when the last one is dropped.
struct Running(Idle);

impl Drop for Running {
    fn drop(&mut self) {
        self.0
            .0
            .send_modify(|p| p.running = p.running.saturating_sub(1));
    }
}

impl Idle {
    /// Waits until the request waits and no batch runs, then counts one more batch.
    async fn start_round(&self) -> Running {
        let mut progress = self.0.subscribe();
        let _ = progress
            .wait_for(|p| p.ended || (p.waiting && p.running == 0))
            .await;
        drop(progress);
        // Batches of the same round start together: they all saw the round free.
        self.0.send_modify(|p| p.running += 1);
        Running(self.clone())
    }

    /// `execution`, telling the loaders when it stops to wait.
    pub fn track<F: Future>(&self, execution: F) -> Tracked<F> {
        Tracked {
            execution: Box::pin(execution),
            idle: self.clone(),
        }
    }
}

/// A request's execution followed by [`Idle`].
pub struct Tracked<F> {
    execution: std::pin::Pin<Box<F>>,
    idle: Idle,
}

/// Wakes the request's task, remembering that it has work to do again.
struct Wakes {
    task: Waker,
    woken: AtomicBool,
    idle: Idle,
}

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, AtomicOrdering::SeqCst);
        self.idle
            .0
            .send_if_modified(|p| std::mem::replace(&mut p.waiting, false));
        self.task.wake_by_ref();
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let wakes = Arc::new(Wakes {
            task: cx.waker().clone(),
            woken: AtomicBool::new(false),
            idle: self.idle.clone(),
        });
        let waker = Waker::from(wakes.clone());
        let result = self
            .execution
            .as_mut()
            .poll(&mut TaskContext::from_waker(&waker));
        if result.is_pending() {
            // Pending and not woken meanwhile: it waits for a batch or the database, it
            // did not merely yield. (Checked under the lock a wake takes too.)
            self.idle.0.send_if_modified(|p| {
                let waiting = !wakes.woken.load(AtomicOrdering::SeqCst);
                std::mem::replace(&mut p.waiting, waiting) != waiting
            });
        }
        result
    }
}

impl<F> Drop for Tracked<F> {
    /// A request cut short (timeout, disconnection) must not leave batches waiting.
    fn drop(&mut self) {
        self.idle.0.send_modify(|p| p.ended = true);
    }
}

/// Loader errors are shared between every waiter of a batch.
pub type LoadError = Arc<DbErr>;

/// A cooperative by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CooperativeKey(pub i32);
/// A product by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ProductKey(pub i32);
/// A segment by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct SegmentKey(pub i32);
/// A region by code.
#[derive(Clone, Hash, PartialEq, Eq)]
pub struct RegionKey(pub String);
/// An account by id (authors of ledger lines, actors of order events).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct UserKey(pub i32);
/// A certification by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CertificationKey(pub i32);
/// A delivery method by id (the method of an order).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct DeliveryMethodKey(pub i32);
/// A payout statement by id (who may see it is the resolver's business).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct PayoutStatementKey(pub i32);
/// A province by id.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ProvinceKey(pub i32);
/// The provinces of a region, by name.
#[derive(Clone, Hash, PartialEq, Eq)]
pub struct ProvincesOfRegion(pub String);
/// The changes of status of an order, oldest first.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct EventsOfOrder(pub i64);
/// Every certification held by a cooperative (valid or not), oldest first.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CertificationsOfCooperative(pub i32);
/// The ids of the certifications that list a product in their coverage.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CertificationIdsListingProduct(pub i32);

/// The photos of a product, in its order, with their files.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct PhotosOfProduct(pub i32);
/// The logo and cover of a cooperative, with their files.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct PicturesOfCooperative(pub i32);

/// The number of listed cooperatives of a region.
#[derive(Clone, Hash, PartialEq, Eq)]
pub struct ListedCooperativesInRegion(pub String);
/// The lines of an order, in product order.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct LinesOfOrder(pub i64);
/// The products a certification names in its list coverage (none when it covers all
/// products), by name.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ProductsListedByCertification(pub i32);

/// The first page of products of a cooperative (`Cooperative.products` in a list of
/// cooperatives): each cooperative's page, all read in one statement.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct FirstProductsOfCooperative(pub i32, pub reads::FirstProducts);
/// How many products a cooperative lists (sellable ones only unless `.1`; only those low
/// in stock if `.2`), as of `.3`.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ProductCountOfCooperative(pub i32, pub bool, pub bool, pub chrono::NaiveDate);

/// The first page of a product's stock ledger (`Product.stockMovements`), `.1` rows (a
/// page's size plus one): the pages of every product of a list read in one statement.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct FirstStockMovementsOfProduct(pub i32, pub u64);
/// How many lines a product's stock ledger has.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct StockMovementCountOfProduct(pub i32);
/// The first page of the lines a payout statement settles (`PayoutStatement.lines`), `.1`
/// rows (a page's size plus one): the pages of every statement of a list read at once.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct FirstLinesOfStatement(pub i32, pub u64);
/// How many order lines a payout statement settles.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct LineCountOfStatement(pub i32);

/// The stock of a gift pack, computed from its components' (`domain::packs`).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct StockOfPack(pub i32);
/// The compliance issues of a gift pack's components as of a day (the pack's own
/// `active` flag aside).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ComponentIssuesOfPack(pub i32, pub chrono::NaiveDate);
/// The components of a gift pack, in product order.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ComponentsOfPack(pub i32);

/// Declares how [`DbLoader`] reads a key type: `read` gets the connection (`$db`) and
/// the keys not read yet in this request (`$keys`), and answers with a value per key
/// (keys it leaves out have no value). Every loader goes through [`DbLoader::once`].
macro_rules! db_loader {
    ($key:ty => $value:ty, |$db:ident, $keys:ident| $read:expr) => {
        impl async_graphql::dataloader::Loader<$key> for $crate::graphql::loaders::DbLoader {
            type Value = $value;
            type Error = $crate::graphql::loaders::LoadError;

            async fn load(
                &self,
                asked: &[$key],
            ) -> Result<std::collections::HashMap<$key, $value>, Self::Error> {
                self.once(asked, |keys: Vec<$key>| async move {
                    let $db = self.db();
                    let $keys = &keys[..];
                    $read
                })
                .await
            }
        }
    };
}
pub(crate) use db_loader;

/// One row per key: `read` gets the keys' inner values, `key` names a row's key.
macro_rules! one_per_key {
    ($key:ident, $model:ty, $read:path, |$row:ident| $row_key:expr) => {
        db_loader!($key => $model, |db, keys| {
            let rows = $read(db, keys.iter().map(|k| k.0.to_owned()).collect()).await?;
            Ok(rows.into_iter().map(|$row| ($key($row_key), $row)).collect())
        });
    };
}

/// A list per key (empty for keys without rows), in the order `read` returns the rows;
/// each row is the list's item, or `value` of it.
macro_rules! list_per_key {
    ($key:ident, $model:ty, $read:path, |$row:ident| $row_key:expr) => {
        list_per_key!($key, $model, $read, |$row| $row_key => $row);
    };
    ($key:ident, $item:ty, $read:path, |$row:ident| $row_key:expr => $value:expr) => {
        db_loader!($key => Vec<$item>, |db, keys| {
            let rows = $read(db, keys.iter().map(|k| k.0.to_owned()).collect()).await?;
            Ok(group(keys, rows.into_iter().map(|$row| ($key($row_key), $value))))
        });
    };
}

/// The first rows of each parent's list, keyed by (parent, rows): one read per page size
/// asked (in practice, one), every key present.
macro_rules! first_rows_per_key {
    ($key:ident, $model:ty, $read:path, |$row:ident| $parent:expr) => {
        db_loader!($key => Vec<$model>, |db, keys| {
            let mut map = group(keys, std::iter::empty());
            for (rows, parents) in batches(keys, |k| (k.1, k.0)) {
                for $row in $read(db, parents, rows).await? {
                    map.entry($key($parent, rows)).or_default().push($row);
                }
            }
            Ok(map)
        });
    };
}

/// A count per key (0 for keys without rows).
macro_rules! count_per_key {
    ($key:ident, $read:path) => {
        db_loader!($key => i64, |db, keys| {
            let counts = $read(db, keys.iter().map(|k| k.0.to_owned()).collect()).await?;
            Ok(keys
                .iter()
                .map(|k| (k.to_owned(), counts.get(&k.0).copied().unwrap_or(0)))
                .collect())
        });
    };
}

/// Rows grouped by key, every key present.
pub(crate) fn group<K: Clone + Eq + Hash, V>(
    keys: &[K],
    rows: impl Iterator<Item = (K, V)>,
) -> HashMap<K, Vec<V>> {
    let mut map: HashMap<K, Vec<V>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
    for (k, v) in rows {
        map.entry(k).or_default().push(v);
    }
    map
}

/// The inner values of `keys` split by what else the key says (a page's size or kind),
/// so that each kind is read in one statement.
fn batches<K, P: Eq + Hash, I>(keys: &[K], split: impl Fn(&K) -> (P, I)) -> HashMap<P, Vec<I>> {
    let mut batches: HashMap<P, Vec<I>> = HashMap::new();
    for key in keys {
        let (kind, inner) = split(key);
        batches.entry(kind).or_default().push(inner);
    }
    batches
}

one_per_key!(
    CooperativeKey,
    cooperative::Model,
    reads::cooperatives,
    |r| r.id
);
one_per_key!(ProductKey, product::Model, reads::products, |r| r.id);
one_per_key!(SegmentKey, segment::Model, reads::segments, |r| r.id);
one_per_key!(RegionKey, region::Model, reads::regions, |r| r.code.clone());
one_per_key!(UserKey, user::Model, reads::users, |r| r.id);
one_per_key!(
    DeliveryMethodKey,
    delivery_method::Model,
    reads::delivery_methods,
    |r| r.id
);
one_per_key!(
    CertificationKey,
    certification::Model,
    reads::certifications,
    |r| r.id
);
one_per_key!(
    PayoutStatementKey,
    payout_statement::Model,
    reads::payout_statements,
    |r| r.id
);
one_per_key!(ProvinceKey, province::Model, reads::provinces, |r| r.id);
list_per_key!(
    ProvincesOfRegion,
    province::Model,
    reads::provinces_of_regions,
    |r| r.region_code.clone()
);
list_per_key!(
    CertificationsOfCooperative,
    certification::Model,
    reads::certifications_of_cooperatives,
    |r| r.cooperative_id
);
list_per_key!(
    LinesOfOrder,
    order_line::Model,
    reads::lines_of_orders,
    |r| r.order_id
);
list_per_key!(
    EventsOfOrder,
    order_event::Model,
    reads::events_of_orders,
    |r| r.order_id
);
list_per_key!(
    CertificationIdsListingProduct,
    i32,
    reads::coverage_of_products,
    |l| l.product_id => l.certification_id
);
list_per_key!(
    PhotosOfProduct,
    images::ProductPhoto,
    images::photos_of_products,
    |r| r.record.product_id
);
list_per_key!(
    PicturesOfCooperative,
    images::CooperativePicture,
    images::pictures_of_cooperatives,
    |r| r.record.cooperative_id
);
first_rows_per_key!(
    FirstStockMovementsOfProduct,
    stock_movement::Model,
    reads::first_stock_movements_of_products,
    |r| r.product_id
);
first_rows_per_key!(
    FirstLinesOfStatement,
    SettledLine,
    reads::first_lines_of_statements,
    |r| r.line.payout_statement_id.unwrap_or_default()
);
count_per_key!(
    StockMovementCountOfProduct,
    reads::stock_movement_counts_of_products
);
count_per_key!(LineCountOfStatement, reads::line_counts_of_statements);
count_per_key!(
    ListedCooperativesInRegion,
    reads::listed_cooperatives_per_region
);

db_loader!(ProductsListedByCertification => Vec<product::Model>, |db, keys| {
    let rows = reads::products_listed_by_certifications(db, keys.iter().map(|k| k.0).collect())
        .await?;
    let mut map = group(
        keys,
        rows.into_iter()
            .map(|(c, p)| (ProductsListedByCertification(c), p)),
    );
    for list in map.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    }
    Ok(map)
});

db_loader!(FirstProductsOfCooperative => Vec<product::Model>, |db, keys| {
    let mut map = group(keys, std::iter::empty());
    // One statement per kind of page (in practice, one).
    for (page, ids) in batches(keys, |k| (k.1, k.0)) {
        for row in reads::first_products_of_cooperatives(db, ids, page).await? {
            map.entry(FirstProductsOfCooperative(row.cooperative_id, page))
                .or_default()
                .push(row);
        }
    }
    Ok(map)
});

db_loader!(ProductCountOfCooperative => i64, |db, keys| {
    let mut map: HashMap<_, _> = keys.iter().map(|k| (*k, 0)).collect();
    for ((all, low, today), ids) in batches(keys, |k| ((k.1, k.2, k.3), k.0)) {
        let counts = reads::product_counts_of_cooperatives(db, ids, all, low, today).await?;
        for (id, n) in counts {
            map.insert(ProductCountOfCooperative(id, all, low, today), n);
        }
    }
    Ok(map)
});

db_loader!(StockOfPack => i32, |db, keys| {
    let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
    let levels = market_core::domain::packs::available(db, &ids).await?;
    Ok(keys
        .iter()
        .map(|k| (*k, levels.get(&k.0).copied().unwrap_or(0)))
        .collect())
});
db_loader!(ComponentIssuesOfPack => Vec<market_core::domain::compliance::ComplianceIssue>, |db, keys| {
    let mut map = HashMap::new();
    for (day, ids) in batches(keys, |k| (k.1, k.0)) {
        let mut issues = market_core::domain::packs::component_issues(db, &ids, day).await?;
        for id in ids {
            map.insert(ComponentIssuesOfPack(id, day), issues.remove(&id).unwrap_or_default());
        }
    }
    Ok(map)
});
db_loader!(ComponentsOfPack => Vec<market_core::models::pack_component::Model>, |db, keys| {
    let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
    let mut components = market_core::domain::packs::components_of(db, &ids).await?;
    Ok(keys
        .iter()
        .map(|k| (*k, components.remove(&k.0).unwrap_or_default()))
        .collect())
});
