//! sea-orm models, one file per table. These are storage, not API: the GraphQL types in
//! `graphql/` are built from them, never derived on them.

pub mod account_throttle;
pub mod address;
pub mod auth_token;
pub mod cart;
pub mod cart_line;
pub mod certification;
pub mod certification_product;
pub mod cooperative;
pub mod cooperative_image;
pub mod delivery_method;
pub mod delivery_rate;
pub mod delivery_zone;
pub mod login_attempt;
pub mod order;
pub mod order_event;
pub mod order_line;
pub mod pack_component;
pub mod payout_adjustment;
pub mod payout_statement;
pub mod product;
pub mod product_image;
pub mod promotion;
pub mod province;
pub mod region;
pub mod segment;
pub mod sign_in_source;
pub mod stock_movement;
pub mod stored_image;
pub mod translation;
pub mod user;
