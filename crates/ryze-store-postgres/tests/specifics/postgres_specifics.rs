//! What the contract suite cannot check through the ports: migrations revert and
//! re-apply, rows breaking the domain's rules are reported as corrupt, and an
//! unreachable server is reported as unavailable.

use std::time::Duration;

use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use ryze_ports::StoreError;
use ryze_store_contract_tests::specifics;
use ryze_store_postgres::test_support::TestDatabase;
use ryze_store_postgres::{revert_all_migrations, run_migrations, PostgresSettings, PostgresStore};

fn settings(url: &str) -> PostgresSettings {
    PostgresSettings {
        url: url.to_owned(),
        max_connections: 2,
        connect_timeout: Duration::from_secs(10),
    }
}

async fn execute(url: &str, statement: &str) {
    let mut connection = AsyncPgConnection::establish(url)
        .await
        .expect("the test database accepts connections");
    diesel::sql_query(statement)
        .execute(&mut connection)
        .await
        .expect("the statement runs");
}

#[derive(QueryableByName)]
struct SchemaObject {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// The tables, indexes, sequences, views and types of the `public` schema of the
/// database at `url`, but diesel's bookkeeping table and its index.
async fn schema_objects(url: &str) -> Vec<String> {
    let mut connection = AsyncPgConnection::establish(url)
        .await
        .expect("the test database accepts connections");
    let objects: Vec<SchemaObject> = diesel::sql_query(
        "SELECT relname::text AS name FROM pg_class \
         WHERE relnamespace = 'public'::regnamespace \
           AND relname NOT LIKE '\\_\\_diesel\\_schema\\_migrations%' \
         UNION ALL \
         SELECT typname::text FROM pg_type \
         WHERE typnamespace = 'public'::regnamespace AND typrelid = 0 AND typelem = 0 \
         ORDER BY 1",
    )
    .load(&mut connection)
    .await
    .expect("the schema can be listed");
    objects.into_iter().map(|object| object.name).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_revert_and_reapply_cleanly() {
    let database = TestDatabase::create().await;

    assert_eq!(
        run_migrations(&database.url)
            .await
            .expect("migrating succeeds"),
        Vec::<String>::new(),
        "the template is fully migrated"
    );
    let reverted = revert_all_migrations(&database.url)
        .await
        .expect("every migration reverts");
    assert_eq!(reverted.len(), 11, "reverted: {reverted:?}");
    assert!(
        reverted.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first: {reverted:?}"
    );
    assert_eq!(
        schema_objects(&database.url).await,
        Vec::<String>::new(),
        "the down migrations drop everything the up migrations created"
    );

    let mut applied = run_migrations(&database.url)
        .await
        .expect("every migration re-applies");
    applied.reverse();
    assert_eq!(applied, reverted);

    let store = PostgresStore::connect(&settings(&database.url))
        .await
        .expect("connecting succeeds");
    specifics::the_reapplied_schema_works(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_breaking_the_domain_rules_are_corrupt() {
    let database = TestDatabase::create().await;
    let store = PostgresStore::connect(&settings(&database.url))
        .await
        .expect("connecting succeeds");
    specifics::rows_breaking_the_domain_rules_are_corrupt(&store, |statement| {
        execute(&database.url, statement)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn handled_webhooks_keep_only_their_key() {
    let database = TestDatabase::create().await;
    let store = PostgresStore::connect(&settings(&database.url))
        .await
        .expect("connecting succeeds");
    specifics::handled_webhooks_keep_only_their_key(&store, |statement| {
        execute(&database.url, statement)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_is_unavailable() {
    let error = PostgresStore::connect(&PostgresSettings {
        url: "postgres://nobody:secret-password@127.0.0.1:1/nothing".to_owned(),
        max_connections: 1,
        connect_timeout: Duration::from_secs(5),
    })
    .await
    .expect_err("nothing listens on port 1");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(!error.to_string().contains("secret-password"), "{error}");

    let error = run_migrations("postgres://nobody:secret-password@127.0.0.1:1/nothing")
        .await
        .expect_err("nothing listens on port 1");
    assert!(!error.to_string().contains("secret-password"), "{error}");
}
