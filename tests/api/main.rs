//! The API test suite: GraphQL requests through the router (or a running server), on
//! SQLite by default and on PostgreSQL when `TEST_DATABASE_URL` points at a server.

mod accounts;
mod analytics;
mod catalog;
mod compliance;
mod demo;
mod fixtures;
mod graphiql;
mod helpers;
mod http;
mod import;
mod orders;
mod payouts;
mod portal;
mod schema;
