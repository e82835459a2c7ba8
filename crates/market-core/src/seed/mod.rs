//! Initial data: the reference tables every database needs, the demo catalog with its
//! recent history, and the market-scale catalog of the benchmarks.

pub mod demo;
pub mod demo_history;
pub mod demo_images;
pub mod history;
pub mod i18n;
pub mod market;
mod plan;
mod tables;

use crate::entities::{province, region, segment};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use std::collections::HashSet;

/// Rows per `INSERT`: keeps every statement well under SQLite's bound-parameter limit
/// (999 on old builds) whatever the width of the table.
const CHUNK: usize = 50;

/// Fills the reference data every database needs (12 regions with provinces, segments),
/// from the files of `crates/market-core/src/seed/data/reference/` ([`tables::reference`]). Idempotent:
/// inserts only what is missing, keyed by region code / segment slug (and province name
/// within its region), so it is safe on every start and after an upgrade that adds a
/// province or a segment.
pub async fn seed_reference_data(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let reference = tables::reference()?;
    let known: HashSet<String> = region::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.code)
        .collect();
    let regions = (1..)
        .zip(&reference.regions)
        .filter(|(_, r)| !known.contains(r.code))
        .map(|(position, r)| region::ActiveModel {
            code: Set(r.code.to_owned()),
            name: Set(r.name.to_owned()),
            position: Set(position),
        });
    insert_chunked(db, regions).await?;

    let known: HashSet<(String, String)> = province::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.region_code, p.name))
        .collect();
    let provinces = reference
        .regions
        .iter()
        .flat_map(|r| r.provinces.iter().map(move |p| (r.code, *p)))
        .filter(|(code, name)| !known.contains(&((*code).to_owned(), (*name).to_owned())))
        .map(|(code, name)| province::ActiveModel {
            id: Default::default(),
            region_code: Set(code.to_owned()),
            name: Set(name.to_owned()),
        });
    insert_chunked(db, provinces).await?;
    crate::domain::delivery::seed(db).await?;

    let known: HashSet<String> = segment::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.slug)
        .collect();
    let segments = (1..)
        .zip(&reference.segments)
        .filter(|(_, s)| !known.contains(&s.slug))
        .map(|(position, s)| segment::ActiveModel {
            id: Default::default(),
            slug: Set(s.slug.clone()),
            name: Set(s.name.clone()),
            description: Set(i18n::SEGMENTS
                .get(&s.slug)
                .map(|(_, english)| english.clone())
                .unwrap_or_default()),
            kind: Set(s.kind),
            position: Set(position),
        });
    insert_chunked(db, segments).await?;
    // Their names in the other languages (and the segments' descriptions).
    if i18n::seed_reference_texts(db).await? {
        crate::domain::catalog_version::touch_texts(db).await?;
    }
    Ok(())
}

/// Inserts `rows` with multi-row `INSERT`s of at most [`CHUNK`] rows; returns how many.
/// Ids are not returned: callers read them back by a natural key, which works the same
/// on SQLite and PostgreSQL.
async fn insert_chunked<A>(
    db: &impl ConnectionTrait,
    rows: impl IntoIterator<Item = A>,
) -> Result<usize, DbErr>
where
    A: ActiveModelTrait,
{
    let mut rows = rows.into_iter().peekable();
    let mut inserted = 0;
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        inserted += chunk.len();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(inserted)
}
