//! How SQLite's errors read: the two rules `ryze_store_diesel::errors` leaves to the
//! backend. Everything else (texts, shortening, classification) is shared.
//!
//! A database still locked after the busy timeout is [`ryze_ports::StoreError::Unavailable`],
//! like a closed connection.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use ryze_store_diesel::errors::{ErrorTranslation, UniqueKey};

/// SQLite's [`ErrorTranslation`].
pub(crate) struct SqliteErrors;

impl ErrorTranslation for SqliteErrors {
    /// SQLite gave up waiting for another connection's lock (`SQLITE_BUSY`).
    fn is_unavailable(error: &DieselError) -> bool {
        matches!(
            error,
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, information)
                if information.message().starts_with("database is locked")
                    || information.message().starts_with("database is busy")
        )
    }

    /// SQLite names the columns, not the constraint:
    /// `UNIQUE constraint failed: instances.token_hash`.
    fn unique_key(information: &dyn DatabaseErrorInformation) -> UniqueKey {
        let columns = information.message();
        if columns.contains(".token_hash") {
            UniqueKey::TokenHash
        } else if columns.contains("instances.name") {
            UniqueKey::InstanceName
        } else {
            UniqueKey::Other
        }
    }
}
