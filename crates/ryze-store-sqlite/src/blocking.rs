//! How SQLite's blocking work runs: each statement on the blocking threads of the runtime
//! awaiting it (diesel-async's `SyncConnectionWrapper` with [`DetachedBlocking`] as its
//! spawner), and `BEGIN IMMEDIATE` transactions ([`ImmediateTransaction`]). diesel-async's
//! own spawner waits for a statement dropped half-way with `block_in_place`, which panics
//! on a current-thread runtime (actix-web's workers); ours lets it finish on its own.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use diesel::connection::AnsiTransactionManager;
use diesel::SqliteConnection;
use diesel_async::sync_connection_wrapper::{
    SpawnBlocking, SyncConnectionWrapper, SyncTransactionManagerWrapper,
};
use diesel_async::TransactionManager;

/// An async SQLite connection.
pub(crate) type SqliteAsyncConnection = SyncConnectionWrapper<SqliteConnection, DetachedBlocking>;

/// Spawns a connection's statements with `tokio::task::spawn_blocking`. `unfinished` is
/// set while a statement's result is undelivered: still set once its future is gone,
/// it means an operation abandoned the connection half-way. Dropping never waits.
#[derive(Default)]
pub(crate) struct DetachedBlocking {
    pub(crate) unfinished: Arc<AtomicBool>,
}

type SpawnedTask<'a, R> =
    Pin<Box<dyn Future<Output = Result<R, Box<dyn Error + Send + Sync + 'static>>> + Send + 'a>>;

impl SpawnBlocking for DetachedBlocking {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> SpawnedTask<'a, R>
    where
        R: Send + 'static,
    {
        // A connection runs one statement at a time (each needs `&mut` to the connection).
        self.unfinished.store(true, Ordering::Release);
        let unfinished = Arc::clone(&self.unfinished);
        let statement = tokio::task::spawn_blocking(task);
        Box::pin(async move {
            let result = statement.await;
            unfinished.store(false, Ordering::Release);
            result.map_err(Box::from)
        })
    }

    fn get_runtime() -> Self {
        Self::default()
    }
}

/// diesel-async's (private) bound for a transaction's body: its future can be named.
pub(crate) trait TransactionBody<T, R>:
    AsyncFnOnce(T) -> R + FnOnce(T) -> <Self as TransactionBody<T, R>>::BodyFuture
{
    type BodyFuture: Future<Output = R>;
}

impl<F, T, BodyFuture, R> TransactionBody<T, R> for F
where
    F: AsyncFnOnce(T) -> R + FnOnce(T) -> BodyFuture,
    BodyFuture: Future<Output = R>,
{
    type BodyFuture = BodyFuture;
}

/// diesel-async's `immediate_transaction`, which it offers only with its own spawner.
pub(crate) trait ImmediateTransaction: Sized {
    /// Runs `body` in a `BEGIN IMMEDIATE` transaction, committed if it succeeds.
    fn immediate_transaction<R, E, F>(
        &mut self,
        body: F,
    ) -> impl Future<Output = Result<R, E>> + Send
    where
        for<'r> F: TransactionBody<&'r mut Self, Result<R, E>, BodyFuture: Send> + Send,
        E: From<diesel::result::Error> + Send,
        R: Send;
}

type Transactions = SyncTransactionManagerWrapper<AnsiTransactionManager>;

impl ImmediateTransaction for SqliteAsyncConnection {
    async fn immediate_transaction<R, E, F>(&mut self, body: F) -> Result<R, E>
    where
        for<'r> F: TransactionBody<&'r mut Self, Result<R, E>, BodyFuture: Send> + Send,
        E: From<diesel::result::Error> + Send,
        R: Send,
    {
        self.spawn_blocking(|connection| {
            AnsiTransactionManager::begin_transaction_sql(connection, "BEGIN IMMEDIATE")
        })
        .await?;
        match body(&mut *self).await {
            Ok(value) => {
                Transactions::commit_transaction(self).await?;
                Ok(value)
            }
            Err(error) => {
                Transactions::rollback_transaction(self).await?;
                Err(error)
            }
        }
    }
}
