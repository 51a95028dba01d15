//! The store ports on [`SqliteStore`]: the queries shared with PostgreSQL, expanded from
//! `ryze-store-diesel`'s macros with SQLite's concurrency control. Inserts, every write
//! of the event hub and the relay's writes of several rows run in `BEGIN IMMEDIATE`
//! transactions, which take the database's write lock at once: writers run one after the
//! other, so the quota, name and token checks see every committed row, hub sequences are
//! consecutive, an event id is remembered once, and no row or token lock is needed.

use ryze_store_diesel::{
    impl_bridge_integration_store, impl_event_hub_store, impl_relay_store, impl_store_ports,
};

use crate::blocking::{ImmediateTransaction as _, SqliteAsyncConnection};
use crate::errors::SqliteErrors;
use crate::store::SqliteStore;

impl_store_ports! {
    store: SqliteStore,
    connection: SqliteAsyncConnection,
    errors: SqliteErrors,
    write_transaction: immediate_transaction,
}

impl_bridge_integration_store! {
    store: SqliteStore,
    errors: SqliteErrors,
}

impl_event_hub_store! {
    store: SqliteStore,
    connection: SqliteAsyncConnection,
    errors: SqliteErrors,
    write_transaction: immediate_transaction,
}

impl_relay_store! {
    store: SqliteStore,
    connection: SqliteAsyncConnection,
    errors: SqliteErrors,
    write_transaction: immediate_transaction,
}

ryze_store_diesel::impl_integration_leases! {
    store: SqliteStore,
    errors: SqliteErrors,
    now_ms: ryze_store_diesel::leases::SQLITE_NOW_MS,
}
