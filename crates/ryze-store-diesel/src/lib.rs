//! Diesel building blocks shared by the SQL store adapters (`ryze-store-postgres`,
//! `ryze-store-sqlite`): everything about the store ports that does not depend on the
//! backend, written once.
//!
//! - [`schema`]: diesel's view of the tables, one `table!` per table for both backends
//!   (timestamps use [`sql_types::UtcTimestamp`], which each backend stores its own way).
//! - [`rows`]: the row types and their conversion to and from the domain.
//! - [`errors`]: translation of diesel's and the pool's errors into the ports' errors;
//!   what differs between backends comes in through [`errors::ErrorTranslation`].
//! - [`impl_store_ports!`]: the queries of every store port, expanded in each store crate
//!   for its own connection type, with the backend's transaction and locks passed in.
//! - [`impl_sealed_secret_store!`]: the queries of `SealedSecretStore`, every kind of
//!   sealed secret over its own table (expanded by [`impl_store_ports!`]).
//! - [`impl_bridge_integration_store!`]: the queries of the bridge's own port
//!   (`BridgeIntegrationStore`, table `bridge_integrations`), expanded the same way.
//! - [`impl_event_hub_store!`]: the queries of the event hub's port (`EventHubStore`,
//!   tables `hub_events`, `hub_cursors` and `hub_event_ids`), expanded the same way with
//!   the backend's transaction and cursor lock; [`event_hub`] also holds retention's age
//!   rule.
//! - [`impl_relay_store!`]: the queries of the bridge's relay memory (`RelayStore` and
//!   `OutboundQueueStore`, tables `relay_*`), expanded the same way with the backend's
//!   transaction; [`relay`] also holds their rows.
//! - [`impl_integration_leases!`]: the queries of the bridge nodes' leases
//!   (`IntegrationLeases`, tables `bridge_leases` and `bridge_nodes`), each a single
//!   conditional statement on the database's clock ([`leases`]).
//! - [`pool`] and [`migrations`]: taking a pooled connection, running the embedded
//!   migrations.
//!
//! A store crate keeps only what is really its own: the pool and how connections are
//! opened, its migrations, its locking, and the few error rules its database words
//! differently. This crate never depends on a store crate.

mod bridge_ports;
pub mod errors;
pub mod event_hub;
pub mod leases;
pub mod migrations;
pub mod pool;
mod ports;
pub mod relay;
pub mod rows;
pub mod schema;
mod sealed_secrets;
pub mod sql_types;

/// What [`impl_store_ports!`] expands to refers to: re-exported so the expansion does not
/// depend on the calling crate's own dependencies. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use chrono;
    pub use diesel;
    pub use diesel_async;
    pub use ryze_domain;
    pub use ryze_ports;
}
