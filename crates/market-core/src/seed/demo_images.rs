//! The demo catalog's pictures: one plain illustration per product segment (drawn by
//! `cargo run --example demo_images`, a few KB each, embedded here), given to every demo
//! product of its segment, so the storefront demo shows pictures offline. They go
//! through the same checks and storage as an upload.

use crate::domain::images::ImageStore;
use crate::entities::{product, segment};
use crate::error::AppResult;
use sea_orm::{DatabaseConnection, EntityTrait};
use std::collections::HashMap;

/// Each segment's picture, by segment slug.
pub const PICTURES: &[(&str, &[u8])] = &[
    (
        "olive-oil",
        include_bytes!("data/demo/images/olive-oil.png"),
    ),
    ("olives", include_bytes!("data/demo/images/olives.png")),
    (
        "preserves",
        include_bytes!("data/demo/images/preserves.png"),
    ),
    ("vinegar", include_bytes!("data/demo/images/vinegar.png")),
    ("honey", include_bytes!("data/demo/images/honey.png")),
    ("spices", include_bytes!("data/demo/images/spices.png")),
    ("argan", include_bytes!("data/demo/images/argan.png")),
    (
        "couscous-semolina",
        include_bytes!("data/demo/images/couscous-semolina.png"),
    ),
    ("dates", include_bytes!("data/demo/images/dates.png")),
    (
        "herbs-teas",
        include_bytes!("data/demo/images/herbs-teas.png"),
    ),
    (
        "amlou-spreads",
        include_bytes!("data/demo/images/amlou-spreads.png"),
    ),
    (
        "seeds-grains",
        include_bytes!("data/demo/images/seeds-grains.png"),
    ),
    ("seafood", include_bytes!("data/demo/images/seafood.png")),
    (
        "camel-milk",
        include_bytes!("data/demo/images/camel-milk.png"),
    ),
    (
        "cosmetics",
        include_bytes!("data/demo/images/cosmetics.png"),
    ),
    (
        "argan-cosmetics",
        include_bytes!("data/demo/images/argan-cosmetics.png"),
    ),
    (
        "soaps-hammam",
        include_bytes!("data/demo/images/soaps-hammam.png"),
    ),
    (
        "rose-water",
        include_bytes!("data/demo/images/rose-water.png"),
    ),
    (
        "gift-sets",
        include_bytes!("data/demo/images/gift-sets.png"),
    ),
    ("pottery", include_bytes!("data/demo/images/pottery.png")),
    ("weaving", include_bytes!("data/demo/images/weaving.png")),
    ("leather", include_bytes!("data/demo/images/leather.png")),
    ("basketry", include_bytes!("data/demo/images/basketry.png")),
    ("woodwork", include_bytes!("data/demo/images/woodwork.png")),
    ("jewelry", include_bytes!("data/demo/images/jewelry.png")),
];

/// Gives every product without photos its segment's picture; returns how many got one.
pub async fn add_demo_pictures(db: &DatabaseConnection, store: &ImageStore) -> AppResult<usize> {
    let segments: HashMap<i32, segment::Model> = segment::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let products = product::Entity::find().all(db).await?;
    let mut added = 0;
    for (slug, bytes) in PICTURES {
        let Some(segment) = segments.values().find(|s| s.slug == *slug) else {
            continue;
        };
        let ids: Vec<i32> = products
            .iter()
            .filter(|p| p.segment_id == segment.id)
            .map(|p| p.id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let prepared = store.prepare(bytes.to_vec()).await?;
        let alt = format!("{}: an illustration", segment.name);
        added += store
            .add_to_products_without_photos(db, &prepared, &ids, &alt)
            .await?;
    }
    Ok(added)
}
