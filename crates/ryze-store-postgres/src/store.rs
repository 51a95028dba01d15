//! The store handle: a pool of diesel-async PostgreSQL connections, and its health check.
//! The ports themselves are implemented in `accounts`, `instances` and `integrations`.

use std::time::Duration;

use async_trait::async_trait;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ryze_ports::{StoreError, StoreHealth};

use crate::errors::{pool_failure, query_failure};

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PostgresSettings {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    /// Most connections the pool opens.
    pub max_connections: usize,
    /// Longest wait for a connection (opening one, or for a busy pool to free one).
    pub connect_timeout: Duration,
}

/// A pooled connection, borrowed for one operation.
pub(crate) type PooledConnection = Object<AsyncPgConnection>;

/// The PostgreSQL implementation of every store port. Cloning is cheap: clones share
/// one pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool<AsyncPgConnection>,
    connect_timeout: Duration,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("status", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Builds the pool and opens a first connection, so a wrong URL or an unreachable
    /// server is reported now ([`StoreError::Unavailable`]) rather than at the first
    /// request. Does not migrate: call [`crate::run_migrations`] first.
    pub async fn connect(settings: &PostgresSettings) -> Result<Self, StoreError> {
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(&settings.url);
        let pool = Pool::builder(manager)
            .max_size(settings.max_connections.max(1))
            .build()
            .map_err(|error| {
                StoreError::Unavailable(format!("could not build the connection pool: {error}"))
            })?;
        let store = Self {
            pool,
            connect_timeout: settings.connect_timeout,
        };
        drop(store.connection().await?);
        Ok(store)
    }

    /// Takes a connection from the pool, waiting at most `connect_timeout`.
    pub(crate) async fn connection(&self) -> Result<PooledConnection, StoreError> {
        match tokio::time::timeout(self.connect_timeout, self.pool.get()).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(error)) => Err(pool_failure(&error)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no database connection within {} ms",
                self.connect_timeout.as_millis()
            ))),
        }
    }
}

#[async_trait]
impl StoreHealth for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        diesel::sql_query("SELECT 1")
            .execute(&mut connection)
            .await
            .map_err(|error| query_failure("ping", &error))?;
        Ok(())
    }
}
