//! Applying and reverting a store's embedded migrations on a connection the store opened
//! (and locked, where it needs to), reporting the versions as text.

use diesel::backend::Backend;
use diesel::migration::{MigrationVersion, Result};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

/// Applies every pending migration of `migrations`; returns the versions applied, oldest
/// first (empty when the schema was up to date).
pub fn apply_pending<DB: Backend>(
    connection: &mut impl MigrationHarness<DB>,
    migrations: EmbeddedMigrations,
) -> Result<Vec<String>> {
    let applied = connection.run_pending_migrations(migrations)?;
    Ok(version_texts(&applied))
}

/// Reverts every applied migration of `migrations` (their `down.sql`), newest first;
/// returns the versions reverted.
pub fn revert_all<DB: Backend>(
    connection: &mut impl MigrationHarness<DB>,
    migrations: EmbeddedMigrations,
) -> Result<Vec<String>> {
    let reverted = connection.revert_all_migrations(migrations)?;
    Ok(version_texts(&reverted))
}

fn version_texts(versions: &[MigrationVersion<'_>]) -> Vec<String> {
    versions.iter().map(ToString::to_string).collect()
}
