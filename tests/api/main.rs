//! The API test suite: GraphQL requests through the router (or a running server), on
//! SQLite by default and on PostgreSQL when `TEST_DATABASE_URL` points at a server.

mod accounts;
mod analytics;
mod answers;
mod batching;
mod catalog;
mod checkout;
mod compliance;
mod demo;
mod events;
mod fairness;
mod fixtures;
mod graphiql;
mod helpers;
mod http;
mod i18n;
mod images;
mod import;
mod inputs;
mod introspection;
mod layers;
mod limits;
mod member_order;
mod operability;
mod orders;
mod outage;
mod own_postgres;
mod packs;
mod payouts;
mod portal;
mod promotions;
mod readme;
mod response_cache;
mod schema;
mod search;
mod signin;
