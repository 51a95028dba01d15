//! The embedded, reversible schema migrations (`migrations/`), applied and reverted
//! through diesel-async's [`AsyncConnectionWrapper`], so no libpq is needed.
//!
//! A session-level advisory lock serialises migration runs, so replicas starting
//! together do not race to apply the same migration.

use diesel::RunQueryDsl;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use ryze_store_diesel::errors::describe_connection_error;
use ryze_store_diesel::migrations::{apply_pending, revert_all};

use crate::connection::{ConnectionSettingsError, PostgresConnector};

/// Every migration of this crate, compiled in.
pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory lock key held while migrating ("RYZEMIGR" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x5259_5A45_4D49_4752;

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(transparent)]
    Settings(#[from] ConnectionSettingsError),
    #[error("could not connect to the database to migrate it: {0}")]
    Connect(String),
    #[error("could not take the migration lock: {0}")]
    Lock(#[source] diesel::result::Error),
    #[error("migrating the database failed: {0}")]
    Migrate(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the migration task stopped before finishing: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

type MigrationConnection = AsyncConnectionWrapper<AsyncPgConnection>;

/// Applies every pending migration to the database at `url`; returns the versions
/// applied, oldest first (empty when the schema was up to date).
pub async fn run_migrations(url: &str) -> Result<Vec<String>, MigrationError> {
    with_migration_lock(url, |connection| apply_pending(connection, MIGRATIONS)).await
}

/// Reverts every applied migration (their `down.sql`), newest first; returns the
/// versions reverted. Leaves an empty schema (and diesel's bookkeeping table).
pub async fn revert_all_migrations(url: &str) -> Result<Vec<String>, MigrationError> {
    with_migration_lock(url, |connection| revert_all(connection, MIGRATIONS)).await
}

/// Runs `migrate` on a blocking thread, on a fresh connection (opened as `url` says, TLS
/// included) holding the migration lock.
async fn with_migration_lock<Migrate>(
    url: &str,
    migrate: Migrate,
) -> Result<Vec<String>, MigrationError>
where
    Migrate:
        FnOnce(&mut MigrationConnection) -> diesel::migration::Result<Vec<String>> + Send + 'static,
{
    let connection = PostgresConnector::from_url(url)?
        .connect()
        .await
        .map_err(|error| MigrationError::Connect(describe_connection_error(&error)))?;
    let versions = tokio::task::spawn_blocking(move || {
        // Blocks on the current runtime, which drives the connection.
        let mut connection = MigrationConnection::from(connection);
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .execute(&mut connection)
            .map_err(MigrationError::Lock)?;
        let migrated = migrate(&mut connection).map_err(MigrationError::Migrate);
        // Closing the connection releases the lock even if this unlock fails.
        let _ = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .execute(&mut connection);
        migrated
    })
    .await
    .map_err(MigrationError::Interrupted)??;
    if !versions.is_empty() {
        tracing::info!(?versions, "PostgreSQL migrations applied or reverted");
    }
    Ok(versions)
}
