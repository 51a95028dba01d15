//! The shared store contract, run against PostgreSQL: one fresh database per test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use ryze_store_postgres::test_support::TestDatabase;
use ryze_store_postgres::{PostgresSettings, PostgresStore};

async fn fresh_store() -> (PostgresStore, TestDatabase) {
    let database = TestDatabase::create().await;
    let store = PostgresStore::connect(&PostgresSettings {
        url: database.url.clone(),
        max_connections: 8,
        connect_timeout: Duration::from_secs(10),
    })
    .await
    .expect("the test database accepts connections");
    (store, database)
}

ryze_store_contract_tests::store_contract_tests!(fresh_store());
