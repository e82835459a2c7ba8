//! The rows the API reads, as plain structs: each table's `Model`, without its `Entity`
//! or `Column`. Outside this crate a row can be read, never queried: the queries live in
//! `domain`.

/// Rows of the `account_throttle` table.
pub mod account_throttle {
    pub use crate::entities::account_throttle::Model;
}

/// Rows of the `auth_token` table.
pub mod auth_token {
    pub use crate::entities::auth_token::Model;
}

/// Rows of the `certification` table.
pub mod certification {
    pub use crate::entities::certification::Model;
}

/// Rows of the `certification_product` table.
pub mod certification_product {
    pub use crate::entities::certification_product::Model;
}

/// Rows of the `cooperative` table.
pub mod cooperative {
    pub use crate::entities::cooperative::Model;
}

/// Rows of the `login_attempt` table.
pub mod login_attempt {
    pub use crate::entities::login_attempt::Model;
}

/// Rows of the `order` table.
pub mod order {
    pub use crate::entities::order::Model;
}

/// Rows of the `pack_components` table.
pub mod pack_component {
    pub use crate::entities::pack_component::Model;
}

/// Rows of the `promotions` table.
pub mod promotion {
    pub use crate::entities::promotion::Model;
}

/// Rows of the `order_event` table.
pub mod order_event {
    pub use crate::entities::order_event::Model;
}

/// Rows of the `order_line` table.
pub mod order_line {
    pub use crate::entities::order_line::Model;
}

/// Rows of the `payout_adjustment` table.
pub mod payout_adjustment {
    pub use crate::entities::payout_adjustment::Model;
}

/// Rows of the `payout_statement` table.
pub mod payout_statement {
    pub use crate::entities::payout_statement::Model;
}

/// Rows of the `product` table.
pub mod product {
    pub use crate::entities::product::Model;
}

/// Rows of the `province` table.
pub mod province {
    pub use crate::entities::province::Model;
}

/// Rows of the `region` table.
pub mod region {
    pub use crate::entities::region::Model;
}

/// Rows of the `segment` table.
pub mod segment {
    pub use crate::entities::segment::Model;
}

/// Rows of the `sign_in_source` table.
pub mod sign_in_source {
    pub use crate::entities::sign_in_source::Model;
}

/// Rows of the `stock_movement` table.
pub mod stock_movement {
    pub use crate::entities::stock_movement::Model;
}

/// Rows of the `translation` table.
pub mod translation {
    pub use crate::entities::translation::Model;
}

/// Rows of the `user` table.
pub mod user {
    pub use crate::entities::user::Model;
}

/// Rows of the `cooperative_image` table.
pub mod cooperative_image {
    pub use crate::entities::cooperative_image::Model;
}

/// Rows of the `product_image` table.
pub mod product_image {
    pub use crate::entities::product_image::Model;
}

/// Rows of the `stored_image` table.
pub mod stored_image {
    pub use crate::entities::stored_image::Model;
}

/// Rows of the `address` table.
pub mod address {
    pub use crate::entities::address::Model;
}

/// Rows of the `cart` table.
pub mod cart {
    pub use crate::entities::cart::Model;
}

/// Rows of the `cart_line` table.
pub mod cart_line {
    pub use crate::entities::cart_line::Model;
}

/// Rows of the `delivery_method` table.
pub mod delivery_method {
    pub use crate::entities::delivery_method::Model;
}

/// Rows of the `delivery_rate` table.
pub mod delivery_rate {
    pub use crate::entities::delivery_rate::Model;
}

/// Rows of the `delivery_zone` table.
pub mod delivery_zone {
    pub use crate::entities::delivery_zone::Model;
}
