//! Taking a connection from a store's deadpool pool, within a time limit: how long a
//! store waits is its own setting, what a failure says is shared.

use std::future::Future;
use std::time::Duration;

use diesel_async::pooled_connection::deadpool::PoolError;
use ryze_ports::StoreError;

use crate::errors::pool_failure;

/// Waits at most `wait` for `checkout` (a pool's `get()`). A pool failure is translated by
/// [`pool_failure`]; running out of time is [`StoreError::Unavailable`], with
/// `describe_wait` wording the wait ("10 s").
pub async fn checkout<Connection>(
    checkout: impl Future<Output = Result<Connection, PoolError>>,
    wait: Duration,
    describe_wait: impl FnOnce() -> String,
) -> Result<Connection, StoreError> {
    match tokio::time::timeout(wait, checkout).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(pool_failure(&error)),
        Err(_) => Err(StoreError::Unavailable(format!(
            "no database connection within {}",
            describe_wait()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_checkout_reports_the_pool_failure_or_the_wait() {
        let connection = checkout(async { Ok(7) }, Duration::from_secs(1), || {
            unreachable!("the wait is described only when it runs out")
        });
        assert_eq!(connection.await, Ok(7));

        let closed = checkout(
            async { Err::<u8, _>(PoolError::Closed) },
            Duration::from_secs(1),
            || "1 s".to_owned(),
        );
        assert_eq!(
            closed.await,
            Err(StoreError::Unavailable(
                "the connection pool is closed".to_owned()
            ))
        );

        let never = checkout(
            std::future::pending::<Result<u8, PoolError>>(),
            Duration::from_millis(10),
            || "10 ms".to_owned(),
        );
        assert_eq!(
            never.await,
            Err(StoreError::Unavailable(
                "no database connection within 10 ms".to_owned()
            ))
        );
    }
}
