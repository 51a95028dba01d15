//! The store handle: a deadpool pool of SQLite connections (see `blocking`) that never
//! takes back a connection abandoned half-way. The ports are implemented on it in `ports`.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{Manager, Metrics, Object, Pool, RecycleError, RecycleResult};
use diesel::ConnectionError;
use diesel_async::pooled_connection::{PoolError, PoolableConnection};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use ryze_ports::StoreError;
use ryze_store_diesel::errors::pool_build_failure;
use ryze_store_diesel::pool::checkout;

use crate::blocking::{DetachedBlocking, SqliteAsyncConnection};
use crate::connection::{create_parent_directory, database_path, open_connection};

/// Longest wait for a pooled connection.
const CONNECTION_WAIT: Duration = Duration::from_secs(10);

/// Where the database is.
#[derive(Debug, Clone)]
pub struct SqliteSettings {
    /// `sqlite://./data/ryze.db`, `sqlite:///var/lib/ryze/ryze.db` or a plain path. The
    /// file and its directory are created when missing.
    pub url: String,
    /// Most connections the pool opens (readers run in parallel; writers take turns).
    pub max_connections: usize,
}

/// A connection of the pool, and whether a statement's result is undelivered.
pub(crate) struct TrackedConnection {
    connection: SqliteAsyncConnection,
    unfinished: Arc<AtomicBool>,
}

/// Opens the pool's connections; takes back only those whose transactions all ended.
struct SqliteConnections {
    path: String,
}

impl Manager for SqliteConnections {
    type Type = TrackedConnection;
    type Error = PoolError;

    async fn create(&self) -> Result<TrackedConnection, PoolError> {
        let path = self.path.clone();
        let connection = tokio::task::spawn_blocking(move || open_connection(&path))
            .await
            .map_err(|error| ConnectionError::BadConnection(error.to_string()))
            .and_then(|opened| opened)
            .map_err(PoolError::ConnectionError)?;
        let spawner = DetachedBlocking::default();
        let unfinished = Arc::clone(&spawner.unfinished);
        Ok(TrackedConnection {
            connection: SyncConnectionWrapper::with_runtime(connection, spawner),
            unfinished,
        })
    }

    async fn recycle(&self, pooled: &mut Self::Type, _: &Metrics) -> RecycleResult<PoolError> {
        if pooled.connection.is_broken() {
            return Err(RecycleError::message("a transaction was left open"));
        }
        Ok(())
    }
}

/// A pooled connection, borrowed for one operation. Dropped by an operation abandoned
/// half-way, it takes its connection out of the pool: the connection closes (rolling
/// back an open transaction) once its last statement ends.
pub(crate) struct PooledConnection(Option<Object<SqliteConnections>>);

impl Deref for PooledConnection {
    type Target = SqliteAsyncConnection;

    fn deref(&self) -> &SqliteAsyncConnection {
        &self.0.as_ref().expect("present until dropped").connection
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut SqliteAsyncConnection {
        &mut self.0.as_mut().expect("present until dropped").connection
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let taken = self.0.take();
        if let Some(abandoned) = taken.filter(|pooled| pooled.unfinished.load(Ordering::Acquire)) {
            drop(Object::take(abandoned));
        }
    }
}

/// The SQLite implementation of every store port. Cloning is cheap: clones share one
/// pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<SqliteConnections>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("status", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Creates the database's directory if needed, builds the pool and opens a first
    /// connection (creating the file), so an unusable path is reported now
    /// ([`StoreError::Unavailable`]). Does not migrate: call [`crate::run_migrations`].
    pub async fn open(settings: &SqliteSettings) -> Result<Self, StoreError> {
        let path = database_path(&settings.url).to_owned();
        create_parent_directory(&path).map_err(StoreError::Unavailable)?;
        let pool = Pool::builder(SqliteConnections { path })
            .max_size(settings.max_connections.max(1))
            .build()
            .map_err(pool_build_failure)?;
        let store = Self { pool };
        drop(store.connection().await?);
        Ok(store)
    }

    /// Takes a connection from the pool.
    pub(crate) async fn connection(&self) -> Result<PooledConnection, StoreError> {
        let wait = || format!("{} s", CONNECTION_WAIT.as_secs());
        let pooled = checkout(self.pool.get(), CONNECTION_WAIT, wait).await?;
        Ok(PooledConnection(Some(pooled)))
    }
}
