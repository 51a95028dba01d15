//! What the contract suite cannot check through the ports: migrations revert and
//! re-apply, the database's directory is created, every connection is configured, rows
//! breaking the domain's rules are reported as corrupt, and an unusable path is
//! reported as unavailable.
#![allow(clippy::unwrap_used)]

use diesel::connection::SimpleConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use ryze_ports::{AccountStore, InstanceStore, NewAccount, StoreError, StoreHealth};
use ryze_store_contract_tests::fixtures::{new_account, new_instance};
use ryze_store_contract_tests::specifics;
use ryze_store_sqlite::{revert_all_migrations, run_migrations, SqliteSettings, SqliteStore};

fn settings(url: &str) -> SqliteSettings {
    SqliteSettings {
        url: url.to_owned(),
        max_connections: 2,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_revert_and_reapply_cleanly() {
    let directory = tempfile::tempdir().expect("a temporary directory can be created");
    let url = format!("sqlite://{}/ryze.db", directory.path().display());

    let applied = run_migrations(&url).await.expect("migrating succeeds");
    assert_eq!(applied.len(), 11, "applied: {applied:?}");
    assert_eq!(
        run_migrations(&url)
            .await
            .expect("migrating again succeeds"),
        Vec::<String>::new()
    );

    let mut reverted = revert_all_migrations(&url)
        .await
        .expect("every migration reverts");
    reverted.reverse();
    assert_eq!(reverted, applied, "reverted newest first");
    assert_eq!(
        schema_objects(&url).await,
        Vec::<String>::new(),
        "the down migrations drop everything the up migrations created"
    );
    assert_eq!(
        run_migrations(&url)
            .await
            .expect("every migration re-applies"),
        applied
    );

    let store = SqliteStore::open(&settings(&url))
        .await
        .expect("opening succeeds");
    specifics::the_reapplied_schema_works(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn open_creates_the_directory_and_configures_wal() {
    let directory = tempfile::tempdir().expect("a temporary directory can be created");
    let path = directory.path().join("nested/data/ryze.db");
    let plain_path = path.display().to_string();

    run_migrations(&plain_path)
        .await
        .expect("migrating succeeds");
    let store = SqliteStore::open(&settings(&plain_path))
        .await
        .expect("opening a plain path succeeds");
    store.ping().await.expect("the database answers");
    assert!(path.exists());

    // WAL is a property of the file: set by the store, seen by any connection.
    let mut connection = SqliteConnection::establish(&plain_path).expect("the file opens");
    let mode: JournalMode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut connection)
        .expect("the pragma answers");
    assert_eq!(mode.journal_mode, "wal");
}

#[derive(QueryableByName)]
struct SchemaObject {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// The tables and indexes of the database at `url`, but diesel's bookkeeping table and
/// SQLite's own (`sqlite_sequence`, automatic indexes).
async fn schema_objects(url: &str) -> Vec<String> {
    let path = url.trim_start_matches("sqlite://").to_owned();
    tokio::task::spawn_blocking(move || {
        let mut connection = SqliteConnection::establish(&path).expect("the file opens");
        let objects: Vec<SchemaObject> = diesel::sql_query(
            "SELECT name FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
               AND name NOT LIKE '\\_\\_diesel\\_schema\\_migrations%' ESCAPE '\\' \
             ORDER BY name",
        )
        .load(&mut connection)
        .expect("the schema can be listed");
        objects.into_iter().map(|object| object.name).collect()
    })
    .await
    .expect("the blocking task finishes")
}

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = diesel::sql_types::Text)]
    journal_mode: String,
}

async fn corrupt_with(url: &str, statement: &str) {
    let url = url.to_owned();
    let statement = statement.to_owned();
    tokio::task::spawn_blocking(move || {
        let path = url.trim_start_matches("sqlite://");
        let mut connection = SqliteConnection::establish(path).expect("the file opens");
        connection
            .batch_execute(&statement)
            .expect("the statement runs");
    })
    .await
    .expect("the blocking task finishes");
}

/// A store on a fresh, migrated database file in `directory`, and its URL.
async fn migrated_store(directory: &tempfile::TempDir) -> (String, SqliteStore) {
    let url = format!("sqlite://{}/ryze.db", directory.path().display());
    run_migrations(&url).await.expect("migrating succeeds");
    let store = SqliteStore::open(&settings(&url))
        .await
        .expect("opening succeeds");
    (url, store)
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_breaking_the_domain_rules_are_corrupt() {
    let directory = tempfile::tempdir().expect("a temporary directory can be created");
    let (url, store) = migrated_store(&directory).await;
    specifics::rows_breaking_the_domain_rules_are_corrupt(&store, |statement| {
        corrupt_with(&url, statement)
    })
    .await;

    corrupt_with(&url, "UPDATE accounts SET created_at = 'yesterday'").await;
    let error = store
        .find_principal_by_token_hash(&new_account("acme").token_hash)
        .await
        .expect_err("the row is corrupt");
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn handled_webhooks_keep_only_their_key() {
    let directory = tempfile::tempdir().expect("a temporary directory can be created");
    let (url, store) = migrated_store(&directory).await;
    specifics::handled_webhooks_keep_only_their_key(&store, |statement| {
        corrupt_with(&url, statement)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_path_is_unavailable() {
    let directory = tempfile::tempdir().expect("a temporary directory can be created");
    let file = directory.path().join("not-a-directory");
    std::fs::write(&file, b"plain file").expect("the file can be written");
    let url = format!("sqlite://{}/ryze.db", file.display());

    let error = SqliteStore::open(&settings(&url))
        .await
        .expect_err("a file cannot hold a database directory");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(run_migrations(&url).await.is_err());
}

/// A migrated store (two connections at most) in a temporary directory, with one account.
async fn store_with_an_account() -> (SqliteStore, NewAccount, tempfile::TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("ryze.db").display());
    run_migrations(&url).await.unwrap();
    let store = SqliteStore::open(&settings(&url)).await.unwrap();
    let account = new_account("abandoner");
    store.insert_account(account.clone()).await.unwrap();
    (store, account, directory)
}

/// actix-web workers are current-thread runtimes that drop a request's futures when the
/// client goes away. An operation dropped half-way there must neither panic nor leave the
/// store unusable.
#[tokio::test(flavor = "current_thread")]
async fn an_operation_abandoned_on_a_current_thread_runtime_does_not_break_the_store() {
    let (store, account, _directory) = store_with_an_account().await;

    for _ in 0..20 {
        // Polled once (the query starts), then dropped.
        let abandoned =
            tokio::time::timeout(std::time::Duration::ZERO, store.list_instances(&account.id))
                .await;
        drop(abandoned);
    }
    store.ping().await.unwrap();
    store
        .insert_instance(new_instance(&account.id, "after-abandon"))
        .await
        .unwrap();
    assert_eq!(store.list_instances(&account.id).await.unwrap().len(), 1);
}

/// A write dropped inside its `BEGIN IMMEDIATE` transaction must not keep SQLite's write
/// lock: its connection leaves the pool and closes, so the next writer, on another
/// pooled connection, neither waits out the busy timeout nor fails.
#[tokio::test(flavor = "current_thread")]
async fn a_write_abandoned_on_a_current_thread_runtime_releases_the_write_lock() {
    let (store, account, _directory) = store_with_an_account().await;

    for round in 0..10 {
        // Both pooled connections open and idle, so the next writer may take either.
        let (first, second) = tokio::join!(store.ping(), store.ping());
        first.and(second).unwrap();
        let abandoned_write = store.insert_instance(new_instance(&account.id, "abandoned"));
        drop(tokio::time::timeout(std::time::Duration::ZERO, abandoned_write).await);

        let started = std::time::Instant::now();
        store
            .insert_instance(new_instance(&account.id, &format!("kept-{round}")))
            .await
            .unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the next write waited {:?} for the abandoned one's lock",
            started.elapsed()
        );
    }
    let names: Vec<String> = store
        .list_instances(&account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(instance, _)| instance.name.as_str().to_owned())
        .collect();
    let kept = names
        .iter()
        .filter(|name| name.starts_with("kept-"))
        .count();
    assert_eq!(kept, 10, "{names:?}");
}
