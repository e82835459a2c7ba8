//! The rules of the market, independent of GraphQL: what may be sold, how stock moves,
//! how orders and payouts are settled, and who may do what.

pub mod catalog;
pub mod compliance;
pub mod enums;
pub mod policy;
pub mod search;
