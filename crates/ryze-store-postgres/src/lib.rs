//! The PostgreSQL implementation of the store ports (`ryze_ports::store`): accounts,
//! instances and their Chatwoot integrations, over a deadpool pool of diesel-async
//! connections (tokio-postgres underneath: no libpq).
//!
//! The schema comes from the embedded, reversible migrations in `migrations/`, applied
//! by [`run_migrations`]; [`PostgresStore::connect`] never migrates. With the
//! `test-support` feature, [`test_support::TestDatabase`] gives each test a fresh,
//! migrated database.

mod accounts;
mod errors;
mod instances;
mod integrations;
mod migrations;
mod rows;
mod schema;
mod store;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use migrations::{revert_all_migrations, run_migrations, MigrationError};
pub use store::{PostgresSettings, PostgresStore};
