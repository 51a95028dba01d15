//! The PostgreSQL implementation of the store ports (`ryze_ports::store`): accounts,
//! instances and their Chatwoot integrations, the bridge's own integrations
//! (`ryze_ports::BridgeIntegrationStore`), the event hub's durable streams
//! (`ryze_ports::EventHubStore`) and the bridge's relay memory (`ryze_ports::RelayStore`,
//! `ryze_ports::OutboundQueueStore`), over a deadpool pool of diesel-async
//! connections (tokio-postgres underneath: no libpq). The rows, the queries and the
//! error translation are `ryze-store-diesel`'s, shared with the SQLite store; this crate
//! adds the pool, PostgreSQL's locks (`ports`), the migrations, and TLS: `sslmode` and
//! `sslrootcert` in the URL, as libpq reads them, over rustls (`connection`, `tls`).
//!
//! The schema comes from the embedded, reversible migrations in `migrations/`, applied
//! by [`run_migrations`]; [`PostgresStore::connect`] never migrates. With the
//! `test-support` feature, `test_support::TestDatabase` gives each test a fresh,
//! migrated database.

mod connection;
mod errors;
mod migrations;
mod ports;
mod store;
#[cfg(feature = "test-support")]
pub mod test_support;
mod tls;

pub use connection::{ConnectionSettingsError, SslMode};
pub use migrations::{revert_all_migrations, run_migrations, MigrationError};
pub use store::{PostgresSettings, PostgresStore};
