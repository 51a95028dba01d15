//! Translation of diesel's and the pool's errors into the ports' errors, at the seam.
//!
//! Texts name the operation and carry the database's primary message only, shortened:
//! never the statement's parameters (stored values include sealed secrets), never a
//! detail that echoes the values of a violated key, and never the database URL (it may
//! hold a password). A closed connection, a broken transaction manager and pool failures
//! become [`StoreError::Unavailable`], undecodable values [`StoreError::Corrupt`],
//! everything else [`StoreError::Query`].
//!
//! What each backend words or classifies its own way (which failures mean "unavailable",
//! how a unique violation names its rule) comes from the store crate through
//! [`ErrorTranslation`]; the rest is here.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::{BuildError, PoolError};
use diesel_async::pooled_connection::PoolError as ConnectionManagerError;
use ryze_ports::{AcknowledgeError, InsertAccountError, InsertInstanceError, StoreError};

/// Longest database message an error text carries.
pub const MESSAGE_MAX_CHARS: usize = 200;

/// `message`, cut after [`MESSAGE_MAX_CHARS`] characters (marked with `…`).
pub fn shortened(message: &str) -> String {
    match message.char_indices().nth(MESSAGE_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

/// Describes why a connection could not be opened.
pub fn describe_connection_error(error: &ConnectionError) -> String {
    match error {
        // The URL's own text may hold a password: never repeat it.
        ConnectionError::InvalidConnectionUrl(_) => "the database URL is invalid".to_owned(),
        other => shortened(&other.to_string()),
    }
}

/// A connection could not be taken from the pool.
pub fn pool_failure(error: &PoolError) -> StoreError {
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

/// The connection pool could not be built.
pub fn pool_build_failure(error: BuildError) -> StoreError {
    StoreError::Unavailable(format!("could not build the connection pool: {error}"))
}

/// What `error` says, without parameters or details.
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
pub enum UniqueKey {
    /// A token hash, of an account or an instance.
    TokenHash,
    /// An instance name inside its account.
    InstanceName,
    /// Any other (a primary key: an id generated twice).
    Other,
}

/// How one backend's errors read: the two rules a store crate supplies, and the
/// translations built on them (provided).
///
/// A store crate implements it on a unit type and calls the provided methods through it:
/// `PostgresErrors::query_failure("ping", &error)`.
pub trait ErrorTranslation {
    /// Whether a failed statement means the database cannot serve for now
    /// ([`StoreError::Unavailable`]), beyond what every backend treats so: a closed
    /// connection and a broken transaction manager.
    fn is_unavailable(error: &DieselError) -> bool;

    /// Which uniqueness rule a unique violation broke, from the database's description
    /// of it.
    fn unique_key(information: &dyn DatabaseErrorInformation) -> UniqueKey;

    /// A statement of `operation` failed.
    fn query_failure(operation: &str, error: &DieselError) -> StoreError {
        let reason = describe(error);
        match error {
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | DieselError::BrokenTransactionManager => {
                StoreError::Unavailable(format!("{operation}: {reason}"))
            }
            DieselError::DeserializationError(_) => {
                StoreError::Corrupt(format!("{operation}: {reason}"))
            }
            error if Self::is_unavailable(error) => {
                StoreError::Unavailable(format!("{operation}: {reason}"))
            }
            _ => StoreError::Query(format!("{operation}: {reason}")),
        }
    }

    /// The unique constraint `error` violated, if it is a unique violation.
    fn violated_unique_key(error: &DieselError) -> Option<UniqueKey> {
        match error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, information) => {
                Some(Self::unique_key(information.as_ref()))
            }
            _ => None,
        }
    }
}

/// What saving a bridge integration reports when the instance already has another one.
pub const BRIDGE_INSTANCE_TAKEN: &str =
    "save bridge integration: the instance already has another bridge integration";

/// A failed save (upsert by id) of a bridge integration, translated by `T`. The save
/// replaces a row with the same id, so the only unique rule it can break is "one
/// integration per instance": that violation reads [`BRIDGE_INSTANCE_TAKEN`].
pub fn bridge_integration_save_failure<T: ErrorTranslation>(error: &DieselError) -> StoreError {
    match T::violated_unique_key(error) {
        Some(_) => StoreError::Query(BRIDGE_INSTANCE_TAKEN.to_owned()),
        None => T::query_failure("save bridge integration", error),
    }
}

/// The error of a transaction whose body can refuse with a port error `E`.
#[derive(Debug)]
pub enum TransactionError<E> {
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

/// A port error that a unique violation can stand for: the refusal the insert's own
/// checks give, when a concurrent write slipped past them.
pub trait UniqueRefusal: From<StoreError> {
    /// The refusal a violation of `key` means, if any.
    fn for_unique_key(key: UniqueKey) -> Option<Self>;
}

impl UniqueRefusal for InsertAccountError {
    fn for_unique_key(key: UniqueKey) -> Option<Self> {
        match key {
            UniqueKey::TokenHash => Some(InsertAccountError::TokenTaken),
            UniqueKey::InstanceName | UniqueKey::Other => None,
        }
    }
}

impl UniqueRefusal for InsertInstanceError {
    fn for_unique_key(key: UniqueKey) -> Option<Self> {
        match key {
            UniqueKey::TokenHash => Some(InsertInstanceError::TokenTaken),
            UniqueKey::InstanceName => Some(InsertInstanceError::NameTaken),
            UniqueKey::Other => None,
        }
    }
}

impl UniqueRefusal for AcknowledgeError {
    /// An acknowledgement inserts nothing: no unique rule stands for a refusal.
    fn for_unique_key(_key: UniqueKey) -> Option<Self> {
        None
    }
}

impl<E: UniqueRefusal> TransactionError<E> {
    /// The port error the transaction of `operation` ends with: the body's refusal as it
    /// is; a unique violation as the refusal it stands for, if any; any other failure
    /// translated by `T`.
    pub fn into_port_error<T: ErrorTranslation>(self, operation: &str) -> E {
        match self {
            TransactionError::Refused(refusal) => refusal,
            TransactionError::Database(error) => T::violated_unique_key(&error)
                .and_then(E::for_unique_key)
                .unwrap_or_else(|| E::from(T::query_failure(operation, &error))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unavailable on a "try again" message; unique keys by the message's first word.
    struct Sample;

    impl ErrorTranslation for Sample {
        fn is_unavailable(error: &DieselError) -> bool {
            matches!(error, DieselError::DatabaseError(_, information)
                if information.message() == "try again")
        }

        fn unique_key(information: &dyn DatabaseErrorInformation) -> UniqueKey {
            match information.message().split(' ').next() {
                Some("token") => UniqueKey::TokenHash,
                Some("name") => UniqueKey::InstanceName,
                _ => UniqueKey::Other,
            }
        }
    }

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn long_messages_are_shortened_on_a_character_boundary() {
        assert_eq!(shortened("short"), "short");
        let exact = "é".repeat(MESSAGE_MAX_CHARS);
        assert_eq!(shortened(&exact), exact);
        let long = "é".repeat(MESSAGE_MAX_CHARS + 5);
        assert_eq!(
            shortened(&long),
            format!("{}…", "é".repeat(MESSAGE_MAX_CHARS))
        );
    }

    #[test]
    fn query_failures_are_classified() {
        let closed = database_error(DatabaseErrorKind::ClosedConnection, "gone");
        assert_eq!(
            Sample::query_failure("ping", &closed),
            StoreError::Unavailable("ping: gone".to_owned())
        );
        assert_eq!(
            Sample::query_failure("ping", &DieselError::BrokenTransactionManager),
            StoreError::Unavailable(format!("ping: {}", DieselError::BrokenTransactionManager))
        );
        let busy = database_error(DatabaseErrorKind::Unknown, "try again");
        assert_eq!(
            Sample::query_failure("insert account", &busy),
            StoreError::Unavailable("insert account: try again".to_owned())
        );
        let undecodable = DieselError::DeserializationError("bad bytes".into());
        assert_eq!(
            Sample::query_failure("find instance", &undecodable),
            StoreError::Corrupt(
                "find instance: a stored value could not be decoded: bad bytes".to_owned()
            )
        );
        let refused = database_error(DatabaseErrorKind::CheckViolation, "check failed");
        assert_eq!(
            Sample::query_failure("insert account", &refused),
            StoreError::Query("insert account: check failed".to_owned())
        );
        let unencodable = DieselError::SerializationError("secret value".into());
        assert_eq!(
            Sample::query_failure("save integration", &unencodable),
            StoreError::Query("save integration: a value could not be encoded".to_owned())
        );
    }

    #[test]
    fn only_unique_violations_name_a_unique_key() {
        let token = database_error(DatabaseErrorKind::UniqueViolation, "token taken");
        let name = database_error(DatabaseErrorKind::UniqueViolation, "name taken");
        let other = database_error(DatabaseErrorKind::UniqueViolation, "id taken");
        let foreign = database_error(DatabaseErrorKind::ForeignKeyViolation, "token gone");
        assert_eq!(
            Sample::violated_unique_key(&token),
            Some(UniqueKey::TokenHash)
        );
        assert_eq!(
            Sample::violated_unique_key(&name),
            Some(UniqueKey::InstanceName)
        );
        assert_eq!(Sample::violated_unique_key(&other), Some(UniqueKey::Other));
        assert_eq!(Sample::violated_unique_key(&foreign), None);
    }

    #[test]
    fn a_transaction_ends_with_its_refusal_the_refusal_of_a_unique_key_or_the_failure() {
        let ended = |error: TransactionError<InsertInstanceError>| {
            error.into_port_error::<Sample>("insert instance")
        };
        let failed = |error| ended(TransactionError::Database(error));
        assert_eq!(
            ended(TransactionError::Refused(
                InsertInstanceError::AccountNotFound
            )),
            InsertInstanceError::AccountNotFound
        );
        assert_eq!(
            failed(database_error(
                DatabaseErrorKind::UniqueViolation,
                "name taken"
            )),
            InsertInstanceError::NameTaken
        );
        assert_eq!(
            failed(database_error(
                DatabaseErrorKind::UniqueViolation,
                "token taken"
            )),
            InsertInstanceError::TokenTaken
        );
        assert_eq!(
            failed(database_error(
                DatabaseErrorKind::UniqueViolation,
                "id taken"
            )),
            InsertInstanceError::Store(StoreError::Query("insert instance: id taken".to_owned()))
        );
        assert_eq!(
            failed(database_error(DatabaseErrorKind::Unknown, "try again")),
            InsertInstanceError::Store(StoreError::Unavailable(
                "insert instance: try again".to_owned()
            ))
        );
    }

    #[test]
    fn accounts_refuse_only_a_taken_token_instances_also_a_taken_name() {
        use UniqueKey::{InstanceName, Other, TokenHash};
        assert_eq!(
            InsertAccountError::for_unique_key(TokenHash),
            Some(InsertAccountError::TokenTaken)
        );
        assert_eq!(InsertAccountError::for_unique_key(InstanceName), None);
        assert_eq!(InsertAccountError::for_unique_key(Other), None);
        assert_eq!(
            InsertInstanceError::for_unique_key(TokenHash),
            Some(InsertInstanceError::TokenTaken)
        );
        assert_eq!(
            InsertInstanceError::for_unique_key(InstanceName),
            Some(InsertInstanceError::NameTaken)
        );
        assert_eq!(InsertInstanceError::for_unique_key(Other), None);
    }

    #[test]
    fn a_unique_violation_saving_a_bridge_integration_is_the_instance_rule() {
        let taken = database_error(DatabaseErrorKind::UniqueViolation, "id taken");
        assert_eq!(
            bridge_integration_save_failure::<Sample>(&taken),
            StoreError::Query(BRIDGE_INSTANCE_TAKEN.to_owned())
        );
        let busy = database_error(DatabaseErrorKind::Unknown, "try again");
        assert_eq!(
            bridge_integration_save_failure::<Sample>(&busy),
            StoreError::Unavailable("save bridge integration: try again".to_owned())
        );
    }

    #[test]
    fn connection_errors_never_repeat_the_url() {
        let invalid = ConnectionError::InvalidConnectionUrl(
            "postgres://user:secret-password@host/db".to_owned(),
        );
        assert_eq!(
            describe_connection_error(&invalid),
            "the database URL is invalid"
        );
        let refused = ConnectionError::BadConnection("connection refused".to_owned());
        assert_eq!(describe_connection_error(&refused), "connection refused");
    }

    #[test]
    fn pool_failures_are_unavailable() {
        assert_eq!(
            pool_failure(&PoolError::Closed),
            StoreError::Unavailable("the connection pool is closed".to_owned())
        );
    }
}
