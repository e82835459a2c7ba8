//! The rules of the market, independent of GraphQL: what may be sold, how stock moves,
//! how orders and payouts are settled, and who may do what.

pub mod auth;
pub mod catalog;
pub mod compliance;
pub mod cooperatives;
pub mod enums;
pub mod policy;
pub mod search;
pub mod stock;
