//! Batched reads (DataLoader). One loader per request, caching what it read for the
//! rest of the request (never across requests or viewers); every key type loads whole
//! rows in one query per batch.

use crate::entities::{
    certification, certification_product, cooperative, product, region, segment, user,
};
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Reads rows by key from the database.
pub struct DbLoader {
    db: DatabaseConnection,
}

impl DbLoader {
    /// The connection, for loaders declared next to their types (e.g. `graphql::payouts`).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// The request's DataLoader.
pub type Loaders = DataLoader<DbLoader, HashMapCache>;

/// Makes the DataLoader of one request.
pub fn loaders(db: DatabaseConnection, delay: Duration) -> Loaders {
    // Batches run in tasks of their own: they carry the request's span (and so its
    // request id) into their log lines.
    DataLoader::with_cache(
        DbLoader { db },
        |batch| tokio::spawn(tracing::Instrument::in_current_span(batch)),
        HashMapCache::default(),
    )
    .delay(delay)
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
/// Every certification held by a cooperative (valid or not), oldest first.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CertificationsOfCooperative(pub i32);
/// The ids of the certifications that list a product in their coverage.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct CertificationIdsListingProduct(pub i32);

macro_rules! by_id_loader {
    ($key:ty, $entity:path, $model:ty, $column:expr, $field:ident) => {
        impl Loader<$key> for DbLoader {
            type Value = $model;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $model>, LoadError> {
                let ids: Vec<_> = keys.iter().map(|k| k.0.clone()).collect();
                let rows = <$entity>::find()
                    .filter($column.is_in(ids))
                    .all(&self.db)
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|row| (<$key>::from(row.$field.clone()), row))
                    .collect())
            }
        }

        impl From<<$key as KeyInner>::Inner> for $key {
            fn from(inner: <$key as KeyInner>::Inner) -> Self {
                Self(inner)
            }
        }
    };
}

/// The value wrapped by a key newtype.
pub trait KeyInner {
    type Inner;
}
impl KeyInner for CooperativeKey {
    type Inner = i32;
}
impl KeyInner for ProductKey {
    type Inner = i32;
}
impl KeyInner for SegmentKey {
    type Inner = i32;
}
impl KeyInner for RegionKey {
    type Inner = String;
}
impl KeyInner for UserKey {
    type Inner = i32;
}

by_id_loader!(
    CooperativeKey,
    cooperative::Entity,
    cooperative::Model,
    cooperative::Column::Id,
    id
);
by_id_loader!(
    ProductKey,
    product::Entity,
    product::Model,
    product::Column::Id,
    id
);
by_id_loader!(
    SegmentKey,
    segment::Entity,
    segment::Model,
    segment::Column::Id,
    id
);
by_id_loader!(UserKey, user::Entity, user::Model, user::Column::Id, id);
by_id_loader!(
    RegionKey,
    region::Entity,
    region::Model,
    region::Column::Code,
    code
);

impl Loader<CertificationsOfCooperative> for DbLoader {
    type Value = Vec<certification::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[CertificationsOfCooperative],
    ) -> Result<HashMap<CertificationsOfCooperative, Self::Value>, LoadError> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let rows = certification::Entity::find()
            .filter(certification::Column::CooperativeId.is_in(ids))
            .order_by_asc(certification::Column::Id)
            .all(&self.db)
            .await?;
        let mut map: HashMap<_, Vec<_>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            map.entry(CertificationsOfCooperative(row.cooperative_id))
                .or_default()
                .push(row);
        }
        Ok(map)
    }
}

impl Loader<CertificationIdsListingProduct> for DbLoader {
    type Value = Vec<i32>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[CertificationIdsListingProduct],
    ) -> Result<HashMap<CertificationIdsListingProduct, Self::Value>, LoadError> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let rows = certification_product::Entity::find()
            .filter(certification_product::Column::ProductId.is_in(ids))
            .all(&self.db)
            .await?;
        let mut map: HashMap<_, Vec<_>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            map.entry(CertificationIdsListingProduct(row.product_id))
                .or_default()
                .push(row.certification_id);
        }
        Ok(map)
    }
}

/// The number of listed cooperatives of a region.
#[derive(Clone, Hash, PartialEq, Eq)]
pub struct ListedCooperativesInRegion(pub String);

#[derive(sea_orm::FromQueryResult)]
struct RegionCount {
    region_code: String,
    n: i64,
}

impl Loader<ListedCooperativesInRegion> for DbLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ListedCooperativesInRegion],
    ) -> Result<HashMap<ListedCooperativesInRegion, i64>, LoadError> {
        use sea_orm::{QuerySelect, sea_query::Expr};
        let codes: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = cooperative::Entity::find()
            .select_only()
            .column(cooperative::Column::RegionCode)
            .column_as(Expr::cust("COUNT(*)"), "n")
            .filter(cooperative::Column::RegionCode.is_in(codes))
            .filter(cooperative::Column::Status.eq(crate::domain::enums::CooperativeStatus::Listed))
            .group_by(cooperative::Column::RegionCode)
            .into_model::<RegionCount>()
            .all(&self.db)
            .await?;
        let mut map: HashMap<_, _> = keys.iter().map(|k| (k.clone(), 0)).collect();
        for row in rows {
            map.insert(ListedCooperativesInRegion(row.region_code), row.n);
        }
        Ok(map)
    }
}

/// The lines of an order, in product order.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct LinesOfOrder(pub i64);

impl Loader<LinesOfOrder> for DbLoader {
    type Value = Vec<crate::entities::order_line::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[LinesOfOrder],
    ) -> Result<HashMap<LinesOfOrder, Self::Value>, LoadError> {
        use crate::entities::order_line;
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(ids))
            .order_by_asc(order_line::Column::ProductId)
            .all(&self.db)
            .await?;
        let mut map: HashMap<_, Vec<_>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            map.entry(LinesOfOrder(row.order_id)).or_default().push(row);
        }
        Ok(map)
    }
}

/// The products a certification names in its list coverage (none when it covers all
/// products), by name.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub struct ProductsListedByCertification(pub i32);

impl Loader<ProductsListedByCertification> for DbLoader {
    type Value = Vec<product::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ProductsListedByCertification],
    ) -> Result<HashMap<ProductsListedByCertification, Self::Value>, LoadError> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let links = certification_product::Entity::find()
            .filter(certification_product::Column::CertificationId.is_in(ids))
            .all(&self.db)
            .await?;
        let mut map: HashMap<_, Vec<_>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        if links.is_empty() {
            return Ok(map);
        }
        let products: HashMap<i32, product::Model> = product::Entity::find()
            .filter(product::Column::Id.is_in(links.iter().map(|l| l.product_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        for link in links {
            if let Some(p) = products.get(&link.product_id) {
                map.entry(ProductsListedByCertification(link.certification_id))
                    .or_default()
                    .push(p.clone());
            }
        }
        for list in map.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        }
        Ok(map)
    }
}
