//! The SQLite implementation of the store ports (`ryze_ports::store`), the embedded
//! default (bundled libsqlite3). The rows, the queries and the error translation are
//! `ryze-store-diesel`'s, shared with the PostgreSQL store; this crate adds the pool
//! (`store`), how its blocking statements run (`blocking`), its transactions (`ports`) and
//! its embedded, reversible migrations (`migrations/`, applied by [`run_migrations`];
//! [`SqliteStore::open`] never migrates). Writes run in `BEGIN IMMEDIATE` transactions, so
//! writers take turns; a caller that stops waiting (a cancelled request) cannot break the
//! store, whatever runtime it uses.

mod blocking;
mod connection;
mod errors;
mod migrations;
mod ports;
mod store;

pub use migrations::{revert_all_migrations, run_migrations, MigrationError};
pub use store::{SqliteSettings, SqliteStore};
