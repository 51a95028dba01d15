//! The store ports on [`PooledSqlite`]: the queries shared with PostgreSQL
//! ([`ryze_store_diesel::impl_store_ports!`]), with SQLite's concurrency control, and the
//! bridge's port ([`ryze_store_diesel::impl_bridge_integration_store!`]), which needs
//! none, and the event hub's ([`ryze_store_diesel::impl_event_hub_store!`]).
//!
//! Inserts, and every write of the event hub, run in `BEGIN IMMEDIATE` transactions,
//! which take the database's write lock at once: concurrent writers run one after the
//! other, so the quota, name and token checks see every committed row, hub sequences are
//! consecutive, and no row or token lock is needed.

use ryze_store_diesel::{impl_bridge_integration_store, impl_event_hub_store, impl_store_ports};

use crate::errors::SqliteErrors;
use crate::store::{PooledSqlite, SqliteAsyncConnection};

impl_store_ports! {
    store: PooledSqlite,
    connection: SqliteAsyncConnection,
    errors: SqliteErrors,
    write_transaction: immediate_transaction,
}

impl_bridge_integration_store! {
    store: PooledSqlite,
    errors: SqliteErrors,
}

impl_event_hub_store! {
    store: PooledSqlite,
    connection: SqliteAsyncConnection,
    errors: SqliteErrors,
    write_transaction: immediate_transaction,
}
