//! The SQLite implementation of the store ports (`ryze_ports::store`), the embedded
//! default: accounts, instances and their Chatwoot integrations in one file, over a
//! deadpool pool of diesel connections driven by diesel-async's `SyncConnectionWrapper`
//! (SQLite itself is compiled in: bundled libsqlite3).
//!
//! The schema comes from this crate's own embedded, reversible migrations in
//! `migrations/`, applied by [`run_migrations`]; [`SqliteStore::open`] never migrates.
//! Instance inserts run in `BEGIN IMMEDIATE` transactions: writers take turns, so the
//! quota, name and token checks cannot race. Every operation runs on a small runtime the
//! store owns, so a caller that stops waiting (a cancelled request) cannot break it.

mod accounts;
mod connection;
mod errors;
mod instances;
mod integrations;
mod isolated_runtime;
mod migrations;
mod rows;
mod schema;
mod store;

pub use isolated_runtime::SqliteStore;
pub use migrations::{revert_all_migrations, run_migrations, MigrationError};
pub use store::SqliteSettings;
