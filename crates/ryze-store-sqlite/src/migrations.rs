//! The embedded, reversible schema migrations (`migrations/`), applied and reverted on a
//! blocking thread over a plain diesel SQLite connection.

use diesel::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use ryze_store_diesel::errors::describe_connection_error;
use ryze_store_diesel::migrations::{apply_pending, revert_all};

use crate::connection::{create_parent_directory, database_path, open_connection};

/// Every migration of this crate, compiled in.
pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("could not open the database to migrate it: {0}")]
    Open(String),
    #[error("migrating the database failed: {0}")]
    Migrate(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the migration task stopped before finishing: {0}")]
    Interrupted(#[source] tokio::task::JoinError),
}

/// Applies every pending migration to the database at `url` (creating the file and its
/// directory if needed); returns the versions applied, oldest first (empty when the
/// schema was up to date).
pub async fn run_migrations(url: &str) -> Result<Vec<String>, MigrationError> {
    with_migration_connection(url, |connection| apply_pending(connection, MIGRATIONS)).await
}

/// Reverts every applied migration (their `down.sql`), newest first; returns the
/// versions reverted. Leaves an empty schema (and diesel's bookkeeping table).
pub async fn revert_all_migrations(url: &str) -> Result<Vec<String>, MigrationError> {
    with_migration_connection(url, |connection| revert_all(connection, MIGRATIONS)).await
}

/// Runs `migrate` on a blocking thread, on a fresh connection.
async fn with_migration_connection<Migrate>(
    url: &str,
    migrate: Migrate,
) -> Result<Vec<String>, MigrationError>
where
    Migrate:
        FnOnce(&mut SqliteConnection) -> diesel::migration::Result<Vec<String>> + Send + 'static,
{
    let path = database_path(url).to_owned();
    let versions = tokio::task::spawn_blocking(move || {
        create_parent_directory(&path).map_err(MigrationError::Open)?;
        let mut connection = open_connection(&path)
            .map_err(|error| MigrationError::Open(describe_connection_error(&error)))?;
        migrate(&mut connection).map_err(MigrationError::Migrate)
    })
    .await
    .map_err(MigrationError::Interrupted)??;
    if !versions.is_empty() {
        tracing::info!(?versions, "SQLite migrations applied or reverted");
    }
    Ok(versions)
}
