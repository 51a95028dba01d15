//! Test databases (feature `test-support`): every test gets its own empty, migrated
//! PostgreSQL database, so tests run in parallel (also as separate processes, as
//! cargo-nextest runs them) without seeing each other's rows. Modelled on crates.io's
//! `test-db` crate.
//!
//! The server is the one at `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), in URL form, as a user allowed to
//! create databases. Migrating once per test would be slow, so the first test builds a
//! migrated template database named after a hash of the migration files (changed
//! migrations get a new template) under an advisory lock (concurrent processes wait for
//! it instead of racing); each test then clones it with `CREATE DATABASE … TEMPLATE …`
//! and drops its clone when the [`TestDatabase`] is dropped.
//!
//! Test support panics with a message saying what to fix when the server is missing or
//! refuses; only `Drop` never panics.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// The server used when `TEST_DATABASE_URL` is not set.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Advisory lock key held while the template is built ("RYZETMPL" in ASCII).
const TEMPLATE_LOCK_KEY: i64 = 0x5259_5A45_544D_504C;

/// How often a statement refused because a database is still in use is tried.
const IN_USE_ATTEMPTS: u32 = 50;
const IN_USE_PAUSE: Duration = Duration::from_millis(100);

/// A fresh, migrated database for one test, dropped (with its connections) on drop.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL of this test's database.
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// Clones the migrated template (building it first if no process has) into a new
    /// database `test_<uuid>`.
    ///
    /// # Panics
    /// When the server at `TEST_DATABASE_URL` is unreachable or refuses a statement.
    pub async fn create() -> TestDatabase {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let admin = connect_admin(&admin_url).await;
        let template = ensure_template(&admin, &admin_url).await;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        retry_while_in_use(
            &admin,
            &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
        )
        .await;
        TestDatabase {
            url: database_url(&admin_url, &name),
            name,
            admin_url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside or outside a runtime: do the async work on a thread of
        // its own with a runtime of its own, and wait for it.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok((client, connection)) = tokio_postgres::connect(&admin_url, NoTls).await
                else {
                    tracing::warn!(database = %name, "could not connect to drop a test database");
                    return;
                };
                let driver = tokio::spawn(connection);
                let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                if let Err(error) = client.batch_execute(&statement).await {
                    tracing::warn!(database = %name, %error, "could not drop a test database");
                }
                drop(client);
                let _ = driver.await;
            });
        });
        let _ = dropper.join();
    }
}

/// `TEST_DATABASE_URL` without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(not a URL)".to_owned(),
    }
}

async fn connect_admin(admin_url: &str) -> Client {
    match tokio_postgres::connect(admin_url, NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::warn!(%error, "test database admin connection failed");
                }
            });
            client
        }
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "CI=true but PostgreSQL is unreachable at TEST_DATABASE_URL={}: {error}. \
             CI must start a PostgreSQL server before the tests.",
            redacted(admin_url)
        ),
        Err(error) => panic!(
            "PostgreSQL is unreachable at TEST_DATABASE_URL={} ({error}). Start a server \
             (`cargo xtask test` expects one at {DEFAULT_TEST_DATABASE_URL}) or set \
             TEST_DATABASE_URL to a server where this user may create databases.",
            redacted(admin_url)
        ),
    }
}

/// The URL of database `name` on the server of `admin_url`.
fn database_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url)
        .unwrap_or_else(|error| panic!("TEST_DATABASE_URL must be a postgres:// URL ({error})"));
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Name of the template for the current migrations, built if it does not exist yet.
async fn ensure_template(admin: &Client, admin_url: &str) -> String {
    let template = format!("test_template_{:016x}", migrations_fingerprint());
    run(
        admin,
        &format!("SELECT pg_advisory_lock({TEMPLATE_LOCK_KEY})"),
    )
    .await;
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
        .await
        .unwrap_or_else(|error| panic!("could not look for the test template: {error}"))
        .is_some();
    if !exists {
        build_template(admin, admin_url, &template).await;
    }
    run(
        admin,
        &format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK_KEY})"),
    )
    .await;
    template
}

/// Migrates a database under a temporary name, then renames it to `template`, so a
/// half-built template (a crash while migrating) is never used.
async fn build_template(admin: &Client, admin_url: &str, template: &str) {
    let building = format!("{template}_building");
    run(
        admin,
        &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
    )
    .await;
    run(admin, &format!("CREATE DATABASE \"{building}\"")).await;
    crate::run_migrations(&database_url(admin_url, &building))
        .await
        .unwrap_or_else(|error| panic!("could not migrate the test template: {error}"));
    // Nobody connects to a template: cloning it would fail while someone is.
    run(
        admin,
        &format!("ALTER DATABASE \"{building}\" WITH ALLOW_CONNECTIONS false"),
    )
    .await;
    run(
        admin,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}'"
        ),
    )
    .await;
    retry_while_in_use(
        admin,
        &format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\""),
    )
    .await;
}

async fn run(admin: &Client, statement: &str) {
    if let Err(error) = admin.batch_execute(statement).await {
        panic!("test database setup failed on `{statement}`: {error}");
    }
}

/// Runs `statement`, retrying while PostgreSQL refuses it because a database involved
/// still has sessions (a connection that is closing).
async fn retry_while_in_use(admin: &Client, statement: &str) {
    for _ in 1..IN_USE_ATTEMPTS {
        match admin.batch_execute(statement).await {
            Ok(()) => return,
            Err(error) if error.code() == Some(&SqlState::OBJECT_IN_USE) => {
                tokio::time::sleep(IN_USE_PAUSE).await;
            }
            Err(error) => panic!("test database setup failed on `{statement}`: {error}"),
        }
    }
    run(admin, statement).await;
}

/// FNV-1a hash of every file under `migrations/` (relative path and contents), in a
/// stable order: changes whenever a migration does.
fn migrations_fingerprint() -> u64 {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files = Vec::new();
    collect_files(&root, &mut files);
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let relative = file.strip_prefix(&root).unwrap_or(&file);
        let contents = std::fs::read(&file)
            .unwrap_or_else(|error| panic!("could not read {}: {error}", file.display()));
        for byte in relative
            .to_string_lossy()
            .as_bytes()
            .iter()
            .chain([0u8].iter())
            .chain(contents.iter())
        {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

fn collect_files(directory: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("could not list {}: {error}", directory.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, files);
        } else {
            files.push(path);
        }
    }
}
