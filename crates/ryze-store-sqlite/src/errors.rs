//! Translation of the driver's and the pool's errors into the ports' errors, at the seam.
//!
//! Texts name the operation and carry SQLite's message only, never the statement's
//! parameters (stored values include sealed secrets). Failing to open the file, a
//! closed pool or a database still locked after the busy timeout become
//! [`StoreError::Unavailable`]; everything else [`StoreError::Query`].

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::PoolError;
use diesel_async::pooled_connection::PoolError as ConnectionManagerError;
use ryze_ports::StoreError;

/// Longest database message an error text carries.
const MESSAGE_MAX_CHARS: usize = 200;

fn shortened(message: &str) -> String {
    match message.char_indices().nth(MESSAGE_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

/// Describes why a connection could not be opened.
pub(crate) fn describe_connection_error(error: &ConnectionError) -> String {
    shortened(&error.to_string())
}

/// A connection could not be taken from the pool.
pub(crate) fn pool_failure(error: &PoolError) -> StoreError {
    let reason = match error {
        PoolError::Backend(ConnectionManagerError::ConnectionError(error)) => {
            describe_connection_error(error)
        }
        PoolError::Backend(ConnectionManagerError::QueryError(error)) => {
            format!("checking a pooled connection failed: {}", describe(error))
        }
        PoolError::Timeout(_) => "timed out waiting for a connection".to_owned(),
        PoolError::Closed => "the connection pool is closed".to_owned(),
        other => shortened(&other.to_string()),
    };
    StoreError::Unavailable(reason)
}

/// Whether SQLite gave up waiting for another connection's lock (`SQLITE_BUSY`).
fn is_busy(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, information)
            if information.message().starts_with("database is locked")
                || information.message().starts_with("database is busy")
    )
}

/// A statement of `operation` failed.
pub(crate) fn query_failure(operation: &str, error: &DieselError) -> StoreError {
    let reason = describe(error);
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | DieselError::BrokenTransactionManager => {
            StoreError::Unavailable(format!("{operation}: {reason}"))
        }
        error if is_busy(error) => StoreError::Unavailable(format!("{operation}: {reason}")),
        DieselError::DeserializationError(_) => {
            StoreError::Corrupt(format!("{operation}: {reason}"))
        }
        _ => StoreError::Query(format!("{operation}: {reason}")),
    }
}

fn describe(error: &DieselError) -> String {
    match error {
        DieselError::DatabaseError(_, information) => shortened(information.message()),
        DieselError::DeserializationError(error) => {
            format!(
                "a stored value could not be decoded: {}",
                shortened(&error.to_string())
            )
        }
        DieselError::SerializationError(_) => "a value could not be encoded".to_owned(),
        other => shortened(&other.to_string()),
    }
}

/// Which uniqueness rule a failed insert broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UniqueKey {
    /// A token hash, of an account or an instance.
    TokenHash,
    /// An instance name inside its account.
    InstanceName,
    /// Any other (a primary key: an id generated twice).
    Other,
}

/// The unique constraint `error` violated, if it is a unique violation. SQLite names
/// the columns, not the constraint: `UNIQUE constraint failed: instances.token_hash`.
pub(crate) fn violated_unique_key(error: &DieselError) -> Option<UniqueKey> {
    let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, information) = error else {
        return None;
    };
    let columns = information.message();
    Some(if columns.contains(".token_hash") {
        UniqueKey::TokenHash
    } else if columns.contains("instances.name") {
        UniqueKey::InstanceName
    } else {
        UniqueKey::Other
    })
}

/// The error of a transaction whose body can refuse with a port error `E`.
#[derive(Debug)]
pub(crate) enum TransactionError<E> {
    /// The body decided to refuse (and roll back) with a port error.
    Refused(E),
    /// A statement failed.
    Database(DieselError),
}

impl<E> From<DieselError> for TransactionError<E> {
    fn from(error: DieselError) -> Self {
        TransactionError::Database(error)
    }
}
