//! The shared store contract, run against SQLite: one fresh database file per test, in
//! a temporary directory.
#![allow(clippy::unwrap_used)]

use ryze_store_sqlite::{run_migrations, SqliteSettings, SqliteStore};
use tempfile::TempDir;

async fn fresh_store() -> (SqliteStore, TempDir) {
    let directory = tempfile::tempdir().expect("a temporary directory can be created");
    let url = format!("sqlite://{}/ryze.db", directory.path().display());
    run_migrations(&url).await.expect("migrating succeeds");
    let store = SqliteStore::open(&SqliteSettings {
        url,
        max_connections: 4,
    })
    .await
    .expect("opening succeeds");
    (store, directory)
}

ryze_store_contract_tests::store_contract_tests!(fresh_store());
