//! How SQLite's blocking work runs: each statement of a connection on the blocking
//! threads of whichever tokio runtime awaits it, through diesel-async's
//! `SyncConnectionWrapper` with [`DetachedBlocking`] as its spawner, and the write
//! transactions (`BEGIN IMMEDIATE`) on such a connection ([`ImmediateTransaction`]).
//!
//! diesel-async's own spawner, when a statement's future is dropped half-way, waits for
//! the statement with `block_in_place`, which panics on a current-thread runtime
//! (actix-web's workers drop a request's futures when the client goes away).
//! [`DetachedBlocking`] lets the statement finish on its own and marks its connection
//! abandoned; the store then closes that connection rather than pool it again (see
//! `store`), which also rolls back a transaction the operation left open.

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

/// Spawns a connection's statements with `tokio::task::spawn_blocking`; a statement's
/// future dropped before it delivered the result sets `abandoned` and never waits.
pub(crate) struct DetachedBlocking {
    pub(crate) abandoned: Arc<AtomicBool>,
}

/// Sets `abandoned` when dropped before the statement's result was delivered.
struct AbandonedUnlessDelivered {
    abandoned: Arc<AtomicBool>,
    delivered: bool,
}

impl Drop for AbandonedUnlessDelivered {
    fn drop(&mut self) {
        if !self.delivered {
            self.abandoned.store(true, Ordering::Release);
        }
    }
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
        let watch = AbandonedUnlessDelivered {
            abandoned: Arc::clone(&self.abandoned),
            delivered: false,
        };
        let statement = tokio::task::spawn_blocking(task);
        Box::pin(async move {
            // The whole guard moves into the future (not only its field).
            let mut watch = watch;
            let result = statement.await;
            watch.delivered = true;
            result.map_err(Box::from)
        })
    }

    fn get_runtime() -> Self {
        Self {
            abandoned: Arc::default(),
        }
    }
}

/// diesel-async's bound for a transaction's body (private there): an async closure
/// whose future has a name, so that it can be required to be `Send`.
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

/// SQLite's write transaction, diesel-async's `immediate_transaction` (which it offers
/// only with its own spawner): `BEGIN IMMEDIATE` takes the write lock at once.
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
