//! The Redis of the tests (`ryze_redis_connection::test_support`: `TEST_REDIS_URL`,
//! skipped outside CI when it does not answer), and a limiter per test in a key
//! namespace of its own, so tests run in parallel.

use ryze_redis_connection::test_support::TEST_TIMEOUTS;
pub use ryze_redis_connection::test_support::{
    redis_for_tests, silent_server, test_redis_url, unique_key_prefix, unreachable_port,
    RedisUnavailable, DEFAULT_TEST_REDIS_URL, TEST_REDIS_URL,
};

use crate::{RedisRateLimiter, RedisRateLimiterSettings};

/// A limiter on the tests' Redis in a fresh key namespace, or [`RedisUnavailable`] as
/// [`redis_for_tests`] says.
pub async fn test_limiter() -> Result<RedisRateLimiter, RedisUnavailable> {
    let url = redis_for_tests().await?;
    Ok(limiter_with_prefix(&url, unique_key_prefix()))
}

/// A limiter on the Redis at `url` keeping its windows under `key_prefix`, with
/// timeouts roomy enough for a loaded test machine.
///
/// # Panics
///
/// When `url` is not a Redis URL.
pub fn limiter_with_prefix(url: &str, key_prefix: String) -> RedisRateLimiter {
    RedisRateLimiter::new(
        url,
        RedisRateLimiterSettings {
            key_prefix,
            timeouts: TEST_TIMEOUTS,
        },
    )
    .unwrap_or_else(|invalid| panic!("{TEST_REDIS_URL}: {invalid}"))
}
