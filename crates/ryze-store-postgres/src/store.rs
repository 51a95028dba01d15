//! The store handle: a pool of diesel-async PostgreSQL connections. The ports are
//! implemented on it in `ports`.

use std::time::Duration;

use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::AsyncPgConnection;
use ryze_ports::StoreError;
use ryze_store_diesel::errors::pool_build_failure;
use ryze_store_diesel::pool::checkout;

use crate::connection::PostgresConnector;

/// How to reach the database.
#[derive(Clone)]
pub struct PostgresSettings {
    /// `postgres://user:password@host:port/database[?sslmode=…&sslrootcert=…]`
    /// (`crate::connection` says how TLS is used).
    pub url: String,
    /// Most connections the pool opens.
    pub max_connections: usize,
    /// Longest wait for a connection (opening one, or for a busy pool to free one).
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for PostgresSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PostgresSettings")
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
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
    /// Builds the pool and opens a first connection, so a wrong URL, a bad `sslmode` or
    /// `sslrootcert`, a refused certificate or an unreachable server is reported now
    /// ([`StoreError::Unavailable`]) rather than at the first request. Does not migrate:
    /// call [`crate::run_migrations`] first.
    pub async fn connect(settings: &PostgresSettings) -> Result<Self, StoreError> {
        let connector = PostgresConnector::from_url(&settings.url)
            .map_err(|error| StoreError::Unavailable(error.to_string()))?;
        let mut manager_config = ManagerConfig::default();
        // The pool opens its connections with the connector, never from the URL text.
        manager_config.custom_setup = Box::new(move |_url| {
            let connector = connector.clone();
            Box::pin(async move { connector.connect().await })
        });
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
            "postgres://(opened by PostgresConnector)",
            manager_config,
        );
        let pool = Pool::builder(manager)
            .max_size(settings.max_connections.max(1))
            .build()
            .map_err(pool_build_failure)?;
        let store = Self {
            pool,
            connect_timeout: settings.connect_timeout,
        };
        drop(store.connection().await?);
        Ok(store)
    }

    /// Takes a connection from the pool, waiting at most `connect_timeout`.
    pub(crate) async fn connection(&self) -> Result<PooledConnection, StoreError> {
        checkout(self.pool.get(), self.connect_timeout, || {
            format!("{} ms", self.connect_timeout.as_millis())
        })
        .await
    }
}
