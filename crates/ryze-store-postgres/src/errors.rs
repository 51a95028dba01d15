//! How PostgreSQL's errors read: the two rules `ryze_store_diesel::errors` leaves to the
//! backend. Everything else (texts, shortening, classification) is shared.
//!
//! Texts carry the database's primary message only, never PostgreSQL's `DETAIL` (where it
//! echoes the values of a violated key), because stored values include sealed secrets.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use ryze_store_diesel::errors::{ErrorTranslation, UniqueKey};

/// PostgreSQL's [`ErrorTranslation`].
pub(crate) struct PostgresErrors;

impl ErrorTranslation for PostgresErrors {
    /// A statement that could not be sent: the server went away.
    fn is_unavailable(error: &DieselError) -> bool {
        matches!(
            error,
            DieselError::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _)
        )
    }

    /// PostgreSQL names the violated constraint (see `migrations/`).
    fn unique_key(information: &dyn DatabaseErrorInformation) -> UniqueKey {
        let constraint = information.constraint_name().unwrap_or_default();
        if constraint.contains("token_hash") {
            UniqueKey::TokenHash
        } else if constraint == "instances_account_name_unique" {
            UniqueKey::InstanceName
        } else {
            UniqueKey::Other
        }
    }
}
