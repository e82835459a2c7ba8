//! The API test suite: GraphQL requests through the router (or a running server), on
//! SQLite by default and on PostgreSQL when `TEST_DATABASE_URL` points at a server.

mod accounts;
mod catalog;
mod fixtures;
mod helpers;
mod http;
mod portal;
mod schema;
