//! The store ports on [`PostgresStore`]: the queries shared with SQLite
//! ([`ryze_store_diesel::impl_store_ports!`]), with PostgreSQL's concurrency control, the
//! bridge's port ([`ryze_store_diesel::impl_bridge_integration_store!`]), which needs
//! none, the event hub's ([`ryze_store_diesel::impl_event_hub_store!`]) and the bridge's
//! relay memory ([`ryze_store_diesel::impl_relay_store!`]: `RelayStore` and
//! `OutboundQueueStore`).
//!
//! Inserts run in plain transactions, made race-free by two locks held until the
//! transaction ends:
//! - `insert_instance` first reads the account's row `SELECT … FOR UPDATE`: concurrent
//!   inserts into one account run one after the other, so the quota and name checks see
//!   every committed instance;
//! - before checking that a token hash is unused, every writer of it (account or
//!   instance) takes an advisory lock on it ([`lock_token_hash`]): the unique constraints
//!   alone only cover one table each.
//!
//! The event hub's writes of one instance queue on its `hub_cursors` row: an append's
//! upsert of the row locks it, and acknowledgement, retention and discarding read it
//! `SELECT … FOR UPDATE` first; an append of an event with an id first inserts the id,
//! so a concurrent append of the same id waits on that uncommitted row and then sees it.
//!
//! The relay's writes need no lock: its unique rules and `ON CONFLICT DO NOTHING` decide
//! between concurrent writers.

use diesel::sql_types::{Integer, Text};
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ryze_domain::TokenHash;

use crate::errors::PostgresErrors;
use crate::PostgresStore;

/// First key of the advisory locks taken on token hashes ("RYZT" in ASCII).
const TOKEN_LOCK_NAMESPACE: i32 = 0x5259_5A54;

/// Serialises, until the end of the current transaction, every writer of this token hash
/// (account or instance), so the "unused by both tables" check cannot race.
async fn lock_token_hash(
    connection: &mut AsyncPgConnection,
    token_hash: &TokenHash,
) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind::<Integer, _>(TOKEN_LOCK_NAMESPACE)
        .bind::<Text, _>(token_hash.as_str())
        .execute(connection)
        .await?;
    Ok(())
}

ryze_store_diesel::impl_store_ports! {
    store: PostgresStore,
    connection: AsyncPgConnection,
    errors: PostgresErrors,
    write_transaction: transaction,
    account_row_lock: for_update,
    token_hash_lock: lock_token_hash,
}

ryze_store_diesel::impl_bridge_integration_store! {
    store: PostgresStore,
    errors: PostgresErrors,
}

ryze_store_diesel::impl_event_hub_store! {
    store: PostgresStore,
    connection: AsyncPgConnection,
    errors: PostgresErrors,
    write_transaction: transaction,
    cursor_row_lock: for_update,
}

ryze_store_diesel::impl_relay_store! {
    store: PostgresStore,
    connection: AsyncPgConnection,
    errors: PostgresErrors,
    write_transaction: transaction,
}

ryze_store_diesel::impl_integration_leases! {
    store: PostgresStore,
    errors: PostgresErrors,
    now_ms: ryze_store_diesel::leases::POSTGRES_NOW_MS,
}
