//! The rules of the market, independent of GraphQL: what may be sold, how stock moves,
//! how orders and payouts are settled, and who may do what.

pub mod addresses;
pub mod analytics;
pub mod auth;
pub mod carts;
pub mod catalog;
pub mod catalog_version;
pub mod certifications;
pub mod compliance;
pub mod cooperatives;
pub mod delivery;
pub mod enums;
pub mod events;
pub mod i18n;
pub mod images;
pub mod import;
pub mod input;
pub mod lists;
pub mod market_time;
pub mod orders;
pub mod packs;
pub mod payouts;
pub mod policy;
pub mod promotions;
pub mod reads;
pub mod rollups;
pub mod search;
pub mod signin_limits;
pub mod stock;
pub mod translations;
pub mod webhooks;

/// Sets a field of an update only when the client gave a value for it: an omitted field
/// keeps what is stored (or the new row's default).
pub(crate) fn set_if<T: Into<sea_orm::Value>>(
    slot: &mut sea_orm::ActiveValue<T>,
    value: Option<T>,
) {
    if let Some(value) = value {
        *slot = sea_orm::ActiveValue::Set(value);
    }
}
