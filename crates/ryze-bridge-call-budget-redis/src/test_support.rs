//! Budgets on the tests' Redis (`ryze_redis_connection::test_support`: `TEST_REDIS_URL`,
//! skipped outside CI when it does not answer), each test in a key prefix of its own.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use ryze_ports::ChatwootCallBudget;
use ryze_redis_connection::test_support::TEST_TIMEOUTS;
pub use ryze_redis_connection::test_support::{
    redis_for_tests, silent_server, unique_key_prefix, unreachable_port, RedisUnavailable,
    TEST_REDIS_URL,
};

use crate::{RedisCallBudget, RedisCallBudgetSettings};

/// A budget of `calls_per_window` per `window` on the Redis at `url` under
/// `key_prefix`, with timeouts roomy enough for a loaded test machine.
///
/// # Panics
///
/// When `url` is not a Redis URL.
pub fn budget_with_prefix(
    url: &str,
    key_prefix: String,
    calls_per_window: NonZeroU32,
    window: Duration,
    fallback: Arc<dyn ChatwootCallBudget>,
) -> RedisCallBudget {
    let settings = RedisCallBudgetSettings {
        key_prefix,
        timeouts: TEST_TIMEOUTS,
        ..RedisCallBudgetSettings::new(calls_per_window, window)
    };
    RedisCallBudget::new(url, settings, fallback)
        .unwrap_or_else(|invalid| panic!("{TEST_REDIS_URL}: {invalid}"))
}
