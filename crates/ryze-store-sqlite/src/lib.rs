//! The SQLite implementation of the store ports (`ryze_ports::store`), the embedded
//! default: accounts, instances and their Chatwoot integrations (and the bridge's own
//! integrations, `ryze_ports::BridgeIntegrationStore`, the event hub's durable streams,
//! `ryze_ports::EventHubStore`, and the bridge's relay memory, `ryze_ports::RelayStore`
//! and `ryze_ports::OutboundQueueStore`) in one file, over a deadpool pool
//! of diesel connections driven by diesel-async's `SyncConnectionWrapper` (SQLite itself
//! is compiled in: bundled libsqlite3). The rows, the queries and the
//! error translation are `ryze-store-diesel`'s, shared with the PostgreSQL store; this
//! crate adds the pool and its connections, the transactions (`ports`), the migrations and
//! the store's own runtime.
//!
//! The schema comes from this crate's own embedded, reversible migrations in
//! `migrations/`, applied by [`run_migrations`]; [`SqliteStore::open`] never migrates.
//! Instance inserts run in `BEGIN IMMEDIATE` transactions: writers take turns, so the
//! quota, name and token checks cannot race. Every operation runs on a small runtime the
//! store owns, so a caller that stops waiting (a cancelled request) cannot break it.

mod blocking;
mod connection;
mod errors;
mod migrations;
mod ports;
mod store;

pub use migrations::{revert_all_migrations, run_migrations, MigrationError};
pub use store::{SqliteSettings, SqliteStore};
