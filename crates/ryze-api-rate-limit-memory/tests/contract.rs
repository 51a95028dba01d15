//! The shared rate limiter contract, run against the in-process limiter on the system
//! clock.

use ryze_api_rate_limit_memory::InMemoryRateLimiter;

async fn fresh_limiter() -> Option<InMemoryRateLimiter> {
    Some(InMemoryRateLimiter::new())
}

ryze_api_rate_limit_contract_tests::rate_limiter_contract_tests!(fresh_limiter());
