//! Solidarity Market: the GraphQL backend of a fair-trade marketplace for cooperative
//! products. The work is split in two crates the compiler keeps apart: `market-core` (the
//! domain, with the only access to the database) and `market-api` (HTTP and GraphQL over
//! it). This crate is the binary and its data commands (`cli`); it re-exports both so the
//! tests and tools have one name to import.

pub mod cli;

pub use market_api::{AppState, app, graphql, http, server};
pub use market_core::{config, db, domain, error, models, page, prepare_database, seed, seed_demo};
