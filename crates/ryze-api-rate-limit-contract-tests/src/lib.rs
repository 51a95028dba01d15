//! One behavioural test suite for every implementation of the `RateLimiter` port
//! (`ryze_ports::RateLimiter`), so the in-process and the Redis limiters give the same
//! answers (allowed, limit, remaining, resets at) for the same requests.
//!
//! A limiter crate runs the suite from one of its integration tests:
//!
//! ```ignore
//! async fn fresh_limiter() -> Option<MyLimiter> { /* a limiter with no window open */ }
//!
//! ryze_api_rate_limit_contract_tests::rate_limiter_contract_tests!(fresh_limiter());
//! ```
//!
//! The macro expands to one `#[tokio::test(flavor = "multi_thread")]` per case of
//! [`cases`], named after it. The expression is evaluated once per test and yields a
//! future of `Option<limiter>`: a limiter that has seen no request (for a shared
//! backend, one in a key namespace of its own, so the cases run in parallel), or `None`
//! to skip the case when the backend is not available (the factory says so).
//!
//! The cases run on the real clock, with windows of a few hundred milliseconds where
//! they need one to pass.

pub mod cases;

/// Expands to one test per contract case, each running against a limiter made by
/// `$make_limiter` (an expression yielding a future of `Option<limiter>`).
///
/// The test functions use `::tokio`, so the calling crate needs `tokio` (with the
/// `macros` and `rt-multi-thread` features) among its dev-dependencies.
#[macro_export]
macro_rules! rate_limiter_contract_tests {
    ($make_limiter:expr) => {
        $crate::__rate_limiter_contract_cases!(
            $make_limiter;
            requests_up_to_the_limit_pass_and_the_next_ones_are_refused,
            resets_at_is_fixed_by_the_first_request_of_the_window,
            a_new_window_opens_once_the_old_one_has_passed,
            keys_have_separate_windows,
            policies_have_separate_windows,
            peek_sees_no_window_before_the_first_request,
            peek_does_not_count,
            peek_sees_a_used_up_window_as_refused,
            peek_sees_no_window_once_it_has_passed,
            a_zero_limit_refuses_everything,
            concurrent_requests_never_pass_beyond_the_limit,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __rate_limiter_contract_cases {
    ($make_limiter:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread")]
            async fn $case() {
                if let Some(limiter) = $make_limiter.await {
                    $crate::cases::$case(::std::sync::Arc::new(limiter)).await;
                }
            }
        )+
    };
}
