//! The shared call budget contract, run against Redis: two budgets (two bridge nodes)
//! on one Redis under a key prefix of their own per test. Skipped, saying so, when no
//! Redis answers at `TEST_REDIS_URL` outside CI.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use ryze_bridge_call_budget_redis::test_support::{
    budget_with_prefix, redis_for_tests, unique_key_prefix,
};
use ryze_ports::{ChatwootCallBudget, MockChatwootCallBudget};

/// A fallback that fails the test if it is ever used: Redis answers in these cases.
fn unused_fallback() -> Arc<dyn ChatwootCallBudget> {
    let mut fallback = MockChatwootCallBudget::new();
    fallback.expect_take().never();
    fallback.expect_exceeded().never();
    Arc::new(fallback)
}

async fn two_nodes(
    calls_per_window: NonZeroU32,
    window: Duration,
) -> Option<[Arc<dyn ChatwootCallBudget>; 2]> {
    let url = redis_for_tests()
        .await
        .inspect_err(|unavailable| eprintln!("skipped a call budget contract case: {unavailable}"))
        .ok()?;
    let prefix = unique_key_prefix();
    let node = |prefix: String| -> Arc<dyn ChatwootCallBudget> {
        Arc::new(budget_with_prefix(
            &url,
            prefix,
            calls_per_window,
            window,
            unused_fallback(),
        ))
    };
    Some([node(prefix.clone()), node(prefix)])
}

ryze_bridge_call_budget_contract_tests::call_budget_contract_tests!(two_nodes);
