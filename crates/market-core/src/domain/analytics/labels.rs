//! Names of dimension values for people: kinds and channels, regions, segments and
//! cooperatives.

use super::{Dimension, Key, RawKey};
use crate::domain::enums::{Channel, CooperativeKind};
use crate::entities::{cooperative, region, segment};
use crate::error::AppResult;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::{HashMap, HashSet};

/// Names the dimension values in `keys`.
pub(super) async fn label(
    db: &impl ConnectionTrait,
    dimension: Dimension,
    keys: impl IntoIterator<Item = RawKey>,
) -> AppResult<HashMap<RawKey, Key>> {
    let keys: HashSet<RawKey> = keys.into_iter().collect();
    let mut out = HashMap::with_capacity(keys.len());
    let fixed = |key: &str, label: &str| Key {
        key: key.to_owned(),
        label: label.to_owned(),
    };
    match dimension {
        Dimension::Kind | Dimension::Channel => {
            for k in keys {
                if let RawKey::Text(text) = &k {
                    let name = match (CooperativeKind::parse(text), Channel::parse(text)) {
                        (Some(kind), _) => kind_label(kind),
                        (_, Some(Channel::Online)) => "Online",
                        (_, Some(Channel::Store)) => "Store",
                        _ => text.as_str(),
                    };
                    let key = fixed(text, name);
                    out.insert(k, key);
                }
            }
        }
        Dimension::Region => {
            let names: HashMap<String, String> = region::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|r| (r.code, r.name))
                .collect();
            for k in keys {
                if let RawKey::Text(code) = &k {
                    let name = names.get(code).cloned().unwrap_or_else(|| code.clone());
                    let key = Key {
                        key: code.clone(),
                        label: name,
                    };
                    out.insert(k, key);
                }
            }
        }
        Dimension::Segment => {
            let names: HashMap<i32, (String, String)> = segment::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|s| (s.id, (s.slug, s.name)))
                .collect();
            for k in keys {
                if let RawKey::Int(id) = k
                    && let Some((slug, name)) = names.get(&id)
                {
                    out.insert(k, fixed(slug, name));
                }
            }
        }
        Dimension::Cooperative => {
            let ids: Vec<i32> = keys
                .iter()
                .filter_map(|k| match k {
                    RawKey::Int(id) => Some(*id),
                    RawKey::Text(_) => None,
                })
                .collect();
            let names: HashMap<i32, (String, String)> = cooperative::Entity::find()
                .filter(cooperative::Column::Id.is_in(ids))
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, (c.slug, c.name)))
                .collect();
            for k in keys {
                if let RawKey::Int(id) = k
                    && let Some((slug, name)) = names.get(&id)
                {
                    out.insert(k, fixed(slug, name));
                }
            }
        }
    }
    Ok(out)
}

/// The name of a kind of cooperative, for people.
pub fn kind_label(kind: CooperativeKind) -> &'static str {
    match kind {
        CooperativeKind::Terroir => "Terroir",
        CooperativeKind::Cosmetics => "Cosmetics",
        CooperativeKind::Handicrafts => "Handicrafts",
    }
}
