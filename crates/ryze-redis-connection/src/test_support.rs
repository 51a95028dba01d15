//! The Redis of the tests: `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`), and a
//! key prefix per test, so tests run in parallel on one Redis.
//!
//! Without a Redis answering there, a test is skipped (it says so on stderr: the
//! callers print [`RedisUnavailable`]), unless `CI=true`: in CI a missing Redis fails
//! the test, as `cargo xtask test` does.

use std::time::Duration;

use crate::{RedisConnection, RedisTimeouts};

/// The environment variable naming the tests' Redis.
pub const TEST_REDIS_URL: &str = "TEST_REDIS_URL";
/// The tests' Redis when [`TEST_REDIS_URL`] is not set.
pub const DEFAULT_TEST_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Timeouts roomy enough for a loaded test machine.
pub const TEST_TIMEOUTS: RedisTimeouts = RedisTimeouts {
    connect: Duration::from_secs(5),
    command: Duration::from_secs(5),
};

/// The URL of the tests' Redis, from [`TEST_REDIS_URL`] or the default.
pub fn test_redis_url() -> String {
    std::env::var(TEST_REDIS_URL)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_REDIS_URL.to_owned())
}

/// A key prefix no other test uses.
pub fn unique_key_prefix() -> String {
    format!("ryze-test:{}", uuid::Uuid::new_v4().simple())
}

/// Why a Redis test is skipped: no Redis answers at [`TEST_REDIS_URL`]. The test says
/// so on stderr (`skipped <test>: <this>`) and returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Redis answers at {TEST_REDIS_URL} (default {DEFAULT_TEST_REDIS_URL}): {0}")]
pub struct RedisUnavailable(pub String);

/// The tests' Redis URL when it answers; [`RedisUnavailable`] (the test should say it
/// is skipped and return) when it does not and `CI` is not `true`.
///
/// # Panics
///
/// When Redis does not answer and `CI=true`: CI never skips the Redis tests.
pub async fn redis_for_tests() -> Result<String, RedisUnavailable> {
    let url = test_redis_url();
    let timeouts = RedisTimeouts {
        connect: Duration::from_secs(1),
        command: Duration::from_millis(500),
    };
    let answered = match RedisConnection::new(&url, timeouts) {
        Ok(connection) => connection.ping().await,
        Err(invalid) => panic!("{TEST_REDIS_URL}: {invalid}"),
    };
    match answered {
        Ok(()) => Ok(url),
        Err(error) if running_in_ci() => panic!(
            "CI=true and no Redis answers at {TEST_REDIS_URL} ({error}); the Redis tests are \
             never skipped in CI: start one (e.g. a `redis` service container) and set {TEST_REDIS_URL}"
        ),
        Err(error) => Err(RedisUnavailable(error.to_string())),
    }
}

/// A local port nothing listens on: a Redis that is away.
///
/// # Panics
///
/// When no local port can be bound.
pub fn unreachable_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|error| panic!("binding a local port: {error}"))
}

/// A server that accepts connections and never says a word (a hung Redis): its port,
/// and the task to abort when done.
///
/// # Panics
///
/// When no local port can be bound.
pub async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|error| panic!("binding a local port: {error}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|error| panic!("the bound port: {error}"))
        .port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (port, silent)
}

/// `CI=true` (or `1`), as `cargo xtask test` reads it.
fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci.eq_ignore_ascii_case("true") || ci == "1")
}
