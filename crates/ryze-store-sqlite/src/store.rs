//! The pool of SQLite connections (each a blocking diesel connection run on tokio's
//! blocking threads by diesel-async's `SyncConnectionWrapper`). The ports are
//! implemented on [`PooledSqlite`] in `ports`; the public [`crate::SqliteStore`] runs them
//! on its own runtime (see `isolated_runtime`).

use std::time::Duration;

use diesel::ConnectionError;
use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use ryze_ports::StoreError;
use ryze_store_diesel::errors::pool_build_failure;
use ryze_store_diesel::pool::checkout;

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

/// An async SQLite connection.
pub(crate) type SqliteAsyncConnection = SyncConnectionWrapper<SqliteConnection>;

/// A pooled connection, borrowed for one operation.
pub(crate) type PooledConnection = Object<SqliteAsyncConnection>;

/// The pool, implementing every store port. Its futures must not be dropped half-way on
/// a current-thread runtime (see `isolated_runtime`), so it is not public.
#[derive(Clone)]
pub(crate) struct PooledSqlite {
    pool: Pool<SqliteAsyncConnection>,
}

impl std::fmt::Debug for PooledSqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("status", &self.pool.status())
            .finish_non_exhaustive()
    }
}

async fn open_async_connection(path: String) -> Result<SqliteAsyncConnection, ConnectionError> {
    tokio::task::spawn_blocking(move || open_connection(&path))
        .await
        .map_err(|error| ConnectionError::BadConnection(error.to_string()))?
        .map(SyncConnectionWrapper::new)
}

impl PooledSqlite {
    /// Creates the database's directory if needed, builds the pool and opens a first
    /// connection (creating the file), so an unusable path is reported now
    /// ([`StoreError::Unavailable`]). Every connection runs in WAL mode with foreign
    /// keys enforced and a 5 s busy timeout.
    pub(crate) async fn open(settings: &SqliteSettings) -> Result<Self, StoreError> {
        let path = database_path(&settings.url).to_owned();
        create_parent_directory(&path).map_err(StoreError::Unavailable)?;

        let mut config = ManagerConfig::default();
        // Files do not drop connections: no `SELECT 1` round trip on every checkout.
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(|path| Box::pin(open_async_connection(path.to_owned())));
        let manager = AsyncDieselConnectionManager::new_with_config(path, config);
        let pool = Pool::builder(manager)
            .max_size(settings.max_connections.max(1))
            .build()
            .map_err(pool_build_failure)?;
        let store = Self { pool };
        drop(store.connection().await?);
        Ok(store)
    }

    /// Takes a connection from the pool.
    pub(crate) async fn connection(&self) -> Result<PooledConnection, StoreError> {
        checkout(self.pool.get(), CONNECTION_WAIT, || {
            format!("{} s", CONNECTION_WAIT.as_secs())
        })
        .await
    }
}
