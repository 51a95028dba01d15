//! The shared rate limiter contract, run against Redis: one key namespace per test.

use ryze_api_rate_limit_redis::test_support::test_limiter;

ryze_api_rate_limit_contract_tests::rate_limiter_contract_tests!(test_limiter(
    "a rate limiter contract case"
));
