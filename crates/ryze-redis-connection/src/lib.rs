//! The Redis connection the Redis adapters share the handling of (the API's
//! `ryze-api-rate-limit-redis`, the bridge's `ryze-bridge-call-budget-redis`): one
//! multiplexed connection, opened at the first call rather than at construction (so a
//! service starts while Redis is away), reopened by the connection manager after Redis
//! restarts, and every call bounded: connecting waits at most
//! [`RedisTimeouts::connect`], each command at most [`RedisTimeouts::command`].
//!
//! Errors ([`RedisCallError`]) name what failed and never carry the URL (it may hold a
//! password).

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};
use tokio::sync::OnceCell;

#[cfg(feature = "test-support")]
pub mod test_support;

/// Default of [`RedisTimeouts::connect`] in the Redis adapters.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default of [`RedisTimeouts::command`] in the Redis adapters.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest window a Redis adapter asks Redis to keep (about 139 years, in
/// milliseconds): a longer one is cut to it, which no caller can tell apart.
pub const MAX_WINDOW_MS: u64 = 1 << 42;

/// How long a Redis call may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisTimeouts {
    /// Longest wait for a connection (the first one, or one after Redis went away).
    pub connect: Duration,
    /// Longest wait for one command's answer.
    pub command: Duration,
}

impl Default for RedisTimeouts {
    /// [`DEFAULT_CONNECT_TIMEOUT`] and [`DEFAULT_COMMAND_TIMEOUT`].
    fn default() -> Self {
        Self {
            connect: DEFAULT_CONNECT_TIMEOUT,
            command: DEFAULT_COMMAND_TIMEOUT,
        }
    }
}

/// The URL given is not a Redis URL. Carries no part of it (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid Redis URL (expected redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://…)")]
pub struct InvalidRedisUrl;

/// A Redis call that failed, in words without the connection details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedisCallError {
    /// Connecting failed (refused, DNS, authentication).
    #[error("cannot connect to Redis: {0}")]
    Connect(String),
    /// No connection within the connect timeout.
    #[error("cannot connect to Redis: no connection within {0} ms")]
    ConnectTimeout(u128),
    /// Redis answered with an error, or the connection broke.
    #[error("Redis command failed: {0}")]
    Command(String),
    /// No answer within the command timeout.
    #[error("Redis did not answer within {0} ms")]
    CommandTimeout(u128),
}

/// One Redis, reached through one shared connection. Cheap to share through an `Arc`.
pub struct RedisConnection {
    client: Client,
    timeouts: RedisTimeouts,
    connection: OnceCell<ConnectionManager>,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// The Redis at `url` (`redis://host:port`). Connects at the first call.
    pub fn new(url: &str, timeouts: RedisTimeouts) -> Result<Self, InvalidRedisUrl> {
        let client = Client::open(url).map_err(|_| InvalidRedisUrl)?;
        Ok(Self {
            client,
            timeouts,
            connection: OnceCell::new(),
        })
    }

    /// The timeouts every call is bounded by.
    pub fn timeouts(&self) -> RedisTimeouts {
        self.timeouts
    }

    /// The shared connection, opened on first use (and retried at the next call if
    /// that fails); the connection manager reopens it after Redis went away.
    pub async fn connection(&self) -> Result<ConnectionManager, RedisCallError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeouts.connect)
            .set_response_timeout(self.timeouts.command)
            // One attempt per call: a later call tries again, each within the timeouts.
            .set_number_of_retries(0);
        let open = self
            .connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config));
        match tokio::time::timeout(self.timeouts.connect, open).await {
            Ok(Ok(connection)) => Ok(connection.clone()),
            Ok(Err(error)) => Err(RedisCallError::Connect(describe(&error))),
            Err(_) => Err(RedisCallError::ConnectTimeout(
                self.timeouts.connect.as_millis(),
            )),
        }
    }

    /// Runs `command`, failing past the command timeout.
    pub async fn bounded<T>(
        &self,
        command: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, RedisCallError> {
        match tokio::time::timeout(self.timeouts.command, command).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(RedisCallError::Command(describe(&error))),
            Err(_) => Err(RedisCallError::CommandTimeout(
                self.timeouts.command.as_millis(),
            )),
        }
    }

    /// Checks that Redis answers, within the timeouts.
    pub async fn ping(&self) -> Result<(), RedisCallError> {
        let mut connection = self.connection().await?;
        let command = redis::cmd("PING");
        self.bounded(command.query_async::<String>(&mut connection))
            .await
            .map(drop)
    }
}

/// A Redis error in words, without the connection details (no URL, no password).
fn describe(error: &RedisError) -> String {
    // The driver's texts name the failure (`Connection refused`, a server error), never
    // the URL it was given.
    error.to_string()
}
